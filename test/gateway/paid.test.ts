/**
 * The gateway pays nodes: a paid seller (market's `createPaidSeller` over pay's settlement, real
 * anvil with the escrow) seeds over TCP; the gateway's swarm carries market's `createPaidBuyer`
 * with a payer wallet. A range through the gateway is paid for, to the unit of what the seller
 * delivered, within the budget; a seller priced above the gateway's maximum is left, and the
 * response still completes from the origin.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tokenUnits } from '@bitcdn/core'
import { createTorrent } from '@bitcdn/content'
import { createGateway, type Gateway } from '@bitcdn/gateway'
import { bytesValue, createPaidBuyer, createPaidSeller, sellerCreditInit, settlementPayments, type PaidBuyer } from '@bitcdn/market'
import { createPayerWallet, createSellerSettlement, type SellerSettlement } from '@bitcdn/pay'
import { createSwarmClient, type SwarmClient } from '@bitcdn/swarm'
import { startPayChain, type PayChain } from '../pay/helpers.js'
import { harness, testData } from '../swarm/swarm-helpers.js'
import { request, startOrigin, type Origin } from './helpers.js'

const MiB = 2 ** 20
const h = harness()
let chain: PayChain
const stops: Array<() => Promise<unknown> | unknown> = []

beforeAll(async () => {
  chain = await startPayChain()
}, 120_000)

afterAll(async () => {
  for (const s of stops.splice(0).reverse()) await Promise.resolve(s()).catch(() => {})
  await chain?.anvil.stop()
  await h.cleanup()
})

async function paidSeeder(accountIndex: number, pricePerGiB: bigint, dir: string, torrent: Parameters<SwarmClient['add']>[0]) {
  const { deployment, accounts, publicClient } = chain
  const payee = accounts[accountIndex]!
  const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
  const softAllowance = tokenUnits(1_000_000n)
  const settlement: SellerSettlement = createSellerSettlement({ ledgerPath: join(await h.tempDir(), 'ledger.db'), payee: payee.address, domain, tokens: [deployment.tokens.USDC], pollingIntervalMs: 100, softAllowance }, sellerCreditInit(tokenUnits(pricePerGiB)))({
    publicClient: publicClient as never,
    walletClient: chain.wallet(payee.privateKey) as never,
  })
  await settlement.start()
  stops.push(() => settlement.stop())
  const seller = createPaidSeller({ payee: payee.address, domain, token: deployment.tokens.USDC, pricePerGiB: tokenUnits(pricePerGiB), softAllowance, free: false })({
    payments: settlementPayments(settlement),
    payeeKey: privateKeyToAccount(payee.privateKey),
  })
  const client = createSwarmClient({ stateDir: await h.stateDir() }, seller.swarm)
  seller.attach(client)
  await client.start()
  stops.push(() => client.stop())
  stops.push(() => seller.close())
  const t = await client.add(torrent, { dir })
  return { client, seller, settlement, payee: payee.address, torrent: t }
}

async function payingGateway(opts: { maxPricePerGiB: bigint; budget: bigint; peers: string[]; hedgeDelayMs?: number }): Promise<{ gw: Gateway; buyer: PaidBuyer }> {
  const { deployment, accounts } = chain
  const payer = accounts[1]!
  const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
  const account = privateKeyToAccount(payer.privateKey)
  const wallet = createPayerWallet({ dbPath: join(await h.tempDir(), 'wallet.db'), signer: account, payer: payer.address, domain })
  stops.push(() => wallet.close?.())
  const buyer = createPaidBuyer({
    payer: payer.address,
    signer: payer.address,
    domain,
    token: deployment.tokens.USDC,
    maxPricePerGiB: tokenUnits(opts.maxPricePerGiB),
    budget: tokenUnits(opts.budget),
    allowFree: false,
  })({ wallet, signerKey: account })
  stops.push(() => buyer.close())
  const gw = createGateway({ cacheDir: await h.tempDir(), port: 0, swarm: { stateDir: await h.stateDir() }, defaults: { peers: opts.peers }, hedgeDelayMs: opts.hedgeDelayMs ?? 2000 })({ buyer })
  await gw.start()
  stops.push(() => gw.stop())
  return { gw, buyer }
}

describe('gateway paying nodes', () => {
  it('pays a paid seller for exactly the bytes it delivered into verified pieces of a range, within the budget', async () => {
    await chain.deposit(chain.accounts[1]!.privateKey, 50_000_000n)
    const src = await h.tempDir()
    const data = testData(4 * MiB, 'paid')
    await writeFile(join(src, 'paid.bin'), data)
    const m = await createTorrent(join(src, 'paid.bin'), { pieceLength: 64 * 1024 })
    const price = 1_000_000n // 1 USDC per GiB
    const s = await paidSeeder(2, price, src, m)
    const { gw, buyer } = await payingGateway({ maxPricePerGiB: 2_000_000n, budget: 5_000_000n, peers: [`127.0.0.1:${s.client.port}`] })
    await gw.content.add(m.torrentFile)
    const r = await request(`${gw.url}/t/${m.infoHash}`, { range: `bytes=${MiB}-${2 * MiB + 100}` })
    expect(r.status).toBe(206)
    expect(r.body.equals(data.subarray(MiB, 2 * MiB + 101))).toBe(true)
    const seller = buyer.sellers().find((x) => x.payee.toLowerCase() === s.payee.toLowerCase())
    expect(seller).toBeDefined()
    // 17 pieces of 64 KiB: what the range needed, nothing else
    expect(seller!.verifiedBytes).toBe(17 * 64 * 1024)
    const owed = bytesValue(seller!.verifiedBytes, tokenUnits(price))
    const until = Date.now() + 10_000
    while (buyer.spent() < owed && Date.now() < until) await new Promise((res) => setTimeout(res, 50))
    expect(buyer.spent()).toBe(owed)
    expect(owed).toBeGreaterThan(0n)
    const metrics = (await request(`${gw.url}/metrics`)).body.toString()
    expect(metrics).toMatch(new RegExp(`bitcdn_gateway_spend_token_units_total ${owed}`))
  })

  it('leaves a seller priced above its maximum and completes the response from the origin', async () => {
    const src = await h.tempDir()
    const data = testData(MiB, 'dear')
    await writeFile(join(src, 'dear.bin'), data)
    const origin: Origin = await startOrigin(src)
    stops.push(() => origin.stop())
    const m = await createTorrent(join(src, 'dear.bin'), { pieceLength: 64 * 1024, urlList: [`${origin.url}/dear.bin`] })
    const s = await paidSeeder(3, 10_000_000n, src, m)
    const { gw, buyer } = await payingGateway({ maxPricePerGiB: 2_000_000n, budget: 5_000_000n, peers: [`127.0.0.1:${s.client.port}`], hedgeDelayMs: 300 })
    await gw.content.add(m.torrentFile)
    const r = await request(`${gw.url}/t/${m.infoHash}`)
    expect(r.status).toBe(200)
    expect(r.body.equals(data)).toBe(true)
    expect(buyer.spent()).toBe(0n)
    expect(s.torrent.stats().uploaded).toBe(0)
    expect(origin.ranges.length).toBeGreaterThan(0)
  })
})
