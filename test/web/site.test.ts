/**
 * The website in Debian's headless `chromium` (playwright-core) against a real hub (SQLite in
 * memory, real HTTP and SSE, real probes over TCP) serving a fresh `vite build` of packages/web:
 * every page renders without console errors; the network page's figures and charts move when nodes
 * register and the hub ticks; the onboarding check finds a registered node (with its probe result)
 * and reports an unregistered one; the estimate refuses to invent demand; no layout shift.
 * Screenshots of each page go to test/web/screenshots/ (gitignored).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { createHub, openSqliteHubStore, signRegistration, type Hub } from '@bitcdn/hub'

const CHROMIUM = '/usr/bin/chromium'
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const SHOTS = join(ROOT, 'test', 'web', 'screenshots')
const ESCROW = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const TOKEN = '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512'

if (!existsSync(CHROMIUM)) console.warn(`website test skipped: ${CHROMIUM} is not installed (apt-get install chromium; .ci/run does)`)

// the hub's clock runs ahead on each tick, so each tick lands in a new sample bucket
let offset = 0
const now = () => Date.now() + offset
const dist = mkdtempSync(join(tmpdir(), 'bitcdn-web-'))
let hub: Hub
let browser: Browser
let listener: Server
let listenerPort = 0
const errors: string[] = []
/** Addresses the test looks up knowing no node has them. */
const unregistered: string[] = []

beforeAll(async () => {
  const local = join(ROOT, 'packages', 'web', 'node_modules', '.bin', 'vite')
  const vite = existsSync(local) ? local : join(ROOT, 'node_modules', '.bin', 'vite')
  execFileSync(vite, ['build', '--outDir', dist, '--emptyOutDir', '--logLevel', 'warn'], { cwd: join(ROOT, 'packages', 'web'), stdio: 'inherit' })
  hub = await createHub({ hubId: 'test', port: 0, trackerPort: 0, webRoot: dist, statsIntervalMs: 5000, probeIntervalMs: 0 }, { store: openSqliteHubStore(':memory:'), now })
  await hub.start()
  // a TCP listener that accepts and says nothing: reachable, but no BitTorrent behind it
  listener = createServer((s) => s.on('error', () => {}))
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r))
  listenerPort = (listener.address() as { port: number }).port
  if (existsSync(CHROMIUM)) browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] })
  mkdirSync(SHOTS, { recursive: true })
})

beforeEach(() => {
  errors.length = 0
})

afterAll(async () => {
  await browser?.close()
  await hub?.stop()
  await new Promise((r) => listener?.close(r))
  rmSync(dist, { recursive: true, force: true })
})

async function open(path: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
  page.on('console', (m) => {
    // the one expected error: Chromium logs the hub's 404 for a payout address no node registered
    if (m.type() !== 'error' || (m.text().includes('404') && unregistered.some((a) => m.location().url.endsWith(`/api/v1/nodes/${a}`)))) return
    errors.push(`${path}: ${m.text()} (${m.location().url})`)
  })
  page.on('pageerror', (e) => errors.push(`${path}: ${e.message}`))
  // cumulative layout shift, as the browser measures it
  await page.addInitScript(() => {
    const w = window as unknown as { cls: number }
    w.cls = 0
    new PerformanceObserver((l) => {
      for (const e of l.getEntries() as unknown as { value: number; hadRecentInput: boolean }[]) if (!e.hadRecentInput) w.cls += e.value
    }).observe({ type: 'layout-shift', buffered: true })
  })
  await page.goto(hub.url + path)
  return page
}

