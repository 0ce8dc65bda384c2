/**
 * The pull zone asks nodes to pin what it hashes, and pays the nodes that serve it — all real
 * processes: anvil with the escrow, `bitcdn hub` (catalogue and tracker), two `bitcdn node`
 * processes that opted in to auto-pin the hub's catalogue from the gateway's publisher address
 * (one free, without a chain; one paid only), a real HTTP origin, and `bitcdn gateway --origin --hub
 * --account --max-price --budget` paying from its escrow deposit.
 *
 * First request: proxied from the origin; the gateway hashes the object, announces it signed to
 * the hub catalogue; the nodes pick it up, fetch the .torrent from the gateway (`xs`) and the data
 * from the origin (the torrent's web seed). Then the origin is stopped and the object is served
 * from the swarm, byte for byte. A second object is pinned by the paid node alone (the free one is
 * stopped): served from it with the origin stopped, paid for in cheques (spend in the gateway's
 * metrics), with an allocation to that node on chain within the budget.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Address } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { escrowAbi, writeDeployment, writeKeystoreFile } from '@bitcdn/pay'
import { requireTools } from '../interop/helpers/clients.js'
import { removeDir, tempDir } from '../interop/helpers/data.js'
import { stopAll, type TestProcess } from '../interop/helpers/processes.js'
import { startPayChain, type PayChain } from '../pay/helpers.js'
import { testData } from '../swarm/swarm-helpers.js'
import { PASSPHRASE, admin, freePort, metric, runBitcdn, startBitcdn, startNodeProcess, until, type RunningNodeProcess } from '../node/helpers.js'
import { request, startOrigin, type Origin } from './helpers.js'

const MiB = 2 ** 20
const A = testData(3 * MiB + 12_345, 'pinned-a')
const B = testData(2 * MiB + 999, 'pinned-b')
let chain: PayChain
let dir: string
let originPort: number
let origin: Origin | undefined
let hubUrl: string
let trackerUrl: string
let gateway: TestProcess
let gatewayUrl: string
let payer: Address
const nodes: { home: string; node: RunningNodeProcess; payee: Address }[] = []

const startTheOrigin = async () => {
  origin = await startOrigin(join(dir, 'origin'), { port: originPort, headers: () => ({ 'cache-control': 'public, max-age=3600' }) })
}

async function startNode(name: string, free: boolean): Promise<{ home: string; node: RunningNodeProcess; payee: Address }> {
  const home = join(dir, name)
  mkdirSync(home)
  // the free node has no chain: it serves by its free policy only
  if (!free) await writeDeployment(join(home, 'deployment.json'), chain.deployment)
  const args = ['node', 'init', '--scrypt-n', '1024', '--listen-host', '127.0.0.1', '--port', '0', '--admin-port', String(await freePort()), '--price', '0.5', '--quota', '64MiB', '--tracker', trackerUrl]
  const init = await runBitcdn(home, free ? [...args, '--free'] : args)
  expect(init.code).toBe(0)
  const payee = init.stdout.match(/^node address\s+(0x[0-9a-fA-F]{40})/m)![1] as Address
  const configFile = join(home, 'node', 'config.toml')
  const config = readFileSync(configFile, 'utf8')
    .replace(/^hubs = \[\]$/m, `hubs = ["${hubUrl}"]`)
    .replace(/^publishers = \[\]$/m, `publishers = ["${payer}"]`)
    .replace(/^quota = "0"$/m, 'quota = "32MiB"')
    .replace(/^interval_s = 30$/m, 'interval_s = 0.5')
    // the gateway's .torrent URL is on loopback here: a lab setting, allowed explicitly
    .replace(/^allow_private_sources = false$/m, 'allow_private_sources = true')
  expect(config).toContain(`publishers = ["${payer}"]`)
  expect(config).toContain('allow_private_sources = true')
  writeFileSync(configFile, config)
  return { home, node: await startNodeProcess(home), payee }
}

/** The node holds the torrent complete (its admin API status). */
async function holds(n: { home: string; node: RunningNodeProcess }, infoHash: string): Promise<boolean> {
  const s = (await (await admin(n.home, n.node.adminUrl, '/status')).json()) as { torrents: { infoHash: string; progress?: number; pinned: boolean }[] }
  const t = s.torrents.find((x) => x.infoHash === infoHash)
  return t !== undefined && t.pinned && t.progress === 1
}

