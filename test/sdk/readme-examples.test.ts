/**
 * packages/sdk/README.md's examples, run as they are written: every ```js block is extracted and
 * executed in order by `node` (an ES module resolving @bitcdn/sdk from the built workspace)
 * against real servers — anvil with the escrow deployed, a hub (SQLite, reading that chain), an
 * HTTP origin, a gateway, and a `bitcdn node` process priced at 1 USDC/GiB that serves only paying
 * peers. Each example's output and effects are checked: the catalogue entry the hub stored, the
 * node's pin, the bytes through the gateway, and the paid download's cheques as the node's ledger
 * recorded them.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseTorrentFile } from '@bitcdn/content'
import { createGateway, type Gateway } from '@bitcdn/gateway'
import { createHub, openSqliteHubStore, type Hub } from '@bitcdn/hub'
import { keystorePath, readKeystoreFile, writeDeployment } from '@bitcdn/pay'
import { createHubClient, createNodeAdminClient, signRegistration } from '@bitcdn/sdk'
import { depositToEscrow, paidDownload } from '@bitcdn/sdk/node'
import { removeDir, writeRandomFiles } from '../interop/helpers/data.js'
import { requireTools } from '../interop/helpers/clients.js'
import { stopAll } from '../interop/helpers/processes.js'
import { startPayChain, type PayChain } from '../pay/helpers.js'
import { startOrigin, type Origin } from '../gateway/helpers.js'
import { PASSPHRASE, freePort, runBitcdn, startNodeProcess, until, type RunningNodeProcess } from '../node/helpers.js'

const root = join(import.meta.dirname, '..', '..')
const SIZE = 3 * 1024 * 1024
const HUB_ID = 'sdk-readme'

/** The README's ```js blocks, in order, each with the heading above it. */
function examples(): { title: string; code: string }[] {
  const text = readFileSync(join(root, 'packages', 'sdk', 'README.md'), 'utf8')
  const out: { title: string; code: string }[] = []
  let title = ''
  for (const m of text.matchAll(/^### (.+)$|^```js\n([\s\S]*?)^```$/gm)) {
    if (m[1] !== undefined) title = m[1]
    else out.push({ title, code: m[2]! })
  }
  return out
}

function runExample(code: string, cwd: string, env: Record<string, string>, n: number): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = join(cwd, `example-${n}.mjs`)
  writeFileSync(file, code)
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { cwd, env: { ...process.env, ...env }, timeout: 240_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

let chain: PayChain
let dir: string
let run: string
let hub: Hub
let origin: Origin
let gateway: Gateway
let node: RunningNodeProcess
const env: Record<string, string> = {}
const source = () => readFileSync(join(dir, 'src', 'video.bin'))
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

beforeAll(async () => {
  requireTools(['cli'])
  chain = await startPayChain({ withdrawDelaySeconds: 3600 })
  const { deployment } = chain
  dir = mkdtempSync(join(root, 'test', 'sdk', '.readme-'))
  // examples run inside the repository so `@bitcdn/sdk` resolves from its node_modules
  run = join(dir, 'run')
  mkdirSync(run)
  writeRandomFiles(join(dir, 'src'), { 'video.bin': SIZE })

  hub = await createHub({ hubId: HUB_ID, port: 0, trackerPort: false, probeIntervalMs: 0, chain: { rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, escrow: deployment.escrow } }, { store: openSqliteHubStore(join(dir, 'hub.sqlite')) })
  await hub.start()
  origin = await startOrigin(join(dir, 'src'))
  gateway = createGateway({ cacheDir: join(dir, 'gateway'), port: 0, swarm: { port: 0, stateDir: join(dir, 'gateway-swarm') }, hedgeDelayMs: 300 })({})
  await gateway.start()

  // the node: a real `bitcdn node` on this chain, 1 USDC per GiB, nothing free
  const home = join(dir, 'home')
  mkdirSync(home)
  await writeDeployment(join(home, 'deployment.json'), deployment)
  const init = await runBitcdn(home, ['node', 'init', '--scrypt-n', '1024', '--listen-host', '127.0.0.1', '--port', '0', '--admin-port', String(await freePort()), '--price', '1'])
  expect(init.code, init.stderr).toBe(0)
  node = await startNodeProcess(home)
  const token = readFileSync(join(home, 'node', 'admin-token'), 'utf8').trim()
  // the node registers with the hub, signed by its payout key, through the SDK
  const key = await readKeystoreFile(keystorePath(home, 'node'), PASSPHRASE)
  const signed = await signRegistration(privateKeyToAccount(key.privateKey), {
    payee: key.address,
    endpoint: `127.0.0.1:${node.port}`,
    pricePerGiB: '1000000',
    token: deployment.tokens.USDC,
    chainId: deployment.chainId,
    escrow: deployment.escrow,
    hub: HUB_ID,
    timestamp: Date.now(),
  })
  await createHubClient({ url: hub.url }).register(signed)
  await hub.tick()

  await writeDeployment(join(dir, 'deployment.json'), deployment)
  Object.assign(env, {
    BITCDN_HUB_URL: hub.url,
    BITCDN_GATEWAY_URL: gateway.url,
    BITCDN_NODE_ADMIN_URL: node.adminUrl,
    BITCDN_NODE_TOKEN: token,
    BITCDN_PUBLISHER_KEY: chain.accounts[4]!.privateKey,
    BITCDN_PAYER_KEY: chain.accounts[5]!.privateKey,
    BITCDN_CONTENT: join(dir, 'src', 'video.bin'),
    BITCDN_ORIGIN: `${origin.url}/`,
    BITCDN_DEPLOYMENT: join(dir, 'deployment.json'),
  })
}, 240_000)

afterAll(async () => {
  await gateway?.stop()
  await hub?.stop()
  await origin?.stop()
  await stopAll()
  await chain?.anvil.stop()
  removeDir(dir)
})

describe('packages/sdk/README.md examples', () => {
  const blocks = examples()
  const at = (title: string) => {
    const i = blocks.findIndex((b) => b.title.startsWith(title))
    if (i < 0) throw new Error(`README has no example "${title}"`)
    return { n: i, code: blocks[i]!.code }
  }
  const exec = async (title: string) => {
    const { n, code } = at(title)
    const r = await runExample(code, run, env, n)
    expect(r.code, `example "${title}" failed:\n${r.stderr}`).toBe(0)
    return r.stdout
  }

  it('has the examples the tests expect, and runs every one of them', () => {
    expect(blocks.length).toBe(6)
  })

  it('reads the network from the hub (statistics, the registered node, the live feed)', async () => {
    const out = await exec('Read the network')
    expect(out).toMatch(/^nodes online: 1; bytes proven by claimed cheques: 0$/m)
    expect(out).toContain(`at 127.0.0.1:${node.port}, 1000000 units/GiB`)
    expect(out).toMatch(/^live: 1 nodes at \d{4}-/m)
  })

  it('catches a typed API error by its BITCDN_ERR code', async () => {
    const out = await exec('Errors carry')
    expect(out.trim()).toBe('unknown node: BITCDN_ERR_HUB_NODE_UNKNOWN (HTTP 404)')
  })

  it('publishes: web seed at the origin, a signed catalogue entry on the hub, pinned by the node', async () => {
    const out = await exec('Publish')
    const torrent = readFileSync(join(run, 'published.torrent'))
    const m = parseTorrentFile(torrent)
    expect(out.trim()).toBe(`published ${m.infoHash} as "video.bin"; pinned by 1 of 1 node(s)`)
    expect(m.urlList).toEqual([`${origin.url}/`])
    expect(m.length).toBe(SIZE)
    const entries = await createHubClient({ url: hub.url }).catalogue()
    expect(entries.map((e) => [e.infoHash, e.publisher, e.length, e.description])).toEqual([[m.infoHash, chain.accounts[4]!.address, String(SIZE), 'a sample video']])
    // the node fetched it from the origin web seed, whole
    const admin = createNodeAdminClient({ url: node.adminUrl, token: env.BITCDN_NODE_TOKEN! })
    await until('the node holds the pinned content', async () => (await admin.status()).torrents.some((t) => t.infoHash === m.infoHash && t.pinned && t.done === true), 120_000)
    expect(origin.hits.get('/video.bin') ?? 0).toBeGreaterThan(0)
    env.BITCDN_INFO_HASH = m.infoHash
    await gateway.content.add(torrent)
  }, 240_000)

  it('fetches a range and streams the whole file from the gateway', async () => {
    const out = await exec('Fetch and stream')
    expect(out.trim()).toBe(`range: 1024 bytes; stream: ${SIZE} of ${SIZE} bytes of application/octet-stream`)
  }, 240_000)

  it('saves the gateway stream to a file through a Node stream', async () => {
    const out = await exec('Save to a file')
    expect(out.trim()).toBe('saved from-gateway.bin')
    expect(sha(readFileSync(join(run, 'from-gateway.bin')))).toBe(sha(source()))
  }, 240_000)

  it('downloads from the paid node with a wallet, paying for exactly the verified bytes', async () => {
    const out = await exec('A paid P2P download')
    expect(sha(readFileSync(join(run, 'downloads', 'video.bin')))).toBe(sha(source()))
    const payee = out.match(/^paid (0x[0-9a-fA-F]{40}) (\d+) units for (\d+) verified bytes$/m)
    expect(payee, out).not.toBeNull()
    const paid = BigInt(payee![2]!)
    // 1 USDC/GiB: ⌊bytes × 1,000,000 / 2^30⌋
    expect(paid).toBe((BigInt(payee![3]!) * 1_000_000n) / 2n ** 30n)
    expect(paid).toBeGreaterThan(0n)
    expect(out).toMatch(new RegExp(`^downloaded video.bin \\(${SIZE} bytes\\) into downloads, spent ${paid} units$`, 'm'))
    // the node's ledger holds the payer's cheques up to what it was paid
    const admin = createNodeAdminClient({ url: node.adminUrl, token: env.BITCDN_NODE_TOKEN! })
    const payer = chain.accounts[5]!.address
    await until('the node recorded the cheques', async () => (await admin.earnings()).payers.some((p) => p.payer === payer && BigInt(p.accruedUnits ?? '0') === paid), 30_000)
  }, 300_000)

  // the same node and torrent, driven from here: the buyer's limits are the SDK user's protection
  const buyFrom = async (accountIndex: number, over: { maxPricePerGiB: bigint; budget: bigint }) => {
    const { deployment } = chain
    const key = chain.accounts[accountIndex]!.privateKey
    await depositToEscrow({ rpcUrl: deployment.rpcUrl, escrow: deployment.escrow, token: deployment.tokens.USDC, privateKey: key, amount: 1_000_000n })
    const out = join(dir, `buyer-${accountIndex}`)
    const err = await paidDownload({
      torrent: readFileSync(join(run, 'published.torrent')),
      dir: out,
      privateKey: key,
      walletPath: join(dir, `wallet-${accountIndex}.db`),
      chain: { chainId: deployment.chainId, escrow: deployment.escrow, token: deployment.tokens.USDC },
      peers: [`127.0.0.1:${node.port}`],
      webSeeds: false,
      stallTimeoutMs: 5000,
      ...over,
    }).then(() => undefined, (e: unknown) => e as Error & { code?: string; details?: Record<string, unknown> })
    const earnings = await createNodeAdminClient({ url: node.adminUrl, token: env.BITCDN_NODE_TOKEN! }).earnings()
    const accrued = BigInt(earnings.payers.find((p) => p.payer === chain.accounts[accountIndex]!.address)?.accruedUnits ?? '0')
    return { err, accrued }
  }

  // the two buyers below have their own accounts, wallets and directories: they wait out their
  // 5 s stall side by side
  it.concurrent('a node priced above the buyer\'s maximum is never paid: the download stalls with BITCDN_ERR_SDK_DOWNLOAD_STALLED', async ({ expect }) => {
    const { err, accrued } = await buyFrom(6, { maxPricePerGiB: 999_999n, budget: 1_000_000n })
    expect(err?.code).toBe('BITCDN_ERR_SDK_DOWNLOAD_STALLED')
    expect(err?.details?.spent).toBe('0')
    expect(accrued).toBe(0n)
  }, 120_000)

  it.concurrent('a budget below the content\'s price is never exceeded: the download stops short, spent ≤ budget', async ({ expect }) => {
    const budget = 1_000n // about a third of the 3 MiB at 1 USDC/GiB (2,929 units)
    const { err, accrued } = await buyFrom(7, { maxPricePerGiB: 2_000_000n, budget })
    expect(err?.code).toBe('BITCDN_ERR_SDK_DOWNLOAD_STALLED')
    const spent = BigInt(String(err?.details?.spent))
    expect(spent).toBeGreaterThan(0n)
    expect(spent).toBeLessThanOrEqual(budget)
    expect(accrued).toBeLessThanOrEqual(budget)
  }, 120_000)
})
