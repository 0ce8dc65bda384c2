// Swarm throughput on loopback, the cross matrix: BitCDN and libtorrent (python3-libtorrent with
// lt.high_performance_seed(), the tuned anchor) each as seeder and as downloader against each
// other, from 1 and from 3 seeders, on one file (1 GiB by default, random bytes, made once and
// cached). Within each run every pair is measured once, in turn, so load drifts hit all clients
// alike; before each download the bench waits (up to --settle seconds) for the 1-minute load average
// to fall to 0.5, records it, and prints a warning above 0.5.
//
// Which rows compare what (all against libtorrent -> libtorrent in the same run):
//   BitCDN -> BitCDN       whole swarms: both sides are BitCDN
//   libtorrent -> BitCDN   downloaders: the same libtorrent seeders feed either downloader
//   BitCDN -> libtorrent   seeders: the same libtorrent downloader pulls from either seeder
//
// Every peer runs in its own process: downloader CPU (user + system, every thread) and peak RSS
// come from its own process, the seeders' CPU from /proc over the download window.
//
//   npm run bench -- swarm [--size=MiB] [--runs=N] [--seeders=1,3] [--pairs=bitcdn:bitcdn,lt:lt,lt:bitcdn,bitcdn:lt] [--lt-defaults] [--settle=120]
//
// (--size takes MiB or a unit: 256, 256MiB, 1GiB.) Writes bench/results/swarm.json. Measures;
// asserts nothing.
import { spawn, execFileSync } from 'node:child_process'
import { createHash, randomFillSync } from 'node:crypto'
import { existsSync, mkdirSync, rmSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem, release, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { ensureRandomFile } from '../lib/data.js'
import { gitCommit, settleLoad } from '../lib/process.js'
import { median } from '../lib/stats.js'
import { cpuSeconds, sampleMemory } from '../swarm/proc-stats.js'

const here = dirname(fileURLToPath(import.meta.url))
const swarmDir = join(here, '..', 'swarm')
const MiB = 1024 * 1024
const GiB = 1024 * MiB
const PYTHON = '/usr/bin/python3' // Debian's python3-libtorrent binds only to the system Python

const CLIENTS = {
  bitcdn: { short: 'BitCDN', label: 'BitCDN', command: process.execPath, script: join(swarmDir, 'bitcdn-peer.js'), extra: [] },
  lt: { short: 'libtorrent', label: 'libtorrent (high_performance_seed)', command: PYTHON, script: join(swarmDir, 'lt-client.py'), extra: ['--high-performance'] },
  'lt-defaults': { short: 'libtorrent', label: 'libtorrent (defaults)', command: PYTHON, script: join(swarmDir, 'lt-client.py'), extra: [] },
}

const LOAD_WARN = 0.5
const PAIRS = ['bitcdn:bitcdn', 'lt:lt', 'lt:bitcdn', 'bitcdn:lt']
/** What each pair's ratio to libtorrent -> libtorrent compares. */
const COMPARES = {
  'bitcdn:bitcdn': 'whole swarm',
  'lt:bitcdn': 'downloader',
  'bitcdn:lt': 'seeder',
  'lt:lt': 'anchor',
}

export default async function run({ args, resultsDir }) {
  const { values } = parseArgs({
    args,
    options: {
      size: { type: 'string', default: '1024' },
      runs: { type: 'string', default: '1' },
      seeders: { type: 'string', default: '1,3' },
      pairs: { type: 'string', default: PAIRS.join(',') },
      'lt-defaults': { type: 'boolean', default: false },
      cache: { type: 'string', default: join(tmpdir(), 'bitcdn-bench-swarm') },
      // seconds to wait before each run for the load the previous run left to decay below 0.5
      settle: { type: 'string', default: '120' },
    },
    strict: false,
  })
  const sizeMiB = parseMiB(String(values.size))
  const runs = Number(values.runs)
  const seederCounts = String(values.seeders).split(',').map(Number)
  const pairs = String(values.pairs).split(',').map((p) => {
    const [seeder, downloader] = p.split(':')
    if (!CLIENTS[seeder] || !CLIENTS[downloader]) throw new Error(`bench swarm: bad pair '${p}' (seeder:downloader of bitcdn, lt)`)
    return { seeder, downloader, key: `${seeder}:${downloader}` }
  })
  if (values['lt-defaults']) CLIENTS.lt = CLIENTS['lt-defaults']
  checkLibtorrent()

  const cache = String(values.cache)
  const { dataDir, torrentPath, metainfo } = await prepareData(cache, sizeMiB)
  const sha1MiBps = measureSha1()
  console.log(`data: ${sizeMiB} MiB in ${metainfo.pieceCount} pieces of ${metainfo.pieceLength / 1024} KiB (${dataDir})`)
  console.log(`SHA-1 on this machine (node:crypto, one core): ${sha1MiBps.toFixed(0)} MiB/s`)
  console.log('Rows: BitCDN -> BitCDN compares whole swarms; libtorrent -> BitCDN compares downloaders (same libtorrent')
  console.log('seeders); BitCDN -> libtorrent compares seeders (same libtorrent downloader); each against libtorrent -> libtorrent.')

  const rows = []
  const loads = []
  for (let i = 0; i < runs; i++) {
    for (const seeders of seederCounts) {
      // rotate the order each run so no pair always goes first (cold caches) or last
      const order = pairs.map((_, k) => pairs[(k + i) % pairs.length])
      for (const pair of order) {
        const load = Number(values.settle) > 0 ? await settleLoad(LOAD_WARN, Number(values.settle) * 1000) : loadavg()[0]
        loads.push(load)
        if (load > LOAD_WARN) console.log(`  warning: load average ${load.toFixed(2)} > ${LOAD_WARN} before this run: other work shares the cores, figures are noisy`)
        const row = await downloadOnce({ pair, seeders, dataDir, torrentPath, metainfo, work: join(cache, 'work') })
        row.run = i + 1
        row.loadBefore = load
        rows.push(row)
        console.log(`  ${pairLabel(pair)}, ${seeders} seeder(s), run ${i + 1}: ${row.ok ? `${row.mibPerSecond.toFixed(1)} MiB/s, downloader ${row.downloaderCpuPerGiB.toFixed(2)} CPU s/GiB, peak RSS ${row.peakRssMiB.toFixed(0)} MiB` : `failed: ${row.error}`} (load ${load.toFixed(2)})`)
      }
    }
  }

  const summary = summarize(rows, seederCounts, pairs)
  printTable(summary, sha1MiBps, loads)
  const record = {
    suite: 'swarm',
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, memoryBytes: totalmem(), kernel: release(), loadAverage: loadavg() },
    versions: { node: process.version, libtorrent: libtorrentVersion(), bitcdn: readVersion(), commit: gitCommit() },
    libtorrentSettings: values['lt-defaults'] ? 'default_settings' : 'high_performance_seed',
    sizeMiB,
    pieceLength: metainfo.pieceLength,
    runs,
    sha1MiBps,
    // the 1-minute load average before each download, in run order; above 0.5 the figures are noisy
    loadBefore: { max: Math.max(...loads), values: loads },
    compares: COMPARES,
    summary,
    rows,
  }
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(join(resultsDir, 'swarm.json'), `${JSON.stringify(record, null, 2)}\n`)
  console.log(`\nwrote ${join(resultsDir, 'swarm.json')}`)
}

