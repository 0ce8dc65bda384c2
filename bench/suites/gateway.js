// The HTTP gateway against nginx, same machine, same file, same run: a 256 MiB file (random bytes,
// generated once and cached) served
//   - by nginx directly from disk (the anchor for throughput),
//   - by nginx proxying to a same-machine nginx origin (the anchor for a cold fetch's TTFB),
//   - by `bitcdn gateway` cold (fresh piece cache: every piece comes from a seeder over TCP, one
//     BitCDN seeder process) and warm (the same requests again: every piece from the cache).
// Workloads: 1 MiB ranges at random piece-aligned-ish offsets (one request at a time, keep-alive),
// and the whole file. Every server is warmed up first, untimed, with 8 windows the measured ranges
// never touch, each asked for 4 times (a server in service has its code compiled: a fresh Node
// process's first requests run cold JIT, which is not what "cold" — content not cached — means;
// the gateway's first request of a window compiles its swarm path, the next ones its cache path).
// The gateway's memory tier (`--cache-memory`) is sized to hold the file, as the page cache holds
// it for nginx (nginx reads it from RAM; a gateway whose tier is smaller reads pieces back through
// its files: measured ~0.6× nginx instead of ~0.8× on 1 MiB ranges, session 7), and the
// warm pass starts once the gateway's cache writes from the cold pass have drained (1 s). Runs are interleaved (nginx, proxy, cold, warm per run). Prints throughput,
// TTFB (median, p90) and the ratio to nginx, the gateway's offload ratio from /metrics, the load
// average; writes bench/results/gateway.json. Measures; asserts nothing.
//
//   npm run bench -- gateway [--size=MiB] [--ranges=N] [--runs=N]
import { spawn, execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { ensureRandomFile } from '../lib/data.js'
import { freePort, gitCommit, startProcess } from '../lib/process.js'
import { median, quantile } from '../lib/stats.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const MiB = 1024 * 1024
const NGINX = '/usr/sbin/nginx'
/** Times each warm-up window is asked for (the same for every server). */
const WARMUP_REPEAT = 4

export default async function run({ args, resultsDir }) {
  // before: the machine's own load; after: what this bench added (2 cores kept busy for minutes)
  const loadBefore = loadavg()
  const { values } = parseArgs({
    args,
    options: {
      size: { type: 'string', default: '256' },
      ranges: { type: 'string', default: '32' },
      runs: { type: 'string', default: '2' },
      cache: { type: 'string', default: join(tmpdir(), 'bitcdn-bench-gateway') },
    },
    strict: false,
  })
  const sizeMiB = Number(values.size)
  const rangeCount = Number(values.ranges)
  const runs = Number(values.runs)
  if (!existsSync(NGINX)) throw new Error(`bench gateway needs nginx (${NGINX}; apt-get install nginx)`)
  const work = String(values.cache)
  const { dir, name, torrentPath, metainfo } = await prepareData(work, sizeMiB)
  const size = sizeMiB * MiB
  // ranges: distinct 1 MiB windows (so a cold run never hits pieces an earlier range fetched)
  const windows = Math.floor(size / MiB) - 1
  const step = Math.max(1, Math.floor(windows / rangeCount))
  const ranges = Array.from({ length: Math.min(rangeCount, windows) }, (_, i) => {
    const start = i * step * MiB + ((i * 7919) % 4096)
    return [start, start + MiB - 1]
  })
  // warm-up windows between the measured ones, a whole MiB clear of each (a measured range spills
  // into the piece after its window): step ≥ 4 (7 at the defaults: 255 windows, 32 ranges)
  const warmups = step >= 4 ? Array.from({ length: Math.min(8, ranges.length) }, (_, i) => [(i * step + 2) * MiB + 17, (i * step + 3) * MiB + 16]) : []

  const seeder = await startProcess(process.execPath, [join(root, 'bench', 'swarm', 'bitcdn-peer.js'), 'seed', '--torrent', torrentPath, '--dir', dir], (line) => line.includes('"listening"'))
  const seederPort = JSON.parse(seeder.matched).port
  const ports = { static: await freePort(), proxy: await freePort() }
  const nginx = await startNginx(join(work, 'nginx'), dir, ports)
  const results = { nginx: [], nginxProxy: [], gatewayCold: [], gatewayWarm: [] }
  const offload = []
  try {
    for (let r = 0; r < runs; r++) {
      console.log(`run ${r + 1}/${runs}`)
      await warmUp(`http://127.0.0.1:${ports.static}/${name}`, warmups)
      results.nginx.push(await measure(`http://127.0.0.1:${ports.static}/${name}`, ranges, size))
      await warmUp(`http://127.0.0.1:${ports.proxy}/${name}`, warmups)
      results.nginxProxy.push(await measure(`http://127.0.0.1:${ports.proxy}/${name}`, ranges, size))
      const cacheDir = join(work, `gw-cache-${r}`)
      rmSync(cacheDir, { recursive: true, force: true })
      const gwPort = await freePort()
      const gw = await startProcess(
        process.execPath,
        [join(root, 'packages', 'cli', 'bin', 'bitcdn.js'), 'gateway', torrentPath, '--peer', `127.0.0.1:${seederPort}`, '--port', String(gwPort), '--cache-dir', cacheDir, '--cache-memory', `${sizeMiB + 64}MiB`, '--log-level', 'warn'],
        (line) => line.includes('gateway listening'),
        { BITCDN_HOME: join(work, 'home') },
      )
      const url = `http://127.0.0.1:${gwPort}/t/${metainfo.infoHash}`
      // cold: ranges first (each fetches its own pieces), then the whole file (the rest cold)
      await warmUp(url, warmups)
      const cold = await measure(url, ranges, size)
      results.gatewayCold.push(cold)
      await new Promise((r) => setTimeout(r, 1000))
      results.gatewayWarm.push(await measure(url, ranges, size))
      offload.push(await offloadRatio(`http://127.0.0.1:${gwPort}/metrics`))
      await gw.stop()
      rmSync(cacheDir, { recursive: true, force: true })
    }
  } finally {
    await nginx.stop()
    await seeder.stop()
  }
  const summary = summarize(results)
  print(summary, offload)
  const record = {
    suite: 'gateway',
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, memoryBytes: totalmem(), kernel: release(), loadAverage: { before: loadBefore, after: loadavg() } },
    versions: { node: process.version, nginx: nginxVersion(), commit: gitCommit() },
    sizeMiB,
    pieceLength: metainfo.pieceLength,
    ranges: ranges.length,
    runs,
    summary,
    offloadRatio: offload,
    note: 'every server warmed up untimed with 8 windows outside the measured ones, 4 times each; gateway memory tier sized to hold the file (nginx has it in the page cache); cold = fresh gateway piece cache for the measured windows, one BitCDN seeder on loopback; warm = the same requests again (piece cache), 1 s after the cold pass; the whole-file cold figure follows the ranges, so ~ranges MiB of it were already cached',
    results,
  }
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(join(resultsDir, 'gateway.json'), `${JSON.stringify(record, null, 2)}\n`)
  console.log(`\nwrote ${join(resultsDir, 'gateway.json')}`)
}

