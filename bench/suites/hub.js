// The hub: announces per second (HTTP and UDP) on one hub's tracker, with Debian's opentracker on
// the same machine in the same run as the anchor, and registry writes per second (signed node
// registrations, POST /api/v1/nodes: schema, EIP-191 recovery, conditional upsert) with SQLite
// and with PostgreSQL (a throwaway cluster, fsync off). One hub process per store; opentracker
// and the hubs run as separate processes from the load generator (bench/hub/load.js: a small
// Node client keeping many announces in flight — `concurrency` HTTP keep-alive loops, `sockets`
// x `inflight` UDP announces). Runs are interleaved (opentracker, hub/SQLite, hub/PostgreSQL per
// run); the load average is recorded around each measurement. The generator is one Node process:
// where opentracker outruns it, the anchor's figure is a lower bound (the record says so).
// Writes bench/results/hub.json. Measures; asserts nothing.
//
//   npm run bench -- hub [--seconds=N] [--runs=N] [--concurrency=N] [--writes=N]
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs'
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createInterface } from 'node:readline'
import { httpAnnounces, posts, udpAnnounces } from '../hub/load.js'
import { startPostgres } from '../lib/postgres.js'
import { freePort } from '../lib/process.js'

const here = dirname(fileURLToPath(import.meta.url))
const OPENTRACKER = '/usr/bin/opentracker'
const TORRENTS = 100