/** "256", "256MiB", "1GiB" -> MiB. */
function parseMiB(text) {
  const m = /^(\d+(?:\.\d+)?)\s*(MiB|GiB|M|G)?$/i.exec(text.trim())
  if (!m) throw new Error(`bench swarm: --size '${text}' is not a size (256, 256MiB, 1GiB)`)
  const n = Number(m[1]) * (/^g/i.test(m[2] ?? '') ? 1024 : 1)
  return Math.round(n)
}

function pairLabel(pair) {
  return `${CLIENTS[pair.seeder].short} -> ${CLIENTS[pair.downloader].short}`
}

function checkLibtorrent() {
  try {
    execFileSync(PYTHON, ['-c', 'import libtorrent'], { stdio: 'ignore' })
  } catch {
    throw new Error('bench swarm needs python3-libtorrent for /usr/bin/python3 (.ci/run installs it: apt-get install python3-libtorrent)')
  }
}

function libtorrentVersion() {
  try {
    return execFileSync(PYTHON, ['-c', 'import libtorrent; print(libtorrent.__version__)'], { encoding: 'utf8' }).trim()
  } catch {
    return undefined
  }
}

function readVersion() {
  return JSON.parse(readFileSync(join(here, '..', '..', 'package.json'), 'utf8')).version
}

