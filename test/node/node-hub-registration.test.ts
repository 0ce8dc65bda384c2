/**
 * A real `bitcdn node start` process registers itself with a real hub named in its config
 * (`bitcdn node init --hub URL`): signed by its payout key, listed by the hub with its endpoint,
 * price and pinned content, refreshed (lastSeen moves, the pin shows up), and a hub of another
 * network is refused with one clear log line while the node keeps running.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHub, openSqliteHubStore, type Hub } from '@bitcdn/hub'
import { writeDeployment } from '@bitcdn/pay'
import { startPayChain, type PayChain } from '../pay/helpers.js'
import { admin, freePort, runBitcdn, startNodeProcess, until, type RunningNodeProcess } from './helpers.js'
import { makeTorrent, testData } from '../swarm/swarm-helpers.js'

interface Listed {
  payee: string
  endpoint: string
  pricePerGiB: string
  pinned: string[]
  lastSeen: number
  version: string
  escrow: string
}

describe('bitcdn node registers itself with its hubs', () => {
  let chain: PayChain
  let hub: Hub
  let otherHub: Hub
  let home: string
  let node: RunningNodeProcess | undefined
  let payee: string
  beforeAll(async () => {
    chain = await startPayChain()
    home = await mkdtemp(join(tmpdir(), 'bitcdn-node-hubreg-'))
    const mk = async (chainId: number) =>
      createHub({ hubId: 'test', port: 0, trackerPort: false, probeIntervalMs: 0, statsIntervalMs: 60_000, chain: { rpcUrl: chain.anvil.rpcUrl, chainId, escrow: chain.deployment.escrow } }, { store: openSqliteHubStore(join(home, `hub-${chainId}.sqlite`)) })
    hub = await mk(chain.deployment.chainId)
    otherHub = await mk(chain.deployment.chainId + 1) // another network: must refuse this node
    await hub.start()
    await otherHub.start()
    await writeDeployment(join(home, 'deployment.json'), chain.deployment)
    const init = await runBitcdn(home, ['node', 'init', '--scrypt-n', '1024', '--port', '0', '--admin-port', String(await freePort()), '--price', '0.75', '--hub', hub.url, '--hub', otherHub.url])
    expect(init.stderr).toBe('')
    payee = /node address\s+(0x[0-9a-fA-F]{40})/.exec(init.stdout)![1]!
  })
  afterAll(async () => {
    await node?.proc.stop()
    await hub?.stop()
    await otherHub?.stop()
    await chain?.anvil.stop()
    await rm(home, { recursive: true, force: true })
  })

  it('is listed by the hub once started, with its endpoint, price and escrow, signed by its payout key', async () => {
    node = await startNodeProcess(home)
    // registration runs in the background right after start-up
    await until('the hub to list the node', async () => (await fetch(`${hub.url}/api/v1/nodes/${payee}`)).status === 200, 20_000)
    const first = (await (await fetch(`${hub.url}/api/v1/nodes/${payee}`)).json()) as Listed
    expect(first.payee).toBe(payee)
    expect(first.endpoint).toBe(`127.0.0.1:${node.port}`)
    expect(first.pricePerGiB).toBe('750000')
    expect(first.escrow).toBe(chain.deployment.escrow)
    expect(first.version).toMatch(/^bitcdn\/\d+\.\d+\.\d+$/)
    const stats = await hub.tick()
    expect(stats.nodesOnline).toBe(1)
    expect(stats.prices).toEqual(['750000'])
  })

  it('a hub of another chain is not sent a registration: one warn line with the code, the node keeps running', async () => {
    await until('the warn line', () => node!.proc.stdout().includes('BITCDN_ERR_NODE_HUB_REGISTRATION'), 20_000)
    const listed = (await (await fetch(`${otherHub.url}/api/v1/nodes`)).json()) as { nodes: Listed[] }
    expect(listed.nodes).toEqual([])
    const warn = node!.proc.stdout().split('\n').find((l) => l.includes('BITCDN_ERR_NODE_HUB_REGISTRATION'))
    expect(warn).toBeDefined()
    expect(JSON.parse(warn!)).toMatchObject({ hub: otherHub.url, detail: expect.stringContaining(`this node is on chain ${chain.deployment.chainId}`) })
    expect((await admin(home, node!.adminUrl, '/status')).status).toBe(200)
  })

  it('refreshes: after a pin and a restart the hub lists the pinned content with a newer lastSeen', async () => {
    const before = (await (await fetch(`${hub.url}/api/v1/nodes/${payee}`)).json()) as Listed
    const dir = join(home, 'content')
    const data = testData(256 * 1024, 'hub-registration')
    const metainfo = await makeTorrent(data, { name: 'pinned.bin' })
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'pinned.bin'), data)
    const pin = await admin(home, node!.adminUrl, '/pins', { method: 'POST', body: { torrent: Buffer.from(metainfo.torrentFile).toString('base64'), dir } })
    expect(pin.status).toBeLessThan(300)
    // a restart registers at once (the periodic refresh is a minute)
    await node!.proc.stop()
    node = await startNodeProcess(home)
    await until('the hub to list the pin', async () => ((await (await fetch(`${hub.url}/api/v1/nodes/${payee}`)).json()) as Listed).pinned.includes(metainfo.infoHash), 20_000)
    const after = (await (await fetch(`${hub.url}/api/v1/nodes/${payee}`)).json()) as Listed
    expect(after.lastSeen).toBeGreaterThan(before.lastSeen)
    expect(after.endpoint).toBe(`127.0.0.1:${node.port}`)
  })
})
