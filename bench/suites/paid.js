// Paid against free delivery on the same swarm in the same run: one `bitcdn node` (price
// 1 USDC/GiB, free policy on, seeding one random file in place) on anvil with the real escrow, and
// `bitcdn get` downloading the whole file from it, alternately
//   - free: no wallet (a plain BitTorrent peer, served under the free policy) — the anchor;
//   - paid: `--wallet` (bitcdn_pay: terms, hello, a cumulative cheque per ~1 MiB of value or
//     250 ms, each persisted by the buyer before signing and stored by the node before its ack).
// Runs are interleaved (free, paid, free, paid, …) into fresh directories, after one untimed
// first run of each kind (a new payer's credit window ramps from one piece; reported apart). Prints the download
// throughput of each (the "fetched in" figure `get` prints: from adding the torrent to done, the
// paid one including its last cheque's acknowledgement), the paid/free ratio (target: the payment
// layer costs < 3%, i.e. ≥ 0.97), cheques and cheque bytes per GiB (bitcdn_pay cheque and ack
// messages with their BEP 10 framing, from the node's accepted-cheque counter), and the node's CPU
// seconds per GiB served (from /proc) and the buyer's (the get process's CPU, start to exit: a paid
// get also loads viem, pay, market and SQLite, ~1 CPU s under load, before its timer starts) for
// both; records the load average; writes
// bench/results/paid.json. Measures; asserts nothing.
//
// Both kinds are timed alike: `get`'s own figure (hundredths of a second), from adding the torrent
// to done — after its wallet and chain are open, so paid start-up is not in it. And both start on
// the same memory: each run's download directory is deleted `--settle-ms` (6 s) before its get,
// so neither reuses pages the previous run just freed (on this VM that made free look 2× faster).
//
//   npm run bench -- paid [--size=MiB] [--runs=N] [--kinds=free,paid] [--cpu-prof=DIR] [--settle-ms=6000]
//   (--kinds=paid --cpu-prof=/tmp/p: V8 profiles of the node and of every get, for one side alone)
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createTestClient, http } from 'viem'
import { foundry } from 'viem/chains'
import { ensureRandomFile } from '../lib/data.js'
import { freePort, gitCommit, startProcess } from '../lib/process.js'
import { median } from '../lib/stats.js'
import { childrenCpuSeconds, cpuSeconds } from '../swarm/proc-stats.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const cli = join(root, 'packages', 'cli', 'bin', 'bitcdn.js')
const MiB = 1024 * 1024
const GiB = 1024 * MiB
const PASSPHRASE = 'bench-paid'