/** Random data and its torrent, made once per size and reused between runs. */
async function prepareData(cache, sizeMiB) {
  const dataDir = join(cache, `data-${sizeMiB}MiB`)
  const name = `bench-${sizeMiB}MiB.bin`
  const file = join(dataDir, name)
  const torrentPath = join(cache, `bench-${sizeMiB}MiB.torrent`)
  if (ensureRandomFile(file, sizeMiB)) rmSync(torrentPath, { force: true })
  const { createTorrent, parseTorrentFile } = await import('@bitcdn/content')
  if (!existsSync(torrentPath)) {
    const made = await createTorrent(file, { pieceLength: pieceLengthFor(sizeMiB) })
    writeFileSync(torrentPath, made.torrentFile)
  }
  return { dataDir, torrentPath, metainfo: parseTorrentFile(readFileSync(torrentPath)) }
}

// 1 MiB pieces for the 1 GiB run (1024 pieces, what common creators pick near this size);
// smaller for quick runs so they still have enough pieces to spread over 3 seeders
function pieceLengthFor(sizeMiB) {
  return sizeMiB >= 512 ? MiB : 256 * 1024
}

/** SHA-1 throughput of one core over piece-sized updates: the verification ceiling. */
function measureSha1() {
  const buf = randomFillSync(Buffer.allocUnsafe(MiB))
  let bytes = 0
  const start = performance.now()
  while (performance.now() - start < 1500) {
    for (let i = 0; i < 32; i++) createHash('sha1').update(buf).digest()
    bytes += 32 * MiB
  }
  return bytes / MiB / ((performance.now() - start) / 1000)
}

function startPeer(client, mode, opts) {
  const c = CLIENTS[client]
  const args = [c.script, mode, '--torrent', opts.torrent, '--dir', opts.dir, ...c.extra]
  for (const p of opts.peers ?? []) args.push('--peer', p)
  const child = spawn(c.command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines = []
  const listeners = new Set()
  let buf = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d) => {
    buf += d
    let nl
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      let msg
      try {
        msg = JSON.parse(line)
      } catch {
        continue
      }
      lines.push(msg)
      for (const l of listeners) l(msg)
    }
  })
  child.stderr.setEncoding('utf8').on('data', (d) => {
    stderr = (stderr + d).slice(-4000)
  })
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const waitFor = (pred, timeoutMs) =>
    new Promise((resolve, reject) => {
      const hit = lines.find(pred)
      if (hit) return resolve(hit)
      const timer = setTimeout(() => done(new Error(`${c.label} ${mode}: timed out after ${timeoutMs / 1000} s`)), timeoutMs)
      const l = (msg) => {
        if (msg.event === 'error') done(new Error(`${c.label} ${mode}: ${msg.message}`))
        else if (pred(msg)) done(undefined, msg)
      }
      const done = (err, msg) => {
        clearTimeout(timer)
        listeners.delete(l)
        if (err) reject(err)
        else resolve(msg)
      }
      listeners.add(l)
      void exited.then((e) => setImmediate(() => done(new Error(`${c.label} ${mode} exited (${e.code ?? e.signal}): ${stderr.trim().split('\n').pop() ?? ''}`))))
    })
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(t)
    }
  }
  return { child, pid: child.pid, waitFor, stop, exited }
}

