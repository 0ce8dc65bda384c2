/**
 * The website against a hub that reads a real chain and watches a real gateway (Debian's chromium,
 * playwright-core): the onboarding check lists a node's claims as the escrow logged them on anvil
 * — amount, block, a working transaction link — after the node's cash-out sent a real claim; the
 * network page's offload-ratio figure and chart move as the gateway serves from its origin and
 * then from its cache.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { tokenUnits } from '@bitcdn/core'
import { createTorrent } from '@bitcdn/content'
import { createGateway, type Gateway } from '@bitcdn/gateway'
import { createHub, openSqliteHubStore, signRegistration, type Hub } from '@bitcdn/hub'
import { createCashout, createPayeeLedger, createPayerWallet, createPrivateKeyChequeSigner } from '@bitcdn/pay'
import { privateKeyToAccount } from 'viem/accounts'
import { startPayChain, type PayChain } from '../pay/helpers.js'
import { startOrigin, type Origin } from '../gateway/helpers.js'
import { testData } from '../swarm/swarm-helpers.js'

const CHROMIUM = '/usr/bin/chromium'
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const SHOTS = join(ROOT, 'test', 'web', 'screenshots')
if (!existsSync(CHROMIUM)) console.warn(`website claims test skipped: ${CHROMIUM} is not installed (apt-get install chromium; .ci/run does)`)

const work = mkdtempSync(join(tmpdir(), 'bitcdn-web-claims-'))
const dist = join(work, 'dist')
let offset = 0
const now = () => Date.now() + offset
let chain: PayChain
let hub: Hub
let browser: Browser
let gateway: Gateway
let origin: Origin
const errors: string[] = []

beforeAll(async () => {
  const local = join(ROOT, 'packages', 'web', 'node_modules', '.bin', 'vite')
  const vite = existsSync(local) ? local : join(ROOT, 'node_modules', '.bin', 'vite')
  execFileSync(vite, ['build', '--outDir', dist, '--emptyOutDir', '--logLevel', 'warn'], { cwd: join(ROOT, 'packages', 'web'), stdio: 'inherit' })
  chain = await startPayChain()
  const d = chain.deployment
  hub = await createHub(
    { hubId: 'test', port: 0, trackerPort: false, webRoot: dist, statsIntervalMs: 5000, probeIntervalMs: 0, chain: { rpcUrl: chain.anvil.rpcUrl, chainId: d.chainId, escrow: d.escrow, fromBlock: BigInt(d.deployedAtBlock) } },
    { store: openSqliteHubStore(':memory:'), now },
  )
  await hub.start()
  if (existsSync(CHROMIUM)) browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] })
  mkdirSync(SHOTS, { recursive: true })
})

afterAll(async () => {
  await browser?.close()
  await gateway?.stop()
  await origin?.stop()
  await hub?.stop()
  await chain?.anvil.stop()
  rmSync(work, { recursive: true, force: true })
})

async function open(path: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
  page.on('console', (m) => m.type() === 'error' && errors.push(`${path}: ${m.text()} (${m.location().url})`))
  page.on('pageerror', (e) => errors.push(`${path}: ${e.message}`))
  await page.goto(hub.url + path)
  return page
}

async function tick() {
  offset += 6000
  await hub.tick()
}

describe.skipIf(!existsSync(CHROMIUM))('website with a chain and a gateway', () => {
  it('onboarding check: a node that cashed out sees its claim on-chain, with a link to the transaction', async () => {
    const { deployment: d, accounts, publicClient, testClient } = chain
    const payerKey = accounts[1]!.privateKey
    const payee = accounts[2]!
    const domain = { chainId: d.chainId, verifyingContract: d.escrow }
    await chain.deposit(payerKey, 10_000_000n)
    const wallet = createPayerWallet({ dbPath: join(work, 'payer.db'), signer: createPrivateKeyChequeSigner(payerKey, domain), payer: accounts[1]!.address, domain })
    const ledger = createPayeeLedger({ dbPath: join(work, 'payee.db'), payee: payee.address, domain, tokens: [d.tokens.USDC] })
    const cashout = createCashout({ escrow: d.escrow, thresholdUnits: 1n, confirmations: 1, maxAgeMs: 60_000, watchWithdrawals: false })({ ledger, walletClient: chain.wallet(payee.privateKey), publicClient })
    ledger.accept(await wallet.pay(payee.address, d.tokens.USDC, tokenUnits(1_234_500n)))
    const sent = (await cashout.tick()).sent
    expect(sent).toHaveLength(1)
    await testClient.mine({ blocks: 1 })
    await cashout.tick()
    wallet.close()
    const txHash = String(sent[0])

    const reg = await signRegistration(privateKeyToAccount(payee.privateKey), { payee: payee.address, endpoint: '127.0.0.1:1', pricePerGiB: '500000', token: d.tokens.USDC, chainId: d.chainId, escrow: d.escrow, hub: 'test', timestamp: now() })
    expect((await fetch(`${hub.url}/api/v1/nodes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(reg) })).status).toBe(201)
    await tick()

    const page = await open('/run-a-node')
    await page.getByLabel("Your node's payout address").fill(payee.address)
    await page.getByRole('button', { name: 'Check' }).click()
    const out = page.locator('#check-out')
    await expect.poll(() => out.locator('[data-state="registered"]').count()).toBe(1)
    await expect.poll(() => out.locator('#claimed-total').textContent()).toMatch(/1\.2345 USDC claimed in 1 transaction/)
    const row = out.locator(`table.claims tr[data-tx="${txHash}"]`)
    expect(await row.count()).toBe(1)
    // the node's cash-out claims on the compact path: one CompactClaimed log covers its payers
    expect(await row.textContent()).toMatch(/^1\.2345 USDC\d+0x[0-9a-f]{8}…[0-9a-f]{8}compact \(many payers\)$/)
    await page.screenshot({ path: join(SHOTS, 'run-a-node-claims.png'), fullPage: true })
    // the link opens the hub's reading of that transaction's receipt: the same claim, from the chain
    const href = (await row.locator('a').getAttribute('href'))!
    expect(href).toBe(`/api/v1/chain/tx/${txHash}`)
    const tx = (await (await fetch(hub.url + href)).json()) as { status: string; claims: { event: string; amount: string; payee: string }[] }
    expect(tx.status).toBe('success')
    expect(tx.claims).toEqual([{ event: 'CompactClaimed', amount: '1234500', payee: payee.address }])
    await page.close()
    expect(errors).toEqual([])
  })

  it("network page: the gateways' offload ratio moves from 0 % (origin) to 50 % (the same bytes again, from the cache)", async () => {
    const src = join(work, 'origin')
    mkdirSync(src, { recursive: true })
    const data = testData(512 * 1024, 'offload')
    await writeFile(join(src, 'file.bin'), data)
    origin = await startOrigin(src)
    const m = await createTorrent(join(src, 'file.bin'), { pieceLength: 64 * 1024, urlList: [`${origin.url}/file.bin`] })
    gateway = createGateway({ host: '127.0.0.1', port: 0, cacheDir: join(work, 'cache'), swarm: { stateDir: join(work, 'swarm') }, hedgeDelayMs: 0 })()
    await gateway.start()
    await gateway.content.add(m.torrentFile)
    const page = await open('/network')
    await expect.poll(() => page.locator('#chart-offload').textContent()).toMatch(/watches no gateway/)
    hub.addGateway(gateway.url)
    await tick()
    await expect.poll(() => page.locator('#fig-offloadRatio').textContent()).toBe('—')

    const first = Buffer.from(await (await fetch(`${gateway.url}/t/${m.infoHash}`)).arrayBuffer())
    expect(first.equals(data)).toBe(true)
    await tick()
    await expect.poll(() => page.locator('#fig-offloadRatio').textContent()).toBe('0.0 %')
    const second = Buffer.from(await (await fetch(`${gateway.url}/t/${m.infoHash}`)).arrayBuffer())
    expect(second.equals(data)).toBe(true)
    await tick()
    await expect.poll(() => page.locator('#fig-offloadRatio').textContent()).toBe('50.0 %')
    const stats = (await (await fetch(`${hub.url}/api/v1/stats`)).json()) as { offloadRatio: number; gateways: { url: string; originBytes: number; cacheBytes: number }[] }
    expect(stats.gateways).toEqual([expect.objectContaining({ url: gateway.url, originBytes: data.length, cacheBytes: data.length })])
    // the chart draws the sampled ratio over time: a line through the samples of every tick
    await expect.poll(async () => ((await page.locator('#chart-offload path.line.offload').getAttribute('d')) ?? '').split('L').length).toBeGreaterThanOrEqual(3)
    await page.screenshot({ path: join(SHOTS, 'network-offload.png'), fullPage: true })
    await page.close()
    expect(errors).toEqual([])
  })
})
