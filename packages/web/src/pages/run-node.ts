/**
 * Run a node: the README's onboarding commands, a live check of a node at this hub by payout
 * address, and an earnings estimate from the network's measured (proven) demand, with its inputs.
 */
import { getClaims, getNode, getSeries, getStats, type Claims, type NodeView } from '../api.js'
import { estimateEarnings, parseUsdc } from '../estimate.js'
import { esc, formatBytes, formatUsdc } from '../format.js'

const ADDRESS = /^0x[0-9a-fA-F]{40}$/

export function renderRunNode(main: HTMLElement): void {
  main.innerHTML = `
  <h1>Run a node</h1>
  <p class="lead">A node seeds content and is paid per verified byte by buyers that speak the <code>bitcdn_pay</code>
  extension. It needs Node.js 20.19 or newer, disk for the content, and upload bandwidth.</p>
  <ol class="steps">
    <li><h2>Install</h2><p>In a checkout of the BitCDN repository:</p><pre><code>npm install &amp;&amp; npm run build</code></pre></li>
    <li><h2>Create the node</h2>
      <p><code>init</code> makes a new payout key (or imports yours with <code>--private-key-env</code>), writes
      <code>$BITCDN_HOME/node/config.toml</code> and sets your price in USDC per GiB:</p>
      <pre><code>export BITCDN_PASSPHRASE='a long passphrase'
npx bitcdn node init --price 0.50 --quota 50GiB</code></pre>
      <p>To try it on a local chain first (<code>npx bitcdn chain</code> in another terminal prints funded dev keys):</p>
      <pre><code>BITCDN_NODE_KEY=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a \\
  npx bitcdn node init --price 0.50 --quota 50GiB --private-key-env BITCDN_NODE_KEY</code></pre></li>
    <li><h2>Fund it (or not)</h2>
      <p>Send the node's address a little of the chain's native coin: it pays the gas of its claims. Without a deployment
      file the node still runs, serving only what its free policy allows (<code>node init --free</code>).</p></li>
    <li><h2>Start, pin, check</h2>
      <pre><code>npx bitcdn node start                             # foreground, JSON-line logs
npx bitcdn node pin 'magnet:?xt=urn:btih:…'       # fetch content from the swarm, then seed it
npx bitcdn node status
npx bitcdn node earnings
npx bitcdn node cashout</code></pre>
      <p>The node listens on 127.0.0.1 unless <code>--listen-host 0.0.0.0</code> says otherwise — buyers and the hub's prober must be able to reach it.</p></li>
  </ol>

  <section aria-labelledby="check-h">
    <h2 id="check-h">Live check</h2>
    <form id="check" class="row" novalidate>
      <label for="payee">Your node's payout address</label>
      <input id="payee" name="payee" autocomplete="off" spellcheck="false" placeholder="0x…" required pattern="0x[0-9a-fA-F]{40}" aria-describedby="check-out" />
      <button type="submit">Check</button>
    </form>
    <div id="check-out" class="result" role="status" aria-live="polite"></div>
  </section>

  <section aria-labelledby="est-h">
    <h2 id="est-h">Earnings estimate</h2>
    <form id="estimate" class="row">
      <label for="price">Your price, USDC per GiB</label>
      <input id="price" name="price" inputmode="decimal" value="0.50" required />
      <button type="submit">Estimate</button>
    </form>
    <div id="est-out" class="result" role="status" aria-live="polite"></div>
  </section>`

  const checkOut = main.querySelector<HTMLElement>('#check-out')!
  main.querySelector<HTMLFormElement>('#check')!.addEventListener('submit', (e) => {
    e.preventDefault()
    const payee = main.querySelector<HTMLInputElement>('#payee')!.value.trim()
    if (!ADDRESS.test(payee)) {
      checkOut.innerHTML = `<p class="bad">Not an address: expected 0x followed by 40 hex digits.</p>`
      return
    }
    checkOut.textContent = 'Checking…'
    Promise.all([getNode(payee), getClaims(payee).catch(() => undefined)])
      .then(([n, claims]) => (checkOut.innerHTML = n ? nodeReport(n, claims) : `<p class="bad" data-state="unregistered"><strong>Not registered</strong> at this hub: no node has registered with payout address <code>${esc(payee)}</code>. A node registers by posting a registration signed by its payout key to <code>/api/v1/nodes</code> and refreshes it every minute; check that the node is running and names this hub.</p>`))
      .catch((err: Error) => (checkOut.innerHTML = `<p class="bad">The hub could not be asked: ${esc(err.message)}</p>`))
  })

  const estOut = main.querySelector<HTMLElement>('#est-out')!
  const runEstimate = () => {
    const price = parseUsdc(main.querySelector<HTMLInputElement>('#price')!.value)
    if (price === undefined) {
      estOut.innerHTML = `<p class="bad">Enter a price such as 0.50 (at most 6 decimals).</p>`
      return
    }
    Promise.all([getStats(), getSeries('bytesServedProven'), getSeries('bytesServedReported')])
      .then(([stats, proven, reported]) => {
        const e = estimateEarnings({ proven, nodesOnline: stats.nodesOnline, pricePerGiB: price })
        const median = stats.priceMedian
        const hours = (e.windowMs / 3600_000).toFixed(1)
        const rep = reported.length > 1 ? BigInt(reported[reported.length - 1]!.value) - BigInt(reported[0]!.value) : 0n
        estOut.innerHTML = `
          <p class="figure"><strong>${formatUsdc(e.perDay)}</strong> per day${e.reason ? ` — ${esc(e.reason)}` : ''}</p>
          <table class="inputs"><caption>Inputs (measured by this hub)</caption><tbody>
            <tr><th scope="row">Window</th><td>${e.windowMs ? `last ${hours} h of samples` : '—'}</td></tr>
            <tr><th scope="row">Bytes proven by claimed cheques in the window</th><td>${formatBytes(e.provenInWindow)}</td></tr>
            <tr><th scope="row">Network demand at that rate</th><td>${formatBytes(e.networkBytesPerDay)} / day</td></tr>
            <tr><th scope="row">Nodes online (you would be one more)</th><td>${stats.nodesOnline}</td></tr>
            <tr><th scope="row">Your equal share</th><td>${formatBytes(e.shareBytesPerDay)} / day</td></tr>
            <tr><th scope="row">Your price</th><td>${formatUsdc(price)} / GiB</td></tr>
            <tr><th scope="row">Median price online</th><td>${median ? `${formatUsdc(median)} / GiB` : '—'}</td></tr>
            <tr><th scope="row">For comparison: bytes nodes <em>reported</em> in the window (self-declared, not used)</th><td>${formatBytes(rep > 0n ? rep : 0n)}</td></tr>
          </tbody></table>
          <p class="note">Only paid-for, proven traffic counts; an equal share is assumed, although buyers prefer cheaper and
          closer nodes${median && price > BigInt(median) ? ' — and your price is above the median, so expect less' : ''}. Gas for claims is not subtracted. Past demand does not promise future demand.</p>`
      })
      .catch((err: Error) => (estOut.innerHTML = `<p class="bad">Statistics unavailable: ${esc(err.message)}</p>`))
  }
  main.querySelector<HTMLFormElement>('#estimate')!.addEventListener('submit', (e) => {
    e.preventDefault()
    runEstimate()
  })
  runEstimate()
}