async function downloadOnce({ pair, seeders, dataDir, torrentPath, metainfo, work }) {
  const dlDir = join(work, `dl-${pair.downloader}`)
  rmSync(dlDir, { recursive: true, force: true })
  mkdirSync(dlDir, { recursive: true })
  const peers = []
  const row = { pair: pair.key, seeder: pair.seeder, downloader: pair.downloader, label: pairLabel(pair), compares: COMPARES[pair.key], seeders, bytes: metainfo.length, ok: false }
  // generous: a stuck client fails its row instead of hanging the bench
  const timeoutMs = Math.max(120_000, (metainfo.length / MiB) * 1000)
  try {
    for (let i = 0; i < seeders; i++) {
      const p = startPeer(pair.seeder, 'seed', { torrent: torrentPath, dir: dataDir })
      peers.push(p)
      const listening = await p.waitFor((m) => m.event === 'listening', 30_000)
      p.port = listening.port
    }
    // seeders check their data before the clock starts: that cost is not the download's
    await Promise.all(peers.map((p) => p.waitFor((m) => m.event === 'progress' && m.progress >= 1, timeoutMs)))
    const seedCpu0 = peers.map((p) => cpuSeconds(p.pid) ?? 0)
    const dl = startPeer(pair.downloader, 'get', { torrent: torrentPath, dir: dlDir, peers: peers.map((p) => `127.0.0.1:${p.port}`) })
    peers.push(dl)
    const mem = sampleMemory(dl.pid, 100)
    let done
    try {
      done = await dl.waitFor((m) => m.event === 'done', timeoutMs)
    } finally {
      mem.stop()
    }
    const seedCpu = peers.slice(0, seeders).reduce((sum, p, i) => sum + ((cpuSeconds(p.pid) ?? 0) - seedCpu0[i]), 0)
    // what the seeders sent, from their own counters as they stop: the sender's view of waste
    const sent = await Promise.all(
      peers.slice(0, seeders).map(async (p) => {
        const stopped = p.waitFor((m) => m.event === 'stopped', 10_000).catch(() => undefined)
        p.child.kill('SIGTERM')
        return (await stopped)?.uploaded ?? Number.NaN
      }),
    )
    const gib = metainfo.length / GiB
    Object.assign(row, {
      ok: true,
      seconds: done.seconds,
      mibPerSecond: metainfo.length / MiB / done.seconds,
      // BitCDN's 'done' waits for the final fdatasync; libtorrent's finished does not sync. This
      // is when BitCDN's last piece was verified and written (to the page cache), for comparison
      storedMibPerSecond: done.storedSeconds > 0 ? metainfo.length / MiB / done.storedSeconds : undefined,
      downloaderCpuSeconds: done.cpuSeconds,
      downloaderCpuPerGiB: done.cpuSeconds / gib,
      seedersCpuSeconds: seedCpu,
      seedersCpuPerGiB: seedCpu / gib,
      // payload received / torrent size: above 1 is bytes fetched twice (endgame, lost requests)
      payloadRatio: done.downloadedPayload / metainfo.length,
      sentRatio: sent.reduce((a, b) => a + b, 0) / metainfo.length,
      peakRssMiB: Math.max(mem.peak.rss, done.peakRssBytes ?? 0) / MiB,
      peakAnonMiB: mem.peak.anon / MiB,
    })
  } catch (err) {
    row.error = err.message
  } finally {
    await Promise.all(peers.map((p) => p.stop()))
    rmSync(dlDir, { recursive: true, force: true })
  }
  return row
}