beforeAll(async () => {
  requireTools(['cli'])
  chain = await startPayChain()
  dir = tempDir('gateway-pinning-')
  mkdirSync(join(dir, 'origin'))
  writeFileSync(join(dir, 'origin', 'a.bin'), A)
  writeFileSync(join(dir, 'origin', 'b.bin'), B)
  originPort = await freePort()
  await startTheOrigin()
  // the hub: catalogue API and tracker
  const hubHome = join(dir, 'hub')
  mkdirSync(hubHome)
  const [apiPort, trackerPort] = [await freePort(), await freePort()]
  const hub = startBitcdn(hubHome, ['hub', '--port', String(apiPort), '--tracker-port', String(trackerPort), '--no-chain', '--no-web', '--probe-interval', '0', '--hub-id', 'pinning-test'])
  await hub.waitFor(/^announce\s+http/m, 60_000)
  hubUrl = `http://127.0.0.1:${apiPort}`
  trackerUrl = `http://127.0.0.1:${trackerPort}/announce`
  // the gateway's key (anvil account 1) with 5 USDC in escrow
  const gwHome = join(dir, 'gateway')
  const key = chain.accounts[1]!
  payer = privateKeyToAccount(key.privateKey).address
  await writeKeystoreFile(join(gwHome, 'keys', 'gw.json'), key.privateKey, PASSPHRASE, { scryptN: 1024 })
  await writeDeployment(join(gwHome, 'deployment.json'), chain.deployment)
  await chain.deposit(key.privateKey, 5_000_000n)
  nodes.push(await startNode('node-free', true), await startNode('node-paid', false))
  gateway = startBitcdn(gwHome, [
    'gateway', '--port', '0', '--origin', origin!.url, '--tracker', trackerUrl, '--no-warm-cache', '--hedge-delay', '10000', '--piece-timeout', '60',
    '--account', 'gw', '--max-price', '1', '--budget', '0.5', '--allocation', '0.001', '--hub', hubUrl,
  ])
  gatewayUrl = (await gateway.waitFor(/gateway listening on (http:\/\/\S+)/, 60_000))[1]!
}, 240_000)

afterAll(async () => {
  if (process.env.BITCDN_TEST_LOGS) writeFileSync(process.env.BITCDN_TEST_LOGS, [gateway?.stdout() ?? '', ...nodes.map((n) => n.node.proc.stdout())].join('\n=====\n'))
  await origin?.stop()
  await stopAll()
  await chain?.anvil.stop()
  if (dir) removeDir(dir)
})