/** 1 MiB ranges one at a time over one keep-alive connection, then the whole file. */
/** Untimed requests that compile a server's code paths (windows the measured ranges never touch). */
async function warmUp(url, windows) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  // each window WARMUP_REPEAT times: the gateway's first request of a window runs its cold path
  // (the swarm), the others its warm one (the cache) — both get compiled, as in a server in service
  for (let k = 0; k < WARMUP_REPEAT; k++) {
    for (const [s, e] of windows) {
      const r = await get(url, agent, { range: `bytes=${s}-${e}` })
      if (r.status !== 206) throw new Error(`${url}: warm-up range ${s}-${e} answered ${r.status}`)
    }
  }
  agent.destroy()
}

async function measure(url, ranges, size) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const ttfb = []
  let bytes = 0
  const t0 = performance.now()
  for (const [s, e] of ranges) {
    const r = await get(url, agent, { range: `bytes=${s}-${e}` })
    if (r.status !== 206 || r.bytes !== e - s + 1) throw new Error(`${url}: range ${s}-${e} answered ${r.status} with ${r.bytes} bytes`)
    ttfb.push(r.ttfbMs)
    bytes += r.bytes
  }
  const rangeSeconds = (performance.now() - t0) / 1000
  const whole = await get(url, agent, {})
  if (whole.status !== 200 || whole.bytes !== size) throw new Error(`${url}: whole file answered ${whole.status} with ${whole.bytes} bytes`)
  agent.destroy()
  return {
    rangeMiBps: bytes / MiB / rangeSeconds,
    rangeTtfbMs: { median: quantile(ttfb, 0.5), p90: quantile(ttfb, 0.9) },
    wholeMiBps: size / MiB / whole.seconds,
    wholeTtfbMs: whole.ttfbMs,
  }
}

function get(url, agent, headers) {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    http
      .get(url, { agent, headers }, (res) => {
        let first
        let bytes = 0
        res.on('data', (c) => {
          first ??= performance.now()
          bytes += c.length
        })
        res.on('end', () => resolve({ status: res.statusCode, bytes, ttfbMs: (first ?? performance.now()) - start, seconds: (performance.now() - start) / 1000 }))
        res.on('error', reject)
      })
      .on('error', reject)
  })
}