async function register(price: string, served: string, endpoint: string) {
  const acct = privateKeyToAccount(generatePrivateKey())
  const body = await signRegistration(acct, { payee: acct.address, endpoint, pricePerGiB: price, token: TOKEN, chainId: 31337, escrow: ESCROW, hub: 'test', timestamp: now(), servedBytes: served })
  const res = await fetch(`${hub.url}/api/v1/nodes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  expect(res.status).toBe(201)
  return acct.address
}

async function tick() {
  offset += 6000
  await hub.tick()
}

describe.skipIf(!existsSync(CHROMIUM))('website', () => {
  it('serves every page from the hub, each rendering its heading without console errors', async () => {
    for (const [path, heading] of [['/', 'Content delivery paid per verified byte'], ['/run-a-node', 'Run a node'], ['/network', 'Network'], ['/developers', 'Developers']] as const) {
      const page = await open(path)
      await expect.poll(() => page.locator('h1').textContent()).toBe(heading)
      expect(await page.title()).toMatch(/BitCDN/)
      await page.close()
    }
    expect(errors).toEqual([])
  })

  it('network page: figures and charts move as nodes register and the hub ticks (SSE)', async () => {
    const page = await open('/network')
    await expect.poll(() => page.locator('#live-state').textContent()).toMatch(/updated/)
    const before = await page.locator('#fig-nodesOnline').textContent()
    const nodes0 = Number(before)
    await register('500000', String(3 * 2 ** 30), `127.0.0.1:${listenerPort}`)
    await tick()
    await register('1500000', String(2 ** 30), '127.0.0.1:1')
    await tick()
    await expect.poll(() => page.locator('#fig-nodesOnline').textContent(), { timeout: 10_000 }).toBe(String(nodes0 + 2))
    await expect.poll(() => page.locator('#fig-bytesServedReported').textContent()).toBe('4.00 GiB')
    await expect.poll(() => page.locator('#fig-priceMedian').textContent()).toBe('1.5 USDC / GiB')
    // the nodes-online line has samples from both ticks; the price histogram has a bar per price
    await expect.poll(() => page.locator('#chart-nodes path.line').count()).toBe(1)
    await expect.poll(async () => ((await page.locator('#chart-nodes path.line').getAttribute('d')) ?? '').split('L').length).toBeGreaterThanOrEqual(3)
    expect(await page.locator('#chart-prices rect.bar').count()).toBe(2)
    expect(await page.locator('#chart-bytes path.line.reported').count()).toBe(1)
    await page.screenshot({ path: join(SHOTS, 'network.png'), fullPage: true })
    const cls = await page.evaluate(() => (window as unknown as { cls: number }).cls)
    expect(cls).toBeLessThan(0.1)
    await page.close()
    expect(errors).toEqual([])
  })

  it('onboarding check: finds a registered node with its probe results, reports an unregistered one', async () => {
    const reachable = await register('250000', '1048576', `127.0.0.1:${listenerPort}`)
    await hub.probeAll()
    const page = await open('/run-a-node')
    await page.getByLabel("Your node's payout address").fill(reachable)
    await page.getByRole('button', { name: 'Check' }).click()
    const out = page.locator('#check-out')
    await expect.poll(() => out.locator('[data-state="registered"]').count()).toBe(1)
    const text = (await out.textContent()) ?? ''
    expect(text).toContain(reachable)
    expect(text).toContain('0.25 USDC / GiB')
    expect(text).toContain('1.00 MiB')
    expect(text).toContain('✔ reachable')
    expect(text).toContain('✘ BitTorrent handshake')
    expect(text).toContain('no pinned torrent to handshake for')

    const stranger = privateKeyToAccount(generatePrivateKey()).address
    unregistered.push(stranger)
    await page.getByLabel("Your node's payout address").fill(stranger)
    await page.keyboard.press('Enter')
    await expect.poll(() => out.locator('[data-state="unregistered"]').count()).toBe(1)
    expect(await out.textContent()).toContain(stranger)

    await page.getByLabel("Your node's payout address").fill('0x1234')
    await page.getByRole('button', { name: 'Check' }).click()
    await expect.poll(() => out.textContent()).toMatch(/Not an address/)
    await page.screenshot({ path: join(SHOTS, 'run-a-node.png'), fullPage: true })
    await page.close()
    expect(errors).toEqual([])
  })

  it('onboarding check shows an unreachable node as registered but failing its probe, with the reason', async () => {
    const dead = await register('100000', '0', '127.0.0.1:1')
    await hub.probeAll()
    const page = await open('/run-a-node')
    await page.getByLabel("Your node's payout address").fill(dead)
    await page.getByRole('button', { name: 'Check' }).click()
    const out = page.locator('#check-out')
    await expect.poll(() => out.locator('[data-state="registered"]').count()).toBe(1)
    expect(await out.textContent()).toMatch(/✘ reachable[\s\S]*connect to 127\.0\.0\.1:1 failed/)
    await page.close()
  })

  it('earnings estimate: zero with its reason and inputs when no bytes were proven (no chain), never an invented figure', async () => {
    const page = await open('/run-a-node')
    const est = page.locator('#est-out')
    await expect.poll(() => est.textContent()).toMatch(/per day/)
    expect(await est.textContent()).toMatch(/^\s*0 USDC per day — the hub has sampled less than a minute/)
    for (let i = 0; i < 10; i++) await tick()
    await page.getByRole('button', { name: 'Estimate' }).click()
    await expect.poll(() => est.textContent()).toMatch(/no bytes were proven/)
    const text = (await est.textContent()) ?? ''
    expect(text).toMatch(/^\s*0 USDC per day — no bytes were proven by claimed cheques in the window/)
    expect(text).toMatch(/last 1\.\d h of samples|last 0\.\d h of samples/)
    expect(text).toContain('Nodes online (you would be one more)')
    await page.getByLabel('Your price, USDC per GiB').fill('abc')
    await page.getByRole('button', { name: 'Estimate' }).click()
    await expect.poll(() => est.textContent()).toMatch(/Enter a price/)
    await page.close()
    expect(errors).toEqual([])
  })

  it('developers page lists the hub endpoints from its OpenAPI document; keyboard reaches the navigation', async () => {
    const page = await open('/developers')
    await expect.poll(() => page.locator('#endpoints').textContent()).toContain('/api/v1/stats/series')
    expect(await page.locator('#endpoints').textContent()).toContain('Register or refresh a node')
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content')
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('BitCDN')
    // client-side navigation through a nav link
    await page.getByRole('link', { name: 'Home' }).click()
    await expect.poll(() => page.locator('h1').textContent()).toBe('Content delivery paid per verified byte')
    expect(new URL(page.url()).pathname).toBe('/')
    await page.close()
    for (const path of ['/', '/developers']) {
      const p = await open(path)
      await p.locator('h1').waitFor()
      if (path === '/developers') await expect.poll(() => p.locator('#endpoints').textContent()).toContain('/api/v1/nodes')
      await p.screenshot({ path: join(SHOTS, `${path === '/' ? 'home' : 'developers'}.png`), fullPage: true })
      await p.close()
    }
    // a phone-sized viewport: nothing wider than the screen
    const phone = await browser.newPage({ viewport: { width: 375, height: 800 } })
    await phone.goto(`${hub.url}/network`)
    await phone.locator('#live-state').filter({ hasText: 'updated' }).waitFor()
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375)
    await phone.screenshot({ path: join(SHOTS, 'network-phone.png'), fullPage: true })
    await phone.close()
    expect(errors).toEqual([])
  })
})