export default async function run({ args, resultsDir }) {
  const { values } = parseArgs({
    args,
    options: {
      size: { type: 'string', default: '1024' },
      runs: { type: 'string', default: '4' },
      cache: { type: 'string', default: join(tmpdir(), 'bitcdn-bench-paid') },
      // ms between deleting a run's download directory and starting its get (see the loop)
      'settle-ms': { type: 'string', default: '6000' },
      // only these kinds (profiling one side: --kinds=paid)
      kinds: { type: 'string', default: 'free,paid' },
      // write V8 CPU profiles of the node and of each get here (node --cpu-prof)
      'cpu-prof': { type: 'string' },
    },
    strict: false,
  })
  const sizeMiB = Number(values.size)
  const runs = Number(values.runs)
  const work = String(values.cache)
  const settleMs = Number(values['settle-ms'])
  const kinds = String(values.kinds).split(',').filter((k) => k === 'free' || k === 'paid')
  const profDir = values['cpu-prof'] === undefined ? undefined : String(values['cpu-prof'])
  const prof = (name) => (profDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-name', `${name}.cpuprofile`])
  const loadBefore = loadavg()
  const { dir, torrentPath } = prepareData(work, sizeMiB)
  const { startAnvil, deployLocal, anvilAccounts, writeDeployment, CHEQUE_SESSION_WIRE_BYTES } = await import('@bitcdn/pay')
  const { encodePayMessage } = await import('@bitcdn/market')

  const anvil = await startAnvil({ accounts: 4 })
  const stops = [() => anvil.stop()]
  try {
    const accounts = anvilAccounts(4)
    const deployment = await deployLocal({ rpcUrl: anvil.rpcUrl, withdrawDelaySeconds: 3600, fund: { accounts: accounts.map((a) => a.address), amount: 1_000_000_000_000n } })
    const nodeHome = join(work, 'node-home')
    const buyerHome = join(work, 'buyer-home')
    for (const h of [nodeHome, buyerHome]) {
      rmSync(h, { recursive: true, force: true })
      mkdirSync(h, { recursive: true })
      await writeDeployment(join(h, 'deployment.json'), deployment)
    }
    // the node: 1 USDC/GiB, free policy on, claims only when asked
    const init = cliSync(nodeHome, ['node', 'init', '--port', '0', '--admin-port', String(await freePort()), '--price', '1', '--free'])
    const payee = /^node address\s+(0x[0-9a-fA-F]{40})/m.exec(init)[1]
    const configFile = join(nodeHome, 'node', 'config.toml')
    writeFileSync(configFile, readFileSync(configFile, 'utf8').replace('threshold = "5"', 'threshold = "1000000"'))
    await createTestClient({ chain: foundry, mode: 'anvil', transport: http(anvil.rpcUrl) }).setBalance({ address: payee, value: 10n ** 20n })
    cliSync(nodeHome, ['node', 'pin', torrentPath, '--dir', dir])
    const node = await startProcess(process.execPath, [...prof(`node-${kinds.join('-')}`), cli, 'node', 'start'], (l) => l.includes('"adminUrl"'), { BITCDN_HOME: nodeHome, BITCDN_PASSPHRASE: PASSPHRASE })
    stops.unshift(() => node.stop())
    const started = JSON.parse(node.matched)
    const peer = `127.0.0.1:${started.listen.port}`
    const adminUrl = started.adminUrl
    const token = readFileSync(join(nodeHome, 'node', 'admin-token'), 'utf8').trim()
    // the buyer: a key imported, 100 USDC deposited
    writeFileSync(join(work, 'buyer.key'), accounts[1].privateKey)
    cliSync(buyerHome, ['wallet', 'import', '--key', 'buyer', '--from-file', join(work, 'buyer.key'), '--scrypt-n', '1024'])
    cliSync(buyerHome, ['wallet', 'deposit', '100', '--key', 'buyer'])

    const rows = { free: [], paid: [] }
    // run 0 of each kind is untimed for the summary, and reported on its own: the first paid
    // download of a new payer from a node starts at a credit window of one piece, doubling with
    // each window paid (pay's credit-rules.ts), so it runs slower (~42 cheques per 512 MiB against
    // ~8 once the window is wide, session 7). The measured runs are a returning buyer's.
    const firsts = {}
    for (let r = 0; r <= runs; r++) {
      for (const kind of kinds) {
        const out = join(work, `dl-${kind}`)
        rmSync(out, { recursive: true, force: true })
        // both kinds start on the same memory: the guest hands pages it freed back to the host
        // within ~2 s (virtio free page reporting), and touching a page the host took back costs
        // several times a reused one. A free get starts downloading 0.3 s after the previous
        // run's files were deleted and reused their pages; a paid get's start-up (viem, keystore,
        // chain checks) took ~2 s, so its writes went to pages the host had taken back: the page
        // copy cost 7× (perf), and paid/free read 0.48× where it is ~0.9× (session 6)
        await new Promise((res) => setTimeout(res, settleMs))
        rmSync(join(buyerHome, 'resume'), { recursive: true, force: true })
        const cpu0 = cpuSeconds(node.pid)
        const buyerCpu0 = childrenCpuSeconds()
        const cheques0 = await metric(adminUrl, token, 'bitcdn_cheques_accepted_total')
        const extra = kind === 'paid' ? ['--wallet', 'buyer', '--max-price', '5', '--budget', '100'] : []
        const stdout = cliSync(buyerHome, ['get', torrentPath, '-o', out, '--peer', peer, '--timeout', '120', ...extra], prof(`get-${kind}-${r}`))
        const cpu1 = cpuSeconds(node.pid)
        const buyerCpu = childrenCpuSeconds() - buyerCpu0
        const cheques = (await metric(adminUrl, token, 'bitcdn_cheques_accepted_total')) - cheques0
        const m = /\(([\d.]+) (MiB|GiB) fetched in ([\d.]+) s/.exec(stdout)
        if (!m) throw new Error(`bench paid: no "fetched in" line from get:\n${stdout}`)
        const seconds = Number(m[3])
        const row = { run: r, seconds, MiBps: sizeMiB / seconds, sellerCpuSeconds: cpu1 - cpu0, buyerCpuSeconds: buyerCpu, cheques, load1: loadavg()[0] }
        if (r === 0) firsts[kind] = row
        else rows[kind].push(row)
        console.log(`${r === 0 ? 'first (untimed)' : `run ${r}/${runs}`} ${kind.padEnd(4)} ${row.MiBps.toFixed(1).padStart(7)} MiB/s  node cpu ${row.sellerCpuSeconds.toFixed(2)} s  get cpu ${row.buyerCpuSeconds.toFixed(2)} s  load ${row.load1.toFixed(2)}${kind === 'paid' ? `  cheques ${cheques}` : ''}`)
      }
    }
    // bytes of one cheque message and its ack on the wire: BEP 10 framing (length, id 20,
    // extended id) + the bitcdn_pay message
    const chequeBytes = 6 + encodePayMessage({ type: 'cheque', cheque: new Uint8Array(CHEQUE_SESSION_WIRE_BYTES) }).length
    const ackBytes = 6 + encodePayMessage({ type: 'ack', cumulative: 1n, credit: 1n }).length
    const gibs = sizeMiB / 1024
    const med = median
    const perGiB = (rs, f) => (rs.length === 0 ? undefined : med(rs.map(f)) / gibs)
    const summary = {
      freeMiBps: med(rows.free.map((x) => x.MiBps)),
      paidMiBps: med(rows.paid.map((x) => x.MiBps)),
      chequesPerGiB: med(rows.paid.map((x) => x.cheques)) / gibs,
      chequeBytesPerGiB: (med(rows.paid.map((x) => x.cheques)) * (chequeBytes + ackBytes)) / gibs,
      sellerCpuSecondsPerGiB: { free: perGiB(rows.free, (x) => x.sellerCpuSeconds), paid: perGiB(rows.paid, (x) => x.sellerCpuSeconds) },
      buyerCpuSecondsPerGiB: { free: perGiB(rows.free, (x) => x.buyerCpuSeconds), paid: perGiB(rows.paid, (x) => x.buyerCpuSeconds) },
    }
    summary.paidOverFree = summary.paidMiBps / summary.freeMiBps
    summary.paymentCostPercent = (1 - summary.paidOverFree) * 100
    const loadAfter = loadavg()
    console.log(`\n  free ${summary.freeMiBps.toFixed(1)} MiB/s, paid ${summary.paidMiBps.toFixed(1)} MiB/s: paid/free ${summary.paidOverFree.toFixed(3)}x (payment layer ${summary.paymentCostPercent.toFixed(1)}% of throughput; target < 3%)`)
    if (firsts.paid !== undefined) console.log(`  first paid download of the new payer (window ramping, not in the summary): ${firsts.paid.MiBps.toFixed(1)} MiB/s, ${firsts.paid.cheques} cheques; first free: ${firsts.free?.MiBps.toFixed(1) ?? '-'} MiB/s`)
    console.log(`  cheques ${summary.chequesPerGiB.toFixed(0)}/GiB, cheque bytes ${summary.chequeBytesPerGiB.toFixed(0)} B/GiB (cheque ${chequeBytes} B + ack ${ackBytes} B each)`)
    const f2 = (x) => (x === undefined ? '-' : x.toFixed(2))
    console.log(`  node CPU per GiB served: free ${f2(summary.sellerCpuSecondsPerGiB.free)} s, paid ${f2(summary.sellerCpuSecondsPerGiB.paid)} s`)
    console.log(`  get CPU per GiB fetched: free ${f2(summary.buyerCpuSecondsPerGiB.free)} s, paid ${f2(summary.buyerCpuSecondsPerGiB.paid)} s`)
    console.log(`  load average: before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores`)
    const record = {
      suite: 'paid',
      date: new Date().toISOString(),
      machine: { cpu: cpus()[0]?.model, cores: cpus().length, memoryBytes: totalmem(), kernel: release(), loadAverage: { before: loadBefore, after: loadAfter } },
      versions: { node: process.version, commit: gitCommit() },
      sizeMiB,
      pieceLength: 1 * MiB,
      runs,
      pricePerGiB: '1 USDC',
      wire: { chequeMessageBytes: chequeBytes, ackMessageBytes: ackBytes },
      summary,
      firstRuns: firsts,
      settleMs,
      note: 'one bitcdn node on loopback (free policy on) and one bitcdn get per run, alternating free (no wallet) and paid (--wallet); a first run of each kind before the measured ones (firstRuns: the new payer\'s window ramps from one piece), not in the summary; throughput is get\'s own "fetched in" figure; each download directory deleted settleMs before its get (same memory state for both kinds)',
      results: rows,
    }
    // a partial run (one kind, or profiled) is not the suite's result
    if (kinds.length < 2 || profDir !== undefined) return
    mkdirSync(resultsDir, { recursive: true })
    writeFileSync(join(resultsDir, 'paid.json'), `${JSON.stringify(record, null, 2)}\n`)
    console.log(`\nwrote ${join(resultsDir, 'paid.json')}`)
  } finally {
    for (const s of stops) await s().catch(() => {})
  }
}

/** `bitcdn <args>` on `home`, to completion; its stdout, or a thrown error with its stderr. */
function cliSync(home, args, nodeArgs = []) {
  const r = spawnSync(process.execPath, [...nodeArgs, cli, ...args], { env: { ...process.env, BITCDN_HOME: home, BITCDN_PASSPHRASE: PASSPHRASE, FORCE_COLOR: '0' }, encoding: 'utf8', maxBuffer: 64 * MiB })
  if (r.status !== 0) throw new Error(`bitcdn ${args.slice(0, 2).join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`)
  return r.stdout
}

async function metric(adminUrl, token, name) {
  // a fresh connection each time: the admin API closes idle keep-alive sockets between runs
  const get = () => fetch(`${adminUrl}/metrics`, { headers: { authorization: `Bearer ${token}`, connection: 'close' } }).then((r) => r.text())
  const text = await get().catch(get)
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line ? Number(line.split(' ').pop()) : 0
}

function prepareData(work, sizeMiB) {
  const dir = join(work, `data-${sizeMiB}MiB`)
  const file = join(dir, `paid-${sizeMiB}MiB.bin`)
  const torrentPath = join(work, `paid-${sizeMiB}MiB.torrent`)
  if (ensureRandomFile(file, sizeMiB)) rmSync(torrentPath, { force: true })
  if (!existsSync(torrentPath)) cliSync(join(work, 'create-home'), ['create', file, '--piece-length', '1MiB', '-o', torrentPath])
  return { dir, torrentPath }
}