function summarize(results) {
  const out = {}
  for (const [k, rows] of Object.entries(results)) {
    out[k] = {
      rangeMiBps: median(rows.map((r) => r.rangeMiBps)),
      rangeTtfbMedianMs: median(rows.map((r) => r.rangeTtfbMs.median)),
      rangeTtfbP90Ms: median(rows.map((r) => r.rangeTtfbMs.p90)),
      wholeMiBps: median(rows.map((r) => r.wholeMiBps)),
      wholeTtfbMs: median(rows.map((r) => r.wholeTtfbMs)),
    }
  }
  out.ratios = {
    warmRangeThroughputVsNginx: out.gatewayWarm.rangeMiBps / out.nginx.rangeMiBps,
    warmWholeThroughputVsNginx: out.gatewayWarm.wholeMiBps / out.nginx.wholeMiBps,
    coldRangeTtfbVsNginxProxy: out.gatewayCold.rangeTtfbMedianMs / out.nginxProxy.rangeTtfbMedianMs,
  }
  return out
}

function print(s, offload) {
  const row = (label, r) =>
    console.log(`  ${label.padEnd(22)} ${r.rangeMiBps.toFixed(1).padStart(8)} ${r.rangeTtfbMedianMs.toFixed(2).padStart(10)} ${r.rangeTtfbP90Ms.toFixed(2).padStart(9)} ${r.wholeMiBps.toFixed(1).padStart(10)} ${r.wholeTtfbMs.toFixed(2).padStart(10)}`)
  console.log(`\n  ${''.padEnd(22)} ${'1MiB MiB/s'.padStart(8)} ${'TTFB med'.padStart(10)} ${'TTFB p90'.padStart(9)} ${'file MiB/s'.padStart(10)} ${'file TTFB'.padStart(10)}`)
  row('nginx (static)', s.nginx)
  row('nginx proxy -> origin', s.nginxProxy)
  row('gateway cold (swarm)', s.gatewayCold)
  row('gateway warm (cache)', s.gatewayWarm)
  console.log(`\n  warm throughput / nginx: ranges ${s.ratios.warmRangeThroughputVsNginx.toFixed(2)}x, whole file ${s.ratios.warmWholeThroughputVsNginx.toFixed(2)}x (target >= 0.8)`)
  console.log(`  cold 1 MiB range TTFB / nginx proxy: ${s.ratios.coldRangeTtfbVsNginxProxy.toFixed(2)}x (target <= 2)`)
  console.log(`  offload ratio per run: ${offload.map((o) => (o === undefined ? '?' : o.toFixed(3))).join(', ')}`)
  console.log(`  load average: ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores`)
}

async function offloadRatio(url) {
  const text = await new Promise((resolve, reject) =>
    http.get(url, (res) => {
      let b = ''
      res.on('data', (c) => (b += c))
      res.on('end', () => resolve(b))
    }).on('error', reject),
  )
  const m = /^bitcdn_gateway_offload_ratio (\S+)$/m.exec(text)
  return m ? Number(m[1]) : undefined
}

async function prepareData(work, sizeMiB) {
  const dir = join(work, `data-${sizeMiB}MiB`)
  const name = `gateway-${sizeMiB}MiB.bin`
  const torrentPath = join(work, `gateway-${sizeMiB}MiB.torrent`)
  if (ensureRandomFile(join(dir, name), sizeMiB)) rmSync(torrentPath, { force: true })
  const { createTorrent, parseTorrentFile } = await import('@bitcdn/content')
  if (!existsSync(torrentPath)) writeFileSync(torrentPath, (await createTorrent(join(dir, name), { pieceLength: 256 * 1024 })).torrentFile)
  return { dir, name, torrentPath, metainfo: parseTorrentFile(readFileSync(torrentPath)) }
}

async function startNginx(prefix, dataDir, ports) {
  rmSync(prefix, { recursive: true, force: true })
  mkdirSync(prefix, { recursive: true })
  const user = process.getuid?.() === 0 ? 'user root;' : ''
  const conf = `${user}
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path ${prefix}/cb; proxy_temp_path ${prefix}/pt; fastcgi_temp_path ${prefix}/ft; uwsgi_temp_path ${prefix}/ut; scgi_temp_path ${prefix}/st;
  upstream origin { server 127.0.0.1:${ports.static}; keepalive 16; }
  server { listen 127.0.0.1:${ports.static}; root ${dataDir}; }
  server {
    listen 127.0.0.1:${ports.proxy};
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering on; }
  }
}
`
  writeFileSync(join(prefix, 'nginx.conf'), conf)
  const child = spawn(NGINX, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' })
  for (let i = 0; i < 200; i++) {
    if (await canConnect(ports.proxy)) break
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    stop: () =>
      new Promise((r) => {
        if (child.exitCode !== null) return r()
        child.once('exit', () => r())
        child.kill('SIGTERM')
      }),
  }
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = http.get(`http://127.0.0.1:${port}/`, (res) => {
      res.resume()
      resolve(true)
    })
    s.on('error', () => resolve(false))
  })
}

function nginxVersion() {
  try {
    return execFileSync(NGINX, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) || undefined
  } catch (err) {
    return String(err.stderr ?? '').trim() || undefined
  }
}