const yes = (ok: boolean, label: string) => `<span class="${ok ? 'ok' : 'bad'}">${ok ? '✔' : '✘'} ${label}</span>`

/** Claimed on-chain, from the escrow's own events, each linked to its transaction. */
function claimsReport(c: Claims | undefined): string {
  if (!c) return '<h3>Claimed on-chain</h3><p class="muted">This hub reads no chain, so it cannot show claims.</p>'
  const link = (h: string) => c.txUrl.replace('{hash}', encodeURIComponent(h))
  const rows = c.claims
    .map((x) => `<tr data-tx="${esc(x.txHash)}"><td>${formatUsdc(x.amount)}</td><td>${esc(x.block)}</td><td><a href="${esc(link(x.txHash))}" rel="noopener">${esc(`${x.txHash.slice(0, 10)}…${x.txHash.slice(-8)}`)}</a></td><td>${x.payer ? `<code>${esc(x.payer)}</code>` : 'compact (many payers)'}</td></tr>`)
    .join('')
  return `<h3>Claimed on-chain</h3>
    <p id="claimed-total"><strong>${formatUsdc(c.claimed)}</strong> claimed in ${c.claims.length} transaction${c.claims.length === 1 ? '' : 's'} (read from the escrow's events up to block ${esc(c.chainBlock)}).
    Cheques held but not yet claimed are on your node: <code>bitcdn node earnings</code>.</p>
    ${c.claims.length ? `<table class="claims"><caption>Claims, newest first</caption><thead><tr><th scope="col">Amount</th><th scope="col">Block</th><th scope="col">Transaction</th><th scope="col">Payer</th></tr></thead><tbody>${rows}</tbody></table>` : ''}`
}

function nodeReport(n: NodeView, claims: Claims | undefined): string {
  const p = n.probe
  const probe = p
    ? `<li>${yes(p.reachable, 'reachable')}</li><li>${yes(p.handshake, 'BitTorrent handshake')}</li><li>${yes(p.paid, 'paid extension (bitcdn_pay)')}</li>
       <li>probed ${new Date(p.at).toLocaleString()}${p.latencyMs !== undefined ? `, ${p.latencyMs} ms` : ''}${p.detail ? ` — ${esc(p.detail)}` : ''}</li>`
    : '<li>not probed yet (the hub probes registered nodes every minute)</li>'
  return `<div data-state="registered">
    <p class="ok"><strong>Registered</strong> at this hub · ${n.online ? '<span class="ok">online</span>' : '<span class="bad">offline (registration is stale)</span>'}</p>
    <dl class="facts">
      <dt>Payout address</dt><dd><code>${esc(n.payee)}</code></dd>
      <dt>Endpoint</dt><dd><code>${esc(n.endpoint)}</code></dd>
      <dt>Price</dt><dd>${formatUsdc(n.pricePerGiB)} / GiB</dd>
      <dt>Bytes served (reported)</dt><dd>${formatBytes(n.servedBytes)}</dd>
      <dt>Pinned torrents</dt><dd>${n.pinned.length}</dd>
      <dt>Last registration</dt><dd>${new Date(n.lastSeen).toLocaleString()}</dd>
    </dl>
    <h3>Probe</h3><ul class="probe">${probe}</ul>
    ${claimsReport(claims)}
  </div>`
}
