/** Developers: gateway integration (nginx, pull zone), SDK examples and the OpenAPI documents, the hub's rendered here. */
import { esc } from '../format.js'
// the SDK's README examples, the very ones test/sdk/readme-examples.test.ts runs (one copy)
import sdkReadme from '../../../sdk/README.md?raw'

/** The README's `### title` + first ```js block pairs. */
export function sdkExamples(md: string): { title: string; code: string }[] {
  const out: { title: string; code: string }[] = []
  const re = /^### (.+)\n[\s\S]*?^```js\n([\s\S]*?)^```/gm
  for (let m = re.exec(md); m !== null; m = re.exec(md)) out.push({ title: m[1]!.trim(), code: m[2]!.trimEnd() })
  return out
}

const NGINX = `upstream bitcdn_gateway { server 127.0.0.1:8080; keepalive 16; }

# Origin mode: the gateway is the origin of content-addressed paths
location /t/ {
  slice 1m;
  proxy_cache bitcdn;
  proxy_cache_key $uri$is_args$args$slice_range;
  proxy_set_header Range $slice_range;
  proxy_cache_valid 200 206 365d;
  proxy_pass http://bitcdn_gateway;
}

# Overflow mode: your origin first, the gateway when it fails
location / {
  mirror /__bitcdn_mirror;
  proxy_pass http://own_origin;
  proxy_intercept_errors on;
  error_page 502 503 504 = @bitcdn;
}
location @bitcdn { proxy_pass http://bitcdn_gateway; }`

interface OpenApi {
  paths: Record<string, Record<string, { summary?: string }>>
}

export function renderDevelopers(main: HTMLElement): void {
  main.innerHTML = `
  <h1>Developers</h1>
  <section>
    <h2>Gateway integration</h2>
    <p>The gateway turns torrents into plain HTTP: <code>GET /t/{infohash}/{path}</code> with range requests, served from
    its piece cache and the paid swarm, with your origin as the web seed when the swarm is late.</p>
    <h3>Pull zone</h3>
    <p>Point the gateway at your origin and it publishes every cacheable object as a torrent (what the origin marks
    <code>no-store</code> or <code>private</code> is never published):</p>
    <pre><code>bitcdn gateway --origin http://10.0.0.5 --port 8080</code></pre>
    <h3>nginx in front of the gateway</h3>
    <p>An abridged form of <code>docs/nginx/bitcdn-gateway.conf</code>, the complete configuration that
    <code>test/gateway/nginx.test.ts</code> runs against a real gateway (see <code>docs/gateway-nginx.md</code>):</p>
    <pre><code>${esc(NGINX)}</code></pre>
  </section>
  <section>
    <h2>SDK: <code>@bitcdn/sdk</code></h2>
    <p>Typed clients for the hub, gateway and node admin APIs (generated from their OpenAPI documents), publisher helpers
    (a torrent with your origin as web seed, the hub's catalogue, pins on nodes) and consumer helpers (fetch or stream from
    a gateway; in Node, a paid P2P download with a wallet). The examples below are run by the SDK's tests against a real
    hub, gateway and node; the addresses default to <code>npm start</code>'s devnet.</p>
    ${sdkExamples(sdkReadme)
      .map((e) => `<h3>${esc(e.title)}</h3>\n    <pre><code>${esc(e.code)}</code></pre>`)
      .join('\n    ')}
  </section>
  <section>
    <h2>API documents (OpenAPI 3.1)</h2>
    <ul>
      <li>Hub: <a href="/openapi.json">/openapi.json</a> on this site (listed below).</li>
      <li>Node admin API: <code>http://127.0.0.1:8790/openapi.json</code> on the node's machine (the only route that needs no bearer token).</li>
      <li>Gateway: <code>http://&lt;gateway&gt;:8080/openapi.json</code>.</li>
    </ul>
    <h3>Hub endpoints</h3>
    <table class="endpoints"><thead><tr><th scope="col">Method</th><th scope="col">Path</th><th scope="col">What</th></tr></thead>
    <tbody id="endpoints"><tr><td colspan="3">loading /openapi.json…</td></tr></tbody></table>
  </section>`
  const body = main.querySelector<HTMLElement>('#endpoints')!
  fetch('/openapi.json')
    .then((r) => r.json() as Promise<OpenApi>)
    .then((doc) => {
      body.innerHTML = Object.entries(doc.paths)
        .flatMap(([path, ops]) => Object.entries(ops).map(([m, op]) => `<tr><td><code>${esc(m.toUpperCase())}</code></td><td><code>${esc(path)}</code></td><td>${esc(op.summary ?? '')}</td></tr>`))
        .join('')
    })
    .catch((err: Error) => {
      body.innerHTML = `<tr><td colspan="3">could not read /openapi.json: ${esc(err.message)}</td></tr>`
    })
}
