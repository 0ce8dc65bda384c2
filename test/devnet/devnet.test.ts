/**
 * `bitcdn devnet` as a user runs it: the real CLI process (real anvil with the escrow, the hub,
 * two paid nodes, the paying gateway), ports 0. The sample video fetched through the printed
 * gateway URL is byte-exact; the nodes' cheques, cashed out through their admin API, show up as
 * on-chain `paidOut`, as the hub's `claimed` (equal to the chain's sum), as each node's claims (real
 * transactions whose escrow logs pay it exactly its `paidOut`) and as `bytesServedProven`, which
 * must cover the video's bytes; the nodes registered themselves, and the bytes they report and the
 * gateway's offload ratio (every byte from the paid swarm) account for the video too. Ctrl-C stops
 * every process, even with a live statistics stream open; a second start on the same directory
 * comes up without warnings, and the wallet commands it prints, run as printed on a fresh
 * BITCDN_HOME, end in a paid `get --wallet` from its nodes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, http, type Address } from 'viem'
import { afterAll, describe, expect, it } from 'vitest'
import { escrowAbi, loadDeployment } from '@bitcdn/pay'

const root = join(import.meta.dirname, '..', '..')
const cli = join(root, 'packages', 'cli', 'bin', 'bitcdn.js')
const NODES = 2
const children: ChildProcess[] = []
let dir: string

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  if (dir) await rm(dir, { recursive: true, force: true })
})

interface Started {
  child: ChildProcess
  out: () => string
  err: () => string
}

/** Starts `bitcdn devnet` and resolves once it printed that it is up. */
function startDevnet(): Promise<Started> {
  const child = spawn(process.execPath, [cli, 'devnet', '--nodes', String(NODES), '--dir', dir, '--no-traffic', ...['chain', 'hub', 'tracker', 'gateway', 'node', 'admin'].flatMap((p) => [`--${p}-port`, '0'])], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let out = ''
  let err = ''
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (err += t))
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (t: string) => {
      out += t
      if (out.includes('Ctrl-C stops everything')) resolve({ child, out: () => out, err: () => err })
    })
    child.once('exit', (code) => reject(new Error(`devnet exited (${code}) before it was up:\n${out}\n${err}`)))
  })
}

/** Exit code, or the signal's name when a signal ended it (a clean stop exits 0). */
function stopped(child: ChildProcess): Promise<number | string> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode ?? child.signalCode!)
    else child.once('exit', (code, signal) => resolve(code ?? signal!))
  })
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

