// Swarm throughput on loopback: one file (1 GiB by default, random bytes, generated once and
// cached) downloaded from 1 and from 3 seeders, by BitCDN and by libtorrent (python3-libtorrent,
// both with its defaults and with lt.high_performance_seed()), in the same run on the same
// machine. The anchor is the faster libtorrent; SHA-1 hashing speed of this machine is printed as
// the ceiling verification puts on any client. Every peer runs in its own process so CPU time and
// memory are measured per side: downloader CPU and peak RSS / RssAnon from its own process, the
// seeders' CPU from /proc over the download window.
//
//   npm run bench -- swarm [--size=MiB] [--runs=N] [--seeders=1,3] [--clients=bitcdn,lt,lt-hp]
//
// (Write options as --name=value: the harness hands suites only the arguments that start with a
// dash, and would take a separate value for a suite name.)
//
// Writes bench/results/swarm.json. Measures; asserts nothing.
import { spawn, execFileSync } from 'node:child_process'
import { createHash, randomFillSync } from 'node:crypto'
import { existsSync, mkdirSync, openSync, closeSync, writeSync, statSync, rmSync, readFileSync, writeFileSync, renameSync } from 'node:fs'
import { cpus, loadavg, totalmem, release, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { cpuSeconds, sampleMemory } from '../swarm/proc-stats.js'

const here = dirname(fileURLToPath(import.meta.url))
const swarmDir = join(here, '..', 'swarm')
const MiB = 1024 * 1024
const GiB = 1024 * MiB
const PYTHON = '/usr/bin/python3' // Debian's python3-libtorrent binds only to the system Python

const CLIENTS = {
  bitcdn: { label: 'BitCDN', command: process.execPath, script: join(swarmDir, 'bitcdn-peer.js'), extra: [] },
  lt: { label: 'libtorrent (defaults)', command: PYTHON, script: join(swarmDir, 'lt-client.py'), extra: [] },
  'lt-hp': { label: 'libtorrent (high_performance_seed)', command: PYTHON, script: join(swarmDir, 'lt-client.py'), extra: ['--high-performance'] },
}

export default async function run({ args, resultsDir }) {
  const { values } = parseArgs({
    args,
    options: {
      size: { type: 'string', default: '1024' },
      runs: { type: 'string', default: '1' },
      seeders: { type: 'string', default: '1,3' },
      clients: { type: 'string', default: 'bitcdn,lt,lt-hp' },
      cache: { type: 'string', default: join(tmpdir(), 'bitcdn-bench-swarm') },
    },
    strict: false,
  })
  const sizeMiB = Number(values.size)
  const runs = Number(values.runs)
  const seederCounts = String(values.seeders).split(',').map(Number)
  const clients = String(values.clients).split(',')
  for (const c of clients) if (!CLIENTS[c]) throw new Error(`bench swarm: unknown client '${c}' (bitcdn, lt, lt-hp)`)
  checkLibtorrent()

  const cache = String(values.cache)
  const { dataDir, torrentPath, metainfo } = await prepareData(cache, sizeMiB)
  const sha1MiBps = measureSha1()
  console.log(`data: ${sizeMiB} MiB in ${metainfo.pieceCount} pieces of ${metainfo.pieceLength / 1024} KiB (${dataDir})`)
  console.log(`SHA-1 on this machine (node:crypto, one core): ${sha1MiBps.toFixed(0)} MiB/s`)

  const rows = []
  for (const seeders of seederCounts) {
    for (const client of clients) {
      for (let i = 0; i < runs; i++) {
        const row = await downloadOnce({ client, seeders, dataDir, torrentPath, metainfo, work: join(cache, 'work') })
        rows.push(row)
        console.log(`  ${CLIENTS[client].label}, ${seeders} seeder(s), run ${i + 1}: ${row.ok ? `${row.mibPerSecond.toFixed(1)} MiB/s` : `failed: ${row.error}`}`)
      }
    }
  }

  const summary = summarize(rows, seederCounts, clients)
  printTable(summary, sha1MiBps)
  const record = {
    suite: 'swarm',
    date: new Date().toISOString(),
    // the 1-minute load average at the end says whether other work shared the cores
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, memoryBytes: totalmem(), kernel: release(), loadAverage: loadavg() },
    versions: { node: process.version, libtorrent: libtorrentVersion(), bitcdn: readVersion(), commit: gitCommit() },
    sizeMiB,
    pieceLength: metainfo.pieceLength,
    runs,
    sha1MiBps,
    summary,
    rows,
  }
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(join(resultsDir, 'swarm.json'), `${JSON.stringify(record, null, 2)}\n`)
  console.log(`\nwrote ${join(resultsDir, 'swarm.json')}`)
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

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: here, encoding: 'utf8' }).trim()
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
  if (!existsSync(file) || statSync(file).size !== sizeMiB * MiB) {
    console.log(`generating ${sizeMiB} MiB of random data (once) ...`)
    mkdirSync(dataDir, { recursive: true })
    const tmp = `${file}.partial`
    const fd = openSync(tmp, 'w')
    const chunk = Buffer.allocUnsafe(16 * MiB)
    for (let left = sizeMiB * MiB; left > 0; left -= chunk.length) {
      randomFillSync(chunk)
      writeSync(fd, chunk, 0, Math.min(chunk.length, left))
    }
    closeSync(fd)
    renameSync(tmp, file)
    rmSync(torrentPath, { force: true })
  }
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