describe('pull zone: nodes pin what the gateway hashes', () => {
  it('first request from the origin → nodes auto-pin from the hub catalogue → origin stopped → served from the swarm', async () => {
    const first = await request(`${gatewayUrl}/a.bin`)
    expect(first.status).toBe(200)
    expect(first.body.equals(A)).toBe(true)
    // the catalogue names it, published by the gateway's key
    let infoHash = ''
    await until('the catalogue entry', async () => {
      const c = (await (await fetch(`${hubUrl}/api/v1/catalogue`)).json()) as { entries: { infoHash: string; publisher: string; name: string; magnet: string }[] }
      const e = c.entries.find((x) => x.name === 'a.bin')
      if (e === undefined) return false
      expect(e.publisher).toBe(payer)
      expect(e.magnet).toContain(`xs=${encodeURIComponent(`${gatewayUrl}/torrents/${e.infoHash}`)}`)
      expect(e.magnet).toContain(`ws=${encodeURIComponent(`${origin!.url}/a.bin`)}`)
      infoHash = e.infoHash
      return true
    })
    for (const n of nodes) await until(`${n.home} holds a.bin`, () => holds(n, infoHash), 120_000)
    await origin!.stop()
    origin = undefined
    const second = await request(`${gatewayUrl}/a.bin`)
    expect(second.status).toBe(200)
    expect(second.headers['x-bitcdn-infohash']).toBe(infoHash)
    expect(second.body.equals(A)).toBe(true)
    const m = (await request(`${gatewayUrl}/metrics`)).body.toString()
    expect(metric(m, 'bitcdn_gateway_piece_bytes_total', '{source="swarm"}')).toBe(A.length)
    expect(metric(m, 'bitcdn_gateway_piece_bytes_total', '{source="origin"}')).toBe(0)
    expect(metric(m, 'bitcdn_gateway_pin_requests_total', '{via="catalogue",result="ok"}')).toBe(1)
    for (const n of nodes) {
      const nm = await (await admin(n.home, n.node.adminUrl, '/metrics')).text()
      expect(metric(nm, 'bitcdn_auto_pins_total', '{outcome="pinned"}')).toBe(1)
    }
  }, 300_000)

  it('a paid node alone serves the next object with the origin stopped; the gateway pays it and allocates to it within the budget', async () => {
    const [free, paid] = nodes
    await free!.node.proc.stop()
    await startTheOrigin()
    const first = await request(`${gatewayUrl}/b.bin`)
    expect(first.status).toBe(200)
    expect(first.body.equals(B)).toBe(true)
    let infoHash = ''
    await until('the catalogue entry for b.bin', async () => {
      const c = (await (await fetch(`${hubUrl}/api/v1/catalogue`)).json()) as { entries: { infoHash: string; name: string }[] }
      infoHash = c.entries.find((x) => x.name === 'b.bin')?.infoHash ?? ''
      return infoHash !== ''
    })
    await until('the paid node holds b.bin', () => holds(paid!, infoHash), 120_000)
    await origin!.stop()
    origin = undefined
    const m0 = (await request(`${gatewayUrl}/metrics`)).body.toString()
    const before = metric(m0, 'bitcdn_gateway_piece_bytes_total', '{source="swarm"}')
    const spentBefore = metric(m0, 'bitcdn_gateway_spend_token_units_total')
    const r = await request(`${gatewayUrl}/b.bin`)
    expect(r.status).toBe(200)
    expect(r.body.equals(B)).toBe(true)
    // 0.5 USDC per GiB for every byte the paid node delivered (cumulative cheques round down
    // on the running total, so this object's share is within a unit of its own value)
    const owed = Number((BigInt(B.length) * 500_000n) / 2n ** 30n)
    let m = ''
    await until('the cheques for b.bin', async () => {
      m = (await request(`${gatewayUrl}/metrics`)).body.toString()
      return metric(m, 'bitcdn_gateway_spend_token_units_total') - spentBefore >= owed
    })
    expect(metric(m, 'bitcdn_gateway_piece_bytes_total', '{source="swarm"}') - before).toBe(B.length)
    const spent = metric(m, 'bitcdn_gateway_spend_token_units_total')
    expect(spent - spentBefore).toBeLessThanOrEqual(owed + 1)
    // steady business: a hard allocation to the paid node, 0.001 USDC, far below the 0.5 budget
    await until('the allocation on chain', async () => {
      const [amount] = (await chain.publicClient.readContract({ address: chain.deployment.escrow, abi: escrowAbi, functionName: 'allocation', args: [payer, paid!.payee, chain.deployment.tokens.USDC] })) as readonly [bigint, bigint, bigint]
      return amount === 1000n
    })
    const earned = (await (await admin(paid!.home, paid!.node.adminUrl, '/earnings')).json()) as { payers: { payer: string; accruedUnits: string }[] }
    // every unit the gateway paid reached the paid node's ledger (the free node charges nothing)
    expect(Number(earned.payers.find((p) => p.payer === payer)?.accruedUnits ?? '0')).toBe(spent)
  }, 300_000)
})