describe('bitcdn devnet', () => {
  it('--help explains the node count, every port flag and the data directory', async () => {
    const child = spawn(process.execPath, [cli, 'devnet', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (t: string) => (out += t))
    expect(await stopped(child)).toBe(0)
    for (const flag of ['--nodes', '--dir', '--chain-port', '--hub-port', '--tracker-port', '--gateway-port', '--node-port', '--admin-port', '--no-traffic']) expect(out).toContain(flag)
  })

  it('reports a busy port with the flag that changes it, before starting anything', async () => {
    const { createServer } = await import('node:net')
    const srv = createServer()
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
    const port = (srv.address() as { port: number }).port
    const busyDir = await mkdtemp(join(tmpdir(), 'bitcdn-devnet-busy-'))
    try {
      const child = spawn(process.execPath, [cli, 'devnet', '--dir', busyDir, '--hub-port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] })
      let err = ''
      child.stderr!.setEncoding('utf8').on('data', (t: string) => (err += t))
      expect(await stopped(child)).not.toBe(0)
      expect(err).toContain('BITCDN_ERR_PORT_IN_USE')
      expect(err).toContain(`hub port ${port} (change it with --hub-port)`)
    } finally {
      await new Promise((r) => srv.close(r))
      await rm(busyDir, { recursive: true, force: true })
    }
  })

  it('serves the sample video through the gateway, and the hub and the chain account for the paid bytes', async () => {
    dir = await mkdtemp(join(tmpdir(), 'bitcdn-devnet-'))
    const first = await startDevnet()
    const text = first.out()
    const video = /curl -o clip\.webm (\S+)/.exec(text)?.[1]
    const hubUrl = /website\s+(http:\/\/\S+?)\/\s/.exec(text)?.[1]
    const admins = [...text.matchAll(/admin (http:\/\/127\.0\.0\.1:\d+)/g)].map((m) => m[1]!)
    expect(video).toMatch(/\/t\/[0-9a-f]{40}\/video\/clip\.webm$/)
    expect(hubUrl).toBeDefined()
    expect(admins).toHaveLength(NODES)

    const before = (await (await fetch(`${hubUrl}/api/v1/stats`)).json()) as { nodesOnline: number; claimed: string; deposited: string }
    expect(before.nodesOnline).toBe(NODES)
    expect(before.claimed).toBe('0')
    expect(BigInt(before.deposited)).toBeGreaterThan(0n)

    const res = await fetch(video!)
    expect(res.status).toBe(200)
    const body = Buffer.from(await res.arrayBuffer())
    expect(body.equals(await readFile(join(root, 'test', 'gateway', 'fixtures', 'clip.webm')))).toBe(true)

    // every node that served got a cheque for it; cash out through the admin API
    const tokens = await Promise.all(Array.from({ length: NODES }, (_, i) => readFile(join(dir, 'nodes', `node-${i + 1}`, 'node', 'admin-token'), 'utf8')))
    const admin = (i: number, method: string, path: string) => fetch(`${admins[i]}${path}`, { method, headers: { authorization: `Bearer ${tokens[i]!.trim()}` } })
    // the gateway pays as pieces verify: wait until the nodes' cheques stop growing (the last one in)
    let last = -1n
    let steady = 0
    const accrued = await until('cheques at the nodes to settle', async () => {
      const all = await Promise.all(admins.map(async (_, i) => ((await (await admin(i, 'GET', '/earnings')).json()) as { totals: { accruedUnits: string }[] }).totals.reduce((s, t) => s + BigInt(t.accruedUnits), 0n)))
      const sum = all.reduce((a, b) => a + b, 0n)
      steady = sum > 0n && sum === last ? steady + 1 : 0
      last = sum
      return steady >= 8 ? sum : undefined
    }, 60_000)
    for (let i = 0; i < NODES; i++) expect((await admin(i, 'POST', '/cashout')).status).toBe(200)

    // on chain: what the escrow paid the nodes out of the gateway's deposit
    const deployment = await loadDeployment(join(dir, 'deployment.json'))
    const client = createPublicClient({ transport: http(deployment.rpcUrl) })
    const payees = (await (await fetch(`${hubUrl}/api/v1/nodes`)).json()) as { nodes: { payee: Address }[] }
    const payer = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' // anvil dev account 1, the gateway's wallet
    const onChain = await until('claims on chain', async () => {
      let sum = 0n
      for (const n of payees.nodes) sum += await client.readContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'paidOut', args: [payer, n.payee, deployment.tokens.USDC] })
      return sum >= accrued ? sum : undefined
    })
    expect(onChain).toBe(accrued)

    interface HubStats {
      claimed: string
      bytesServedProven: string
      bytesServedReported: string
      offloadRatio?: number
      gateways: { swarmBytes: number; originBytes: number }[]
    }
    const stats = await until('the hub to see the claims and the nodes to report their bytes', async () => {
      const s = (await (await fetch(`${hubUrl}/api/v1/stats`)).json()) as HubStats
      return BigInt(s.claimed) === onChain && BigInt(s.bytesServedReported) >= BigInt(body.length) ? s : undefined
    })
    // proven bytes: claimed ÷ each node's price — the paid-for bytes cover the whole video (whole
    // 64 KiB pieces, so up to a piece on either side of it). A cheque pays floor(bytes × price),
    // so each node may be short by less than one base unit's worth of bytes: GiB ÷ its price.
    const proven = BigInt(stats.bytesServedProven)
    const GiB = 1n << 30n
    const floorSlack = (await Promise.all(payees.nodes.map(async (n) => BigInt(((await (await fetch(`${hubUrl}/api/v1/nodes/${n.payee}`)).json()) as { pricePerGiB: string }).pricePerGiB)))).reduce((a, price) => a + GiB / price, 0n)
    expect(proven).toBeGreaterThanOrEqual(BigInt(body.length) - floorSlack)
    expect(proven).toBeLessThan(BigInt(body.length) + 4n * 65_536n)
    // what the nodes report (their own signed registrations, refreshed by each node) agrees
    expect(BigInt(stats.bytesServedReported)).toBeLessThan(BigInt(body.length) + 4n * 65_536n)
    // the gateway got every byte from the paid swarm, none from an origin
    expect(stats.gateways).toHaveLength(1)
    expect(stats.gateways[0]!.swarmBytes).toBeGreaterThanOrEqual(body.length)
    expect(stats.gateways[0]!.originBytes).toBe(0)
    expect(stats.offloadRatio).toBe(1)
    // each node's claims, as the hub lists them, are real transactions paying it its paidOut
    for (const n of payees.nodes) {
      const paid = await client.readContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'paidOut', args: [payer, n.payee, deployment.tokens.USDC] })
      const c = (await (await fetch(`${hubUrl}/api/v1/nodes/${n.payee}/claims`)).json()) as { claimed: string; txUrl: string; claims: { txHash: string; amount: string }[] }
      expect(BigInt(c.claimed)).toBe(paid)
      let fromReceipts = 0n
      for (const claim of c.claims) {
        const tx = (await (await fetch(`${hubUrl}${c.txUrl.replace('{hash}', claim.txHash)}`)).json()) as { status: string; claims: { payee: string; amount: string }[] }
        expect(tx.status).toBe('success')
        fromReceipts += tx.claims.filter((x) => x.payee === n.payee).reduce((a, x) => a + BigInt(x.amount), 0n)
      }
      expect(fromReceipts).toBe(paid)
    }
    expect(first.err()).not.toMatch(/warn|error/i)

    // a browser on the network page holds a live stream: Ctrl-C must still stop everything
    const live = await fetch(`${hubUrl}/api/v1/stats/live`)
    const liveReader = live.body!.getReader()
    await liveReader.read()
    first.child.kill('SIGINT')
    expect(await stopped(first.child)).toBe(0)
    expect(first.out()).toMatch(/devnet {2}stopped/)
    // stopped by closing everything, not by the 5 s safety net
    expect(first.err()).not.toContain('leftover handle')

    // a second start reuses the directory: same sample content, no warnings
    const second = await startDevnet()
    expect(/curl -o clip\.webm (\S+)/.exec(second.out())?.[1]?.split('/t/')[1]).toBe(video!.split('/t/')[1])
    expect(second.err()).toBe('')

    // a newcomer's own wallet on the devnet's chain, with the commands it prints: a paid download
    const pay = second.out().split('\n').filter((l) => /^ {12}bitcdn /.test(l)).flatMap((l) => l.trim().split(' && '))
    expect(pay).toHaveLength(4)
    const home = await mkdtemp(join(tmpdir(), 'bitcdn-devnet-user-'))
    try {
      const env = { ...process.env, BITCDN_HOME: home, BITCDN_PASSPHRASE: 'devnet user passphrase', FORCE_COLOR: '0' }
      for (const command of pay) {
        const r = spawnSync(process.execPath, [cli, ...command.split(' ').slice(1)], { cwd: home, env, encoding: 'utf8', timeout: 120_000 })
        expect(r.status, `${command}\n${r.stdout}\n${r.stderr}`).toBe(0)
        if (command.startsWith('bitcdn get')) expect(r.stdout).toMatch(/^paid 0\.\d+ USDC of a 1 USDC budget to [1-9] seller\(s\):$/m)
      }
    } finally {
      await rm(home, { recursive: true, force: true })
    }
    second.child.kill('SIGINT')
    expect(await stopped(second.child), `${second.out()}\n${second.err()}`).toBe(0)
  }, 300_000)
})