export default async function run({ args, resultsDir }) {
  // before: the machine's own load; after: what this bench added (2 cores kept busy for minutes)
  const loadBefore = loadavg()
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: 'string', default: '5' },
      runs: { type: 'string', default: '2' },
      concurrency: { type: 'string', default: '64' },
      writes: { type: 'string', default: '1500' },
    },
    strict: false,
  })
  const seconds = Number(values.seconds)
  const runs = Number(values.runs)
  const concurrency = Number(values.concurrency)
  const writes = Number(values.writes)
  if (!existsSync(OPENTRACKER)) throw new Error(`bench hub needs opentracker (${OPENTRACKER}; apt-get install opentracker)`)
  const work = mkdtempSync(join(tmpdir(), 'bitcdn-bench-hub-'))
  chmodSync(work, 0o755)
  const infoHashes = Array.from({ length: TORRENTS }, () => randomBytes(20).toString('hex'))
  const procs = []
  let pg
  try {
    // opentracker (Debian's build has an access whitelist compiled in: list our torrents)
    writeFileSync(join(work, 'whitelist.txt'), `${infoHashes.join('\n')}\n`, { mode: 0o644 })
    const otPort = await freePort()
    procs.push(spawn(OPENTRACKER, ['-i', '127.0.0.1', '-p', String(otPort), '-P', String(otPort), '-d', work, '-w', 'whitelist.txt'], { stdio: 'ignore' }))
    await new Promise((r) => setTimeout(r, 500))
    const ot = { http: `http://127.0.0.1:${otPort}/announce`, udp: `udp://127.0.0.1:${otPort}` }

    pg = await startPostgres()
    const pgUrl = await pg.createDatabase('benchhub')
    const hubSqlite = await startHubProcess(join(work, 'hub.sqlite'), procs)
    const hubPg = await startHubProcess(pgUrl, procs)
    const targets = { opentracker: ot, hubSqlite, hubPg }

    const { privateKeyToAccount, generatePrivateKey } = await import('viem/accounts')
    const { signRegistration } = await import('@bitcdn/hub')
    const results = { httpAnnounces: {}, udpAnnounces: {}, registryWrites: { hubSqlite: [], hubPg: [] } }
    for (const k of Object.keys(targets)) {
      results.httpAnnounces[k] = []
      results.udpAnnounces[k] = []
    }
    for (let r = 0; r < runs; r++) {
      for (const [name, t] of Object.entries(targets)) {
        results.httpAnnounces[name].push(await measured(() => httpAnnounces({ url: t.http, infoHashes, seconds, concurrency })))
        results.udpAnnounces[name].push(await measured(() => udpAnnounces({ url: t.udp, infoHashes, seconds, sockets: 4, inflight: concurrency / 4 })))
        console.log(`  run ${r + 1} ${name.padEnd(12)} http ${results.httpAnnounces[name].at(-1).perSecond.toFixed(0)}/s  udp ${results.udpAnnounces[name].at(-1).perSecond.toFixed(0)}/s`)
      }
      // fresh keys each run: every write is a first registration, signed before the clock starts
      const bodies = []
      for (let i = 0; i < writes; i++) {
        const a = privateKeyToAccount(generatePrivateKey())
        const reg = await signRegistration(a, { payee: a.address, endpoint: `127.0.0.1:${10000 + (i % 50000)}`, pricePerGiB: String(10000 + i), token: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512', chainId: 31337, escrow: '0x5FbDB2315678afecb367f032d93F642f64180aa3', hub: 'bench', region: 'bench', version: 'bitcdn/bench', pinned: [infoHashes[i % TORRENTS]], timestamp: Date.now() })
        bodies.push(JSON.stringify(reg))
      }
      for (const name of ['hubSqlite', 'hubPg']) {
        results.registryWrites[name].push(await measured(() => posts({ url: `${targets[name].api}/api/v1/nodes`, bodies, concurrency: 16 })))
        console.log(`  run ${r + 1} ${name.padEnd(12)} registry writes ${results.registryWrites[name].at(-1).perSecond.toFixed(0)}/s`)
      }
    }
    const best = (xs) => Math.max(...xs.map((x) => x.perSecond))
    const summary = {
      httpAnnouncesPerSecond: Object.fromEntries(Object.entries(results.httpAnnounces).map(([k, v]) => [k, best(v)])),
      udpAnnouncesPerSecond: Object.fromEntries(Object.entries(results.udpAnnounces).map(([k, v]) => [k, best(v)])),
      registryWritesPerSecond: { hubSqlite: best(results.registryWrites.hubSqlite), hubPg: best(results.registryWrites.hubPg) },
    }
    summary.ratios = {
      hubSqliteHttpVsOpentracker: summary.httpAnnouncesPerSecond.hubSqlite / summary.httpAnnouncesPerSecond.opentracker,
      hubPgHttpVsOpentracker: summary.httpAnnouncesPerSecond.hubPg / summary.httpAnnouncesPerSecond.opentracker,
      hubSqliteUdpVsOpentracker: summary.udpAnnouncesPerSecond.hubSqlite / summary.udpAnnouncesPerSecond.opentracker,
      hubPgUdpVsOpentracker: summary.udpAnnouncesPerSecond.hubPg / summary.udpAnnouncesPerSecond.opentracker,
      registryWritesPgVsSqlite: summary.registryWritesPerSecond.hubPg / summary.registryWritesPerSecond.hubSqlite,
    }
    const record = {
      suite: 'hub',
      at: new Date().toISOString(),
      params: { seconds, runs, concurrency, writes, torrents: TORRENTS, udp: { sockets: 4, inflightPerSocket: concurrency / 4 }, registryConcurrency: 16 },
      loadGenerator: 'bench/hub/load.js: one Node process, HTTP keep-alive loops and BEP 15 UDP with many announces in flight; the anchor may be generator-bound (then its figure is a lower bound and the ratios are upper bounds)',
      anchor: 'Debian opentracker (same machine, same run, same torrents, whitelist of the benchmark torrents)',
      postgres: 'throwaway cluster, fsync=off, synchronous_commit=off (as in the tests)',
      machine: { cpu: cpus()[0]?.model, cores: cpus().length, memoryBytes: totalmem(), kernel: release(), loadAverage: { before: loadBefore, after: loadavg() } },
      results,
      summary,
    }
    mkdirSync(resultsDir, { recursive: true })
    writeFileSync(join(resultsDir, 'hub.json'), `${JSON.stringify(record, null, 2)}\n`)
    const f = (x) => x.toFixed(0).padStart(7)
    console.log('\n  announces/s        http     udp')
    for (const k of Object.keys(targets)) console.log(`  ${k.padEnd(14)} ${f(summary.httpAnnouncesPerSecond[k])} ${f(summary.udpAnnouncesPerSecond[k])}`)
    console.log(`  registry writes/s: SQLite ${summary.registryWritesPerSecond.hubSqlite.toFixed(0)}, PostgreSQL ${summary.registryWritesPerSecond.hubPg.toFixed(0)} (PostgreSQL/SQLite ${summary.ratios.registryWritesPgVsSqlite.toFixed(2)}x)`)
    console.log(`  hub / opentracker: http ${summary.ratios.hubSqliteHttpVsOpentracker.toFixed(2)}x, udp ${summary.ratios.hubSqliteUdpVsOpentracker.toFixed(2)}x (hub on SQLite; on PostgreSQL ${summary.ratios.hubPgHttpVsOpentracker.toFixed(2)}x / ${summary.ratios.hubPgUdpVsOpentracker.toFixed(2)}x)`)
    console.log(`  load average: ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores`)
  } finally {
    for (const p of procs) p.kill('SIGTERM')
    await Promise.all(procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : undefined)))
    await pg?.stop()
    rmSync(work, { recursive: true, force: true })
  }
}

async function measured(fn) {
  const loadBefore = loadavg()[0]
  const r = await fn()
  return { ...r, loadBefore, loadAfter: loadavg()[0] }
}

async function startHubProcess(store, procs) {
  const p = spawn(process.execPath, [join(here, '..', 'hub', 'hub-process.js'), store], { stdio: ['ignore', 'pipe', 'inherit'] })
  procs.push(p)
  const rl = createInterface({ input: p.stdout })
  const line = await new Promise((resolve, reject) => {
    rl.once('line', resolve)
    p.once('exit', (code) => reject(new Error(`hub process exited (${code}) before listening`)))
  })
  return JSON.parse(line)
}