async function downloadOnce({ client, seeders, dataDir, torrentPath, metainfo, work }) {
  const dlDir = join(work, `dl-${client}`)
  rmSync(dlDir, { recursive: true, force: true })
  mkdirSync(dlDir, { recursive: true })
  const peers = []
  const row = { client, label: CLIENTS[client].label, seeders, bytes: metainfo.length, ok: false }
  // generous: a stuck client fails its row instead of hanging the bench
  const timeoutMs = Math.max(120_000, (metainfo.length / MiB) * 1000)
  try {
    for (let i = 0; i < seeders; i++) {
      const p = startPeer(client, 'seed', { torrent: torrentPath, dir: dataDir })
      peers.push(p)
      const listening = await p.waitFor((m) => m.event === 'listening', 30_000)
      p.port = listening.port
    }
    // seeders check their data before the clock starts: that cost is not the download's
    await Promise.all(peers.map((p) => p.waitFor((m) => m.event === 'progress' && m.progress >= 1, timeoutMs)))
    const seedCpu0 = peers.map((p) => cpuSeconds(p.pid) ?? 0)
    const dl = startPeer(client, 'get', { torrent: torrentPath, dir: dlDir, peers: peers.map((p) => `127.0.0.1:${p.port}`) })
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

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Median of the runs per (seeders, client); the ratio compares BitCDN with the faster libtorrent. */
function summarize(rows, seederCounts, clients) {
  const out = []
  for (const seeders of seederCounts) {
    const group = []
    for (const client of clients) {
      const ok = rows.filter((r) => r.client === client && r.seeders === seeders && r.ok)
      const failed = rows.filter((r) => r.client === client && r.seeders === seeders && !r.ok)
      if (!ok.length) {
        group.push({ client, label: CLIENTS[client].label, seeders, ok: false, error: failed[0]?.error })
        continue
      }
      const pick = (k) => median(ok.map((r) => r[k]))
      group.push({
        client,
        label: CLIENTS[client].label,
        seeders,
        ok: true,
        runs: ok.length,
        mibPerSecond: pick('mibPerSecond'),
        downloaderCpuPerGiB: pick('downloaderCpuPerGiB'),
        seedersCpuPerGiB: pick('seedersCpuPerGiB'),
        payloadRatio: pick('payloadRatio'),
        sentRatio: pick('sentRatio'),
        peakRssMiB: Math.max(...ok.map((r) => r.peakRssMiB)),
        peakAnonMiB: Math.max(...ok.map((r) => r.peakAnonMiB)),
      })
    }
    const lt = group.filter((g) => g.ok && g.client !== 'bitcdn')
    const anchor = lt.length ? Math.max(...lt.map((g) => g.mibPerSecond)) : undefined
    for (const g of group) if (g.ok && anchor) g.ratioToLibtorrent = g.mibPerSecond / anchor
    out.push(...group)
  }
  return out
}

function printTable(summary, sha1MiBps) {
  const head = ['seeders', 'downloader', 'MiB/s', 'vs libtorrent', 'CPU s/GiB dl', 'CPU s/GiB seeders', 'peak RSS MiB', 'peak anon MiB', 'received/size', 'sent/size']
  const body = summary.map((g) =>
    g.ok
      ? [String(g.seeders), g.label, g.mibPerSecond.toFixed(1), g.ratioToLibtorrent ? g.ratioToLibtorrent.toFixed(2) : '-', g.downloaderCpuPerGiB.toFixed(2), g.seedersCpuPerGiB.toFixed(2), g.peakRssMiB.toFixed(0), g.peakAnonMiB.toFixed(0), g.payloadRatio.toFixed(3), g.sentRatio.toFixed(3)]
      : [String(g.seeders), g.label, 'failed', '-', '-', '-', '-', '-', '-', '-'],
  )
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)))
  const line = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  console.log(`\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`)
  for (const r of body) console.log(line(r))
  console.log(`\nSHA-1 ceiling (one core): ${sha1MiBps.toFixed(0)} MiB/s. "vs libtorrent" = MiB/s over the faster libtorrent configuration with the same number of seeders.`)
  console.log('Peak RSS counts file pages a client maps (libtorrent 2 memory-maps the files it downloads); peak anon (RssAnon) is its heap and buffers.')
  console.log('received/size, sent/size: payload bytes the downloader counted as received, and the seeders as sent, over the torrent size (above 1: bytes sent twice).')
  console.log('CPU s/GiB: user+system seconds of the downloader process, and of all seeder processes together over the download, per GiB.')
  for (const g of summary) if (!g.ok) console.log(`failed: ${g.label}, ${g.seeders} seeder(s): ${g.error}`)
}