/** Median of the runs per (seeders, pair); each pair's ratio is to libtorrent -> libtorrent with as many seeders. */
function summarize(rows, seederCounts, pairs) {
  const out = []
  for (const seeders of seederCounts) {
    const group = []
    for (const pair of pairs) {
      const ok = rows.filter((r) => r.pair === pair.key && r.seeders === seeders && r.ok)
      const failed = rows.filter((r) => r.pair === pair.key && r.seeders === seeders && !r.ok)
      const base = { pair: pair.key, label: pairLabel(pair), compares: COMPARES[pair.key], seeders }
      if (!ok.length) {
        group.push({ ...base, ok: false, error: failed[0]?.error })
        continue
      }
      const pick = (k) => median(ok.map((r) => r[k]))
      group.push({
        ...base,
        ok: true,
        runs: ok.length,
        mibPerSecond: pick('mibPerSecond'),
        storedMibPerSecond: ok.every((r) => r.storedMibPerSecond !== undefined) ? pick('storedMibPerSecond') : undefined,
        downloaderCpuPerGiB: pick('downloaderCpuPerGiB'),
        seedersCpuPerGiB: pick('seedersCpuPerGiB'),
        payloadRatio: pick('payloadRatio'),
        sentRatio: pick('sentRatio'),
        peakRssMiB: Math.max(...ok.map((r) => r.peakRssMiB)),
        peakAnonMiB: Math.max(...ok.map((r) => r.peakAnonMiB)),
        maxLoadBefore: Math.max(...ok.map((r) => r.loadBefore)),
      })
    }
    const anchor = group.find((g) => g.ok && g.pair === 'lt:lt')
    for (const g of group) if (g.ok && anchor) g.ratioToLibtorrent = g.mibPerSecond / anchor.mibPerSecond
    out.push(...group)
  }
  return out
}

function printTable(summary, sha1MiBps, loads) {
  const head = ['seeders', 'seeder -> downloader', 'compares', 'MiB/s', 'vs lt -> lt', 'stored MiB/s', 'CPU s/GiB dl', 'CPU s/GiB seeders', 'peak RSS MiB dl', 'peak anon MiB dl', 'received/size', 'sent/size', 'load before']
  const body = summary.map((g) =>
    g.ok
      ? [String(g.seeders), g.label, g.compares, g.mibPerSecond.toFixed(1), g.ratioToLibtorrent ? g.ratioToLibtorrent.toFixed(2) : '-', g.storedMibPerSecond !== undefined ? g.storedMibPerSecond.toFixed(1) : '-', g.downloaderCpuPerGiB.toFixed(2), g.seedersCpuPerGiB.toFixed(2), g.peakRssMiB.toFixed(0), g.peakAnonMiB.toFixed(0), g.payloadRatio.toFixed(3), g.sentRatio.toFixed(3), g.maxLoadBefore.toFixed(2)]
      : [String(g.seeders), g.label, g.compares, 'failed', '-', '-', '-', '-', '-', '-', '-', '-', '-'],
  )
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)))
  const line = (cells) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  console.log(`\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`)
  for (const r of body) console.log(line(r))
  console.log(`\nSHA-1 ceiling (one core): ${sha1MiBps.toFixed(0)} MiB/s. "vs lt -> lt" = MiB/s over libtorrent -> libtorrent with the same number of seeders, in the same run.`)
  console.log('compares: "whole swarm" rows have BitCDN on both sides; "downloader" rows feed BitCDN from the same libtorrent seeders as the anchor; "seeder" rows serve the same libtorrent downloader as the anchor.')
  console.log('stored MiB/s (BitCDN downloaders): until the last piece was verified and written, before the final fdatasync that BitCDN\'s done waits for and libtorrent\'s finished skips.')
  console.log('Peak RSS counts file pages a client maps (libtorrent 2 memory-maps the files it downloads); peak anon (RssAnon) is its heap and buffers.')
  console.log('received/size, sent/size: payload bytes the downloader counted as received, and the seeders as sent, over the torrent size (above 1: bytes sent twice).')
  console.log('CPU s/GiB: user+system seconds of the downloader process (every thread), and of all seeder processes together over the download, per GiB.')
  const maxLoad = Math.max(...loads)
  console.log(`load average before the downloads: max ${maxLoad.toFixed(2)}${maxLoad > LOAD_WARN ? ` — above ${LOAD_WARN}: other work shared the cores; rerun on a quiet box before quoting these figures` : ''}`)
  for (const g of summary) if (!g.ok) console.log(`failed: ${g.label}, ${g.seeders} seeder(s): ${g.error}`)
}
