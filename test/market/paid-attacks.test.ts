/**
 * Attacks on the paid seller, over real TCP with a real anvil and escrow: a buyer that stops
 * paying; forged, replayed, lowered, oversized and foreign-chain cheques; garbage, oversized and
 * out-of-order extension messages — while an honest buyer keeps downloading and paying.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Address, Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { silentLogger, tokenUnits } from '@bitcdn/core'
import { createMemoryStore, type Metainfo } from '@bitcdn/content'
import { encodeSessionCheque, signCheque, type ChequeDomain } from '@bitcdn/pay'
import { createSwarmClient, type HardenedWire, type SwarmClient } from '@bitcdn/swarm'
import { attachPayChannel, bytesValue, PAY_EXTENSION_NAME, PROTOCOL_VERSION, signPayerProof, type PayChannel, type PayMessage } from '@bitcdn/market'
import { startPayChain, type PayChain } from '../pay/helpers.js'
import { filledStore, makeTorrent, readAll, testData } from '../swarm/swarm-helpers.js'
import { market, MiB, type TestSeller, untilSellerStill } from './market-helpers.js'

let chain: PayChain
let mk: ReturnType<typeof market>
const clients: SwarmClient[] = []

beforeAll(async () => {
  chain = await startPayChain()
  mk = market(chain)
  for (const a of chain.accounts.slice(5, 9)) await chain.deposit(a.privateKey, 10_000_000n)
})
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop().catch(() => {})))
  await mk.cleanup()
})
afterAll(async () => {
  await chain?.anvil.stop()
})

/**
 * A hand-driven buyer: says hello as `payer` (its payer proof signed by `payer`'s key, or by
 * `signWith` — an impersonator's own key), then sends whatever the test tells it.
 */
async function manualBuyer(seller: TestSeller, m: Metainfo, payer: { address: Address; privateKey: Hex }, opts: { hello?: boolean; download?: boolean; signWith?: Hex } = {}) {
  const got: PayMessage[] = []
  let ch: PayChannel | undefined
  let wire: HardenedWire | undefined
  let closed = false
  const dir = await mk.tempDir('bitcdn-manual-')
  const client = createSwarmClient(
    { stateDir: dir },
    {
      // asks for no data unless told: the test drives the money side alone
      requestLimit: () => (opts.download === true ? undefined : 0),
      extendWire(w, conn) {
        if (wire !== undefined) return conn.destroy() // one connection per test step
        wire = w
        ch = attachPayChannel(w, conn, { onOpen() {}, onMessage(msg, c) {
          got.push(msg)
          if (msg.type === 'terms' && opts.hello !== false) {
            const fields = { domain: mk.domain, payer: payer.address, signer: payer.address, payee: msg.payee, token: msg.token, pricePerGiB: msg.pricePerGiB, infoHash: m.infoHash, nonce: msg.nonce }
            void signPayerProof(privateKeyToAccount(opts.signWith ?? payer.privateKey), fields).then((signature) => c.send({ type: 'hello', payer: payer.address, signer: payer.address, nonce: randomBytes(32), signature }))
          }
        } }, silentLogger)
        conn.once('close', () => (closed = true))
      },
    },
  )
  clients.push(client)
  await client.start()
  const torrent = await client.add(m, { store: createMemoryStore(m), peers: [seller.addr] })
  await expect.poll(() => got.some((g) => g.type === 'terms'), { timeout: 10_000 }).toBe(true)
  if (opts.hello !== false && opts.signWith === undefined) await expect.poll(() => got.some((g) => g.type === 'ack'), { timeout: 10_000 }).toBe(true)
  return {
    got,
    send: (msg: PayMessage) => ch!.send(msg),
    raw: (payload: Uint8Array) => (wire as unknown as { extended(e: string, b: Uint8Array): void }).extended(PAY_EXTENSION_NAME, payload),
    closed: () => closed,
    torrent,
  }
}

async function chequeBytes(pk: Hex, domain: ChequeDomain, payer: Address, payee: Address, token: Address, cumulative: bigint) {
  const signed = await signCheque(privateKeyToAccount(pk), { domain, cheque: { payer, payee, token, cumulativeAmount: tokenUnits(cumulative) } })
  return encodeSessionCheque(signed)
}

describe('paid seller under attack', () => {
  it('a buyer that stops paying gets at most its credit of data', async () => {
    const data = testData(4 * MiB, 'stingy')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const price = 1_000_000n
    const credit = 1_500n // ≈ 1.5 MiB at 1 USDC/GiB
    const s = await mk.seller(chain.accounts[1]!, m, await filledStore(m, data), { pricePerGiB: tokenUnits(price), softAllowance: tokenUnits(credit) })
    const stingy = chain.accounts[5]!
    // pays its first cheque (so the seller knows it holds the payer's key), then signs nothing more,
    // and asks as greedily as the swarm allows (no buyer-side credit cap)
    let first: ((payee: Address, token: Address, amount: bigint) => Promise<never>) | undefined
    const b = await mk.buyer(stingy, m, [s.addr], {
      wallet: {
        pay: (payee, token, amount) => {
          if (first === undefined) {
            first = () => new Promise<never>(() => {})
            return real.pay(payee, token, amount)
          }
          return first(payee, token, amount)
        },
      },
      swarm: (buyer) => ({ extendWire: buyer.swarm.extendWire }),
    })
    const real = b.wallet
    await expect.poll(() => s.seller.stats().paidBytes, { timeout: 20_000 }).toBeGreaterThan(0)
    // served until the debt reached the credit, then nothing more
    await untilSellerStill(s.seller, 1000, 30_000)
    const served = s.seller.stats().paidBytes
    const paid = s.settlement.ledger.best(stingy.address, mk.usdc)?.cheque.cumulativeAmount ?? 0n
    expect(paid).toBeGreaterThan(0n) // its one cheque
    // everything it got beyond that one cheque is debt within the credit the escrow backs
    const owed = s.seller.owed(stingy.address)
    expect(owed).toBeGreaterThan(0n)
    expect(owed).toBeLessThanOrEqual(s.settlement.collateral(stingy.address, mk.usdc))
    expect(bytesValue(served, tokenUnits(price))).toBeLessThanOrEqual(credit)
    expect(b.torrent.stats().downloaded).toBeLessThanOrEqual(served)
    expect(b.torrent.done).toBe(false)
  })

  it('attack: a buyer with a large allocation that pays once then stops is cut off within one credit window', async () => {
    const data = testData(8 * MiB, 'big-allocation')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const price = tokenUnits(1_000_000n)
    const s = await mk.seller(chain.accounts[1]!, m, await filledStore(m, data), { pricePerGiB: price, softAllowance: tokenUnits(1_000n) })
    const rich = chain.accounts[9]!
    // 5 USDC reserved for this seller alone: ≈ 5 GiB of credit by collateral, far above the torrent
    await chain.deposit(rich.privateKey, 10_000_000n)
    const allocation = tokenUnits(5_000_000n)
    await mk.allocator(rich).ensureAllocation(s.payee, mk.usdc, allocation)
    let first: ((payee: Address, token: Address, amount: bigint) => Promise<never>) | undefined
    const b = await mk.buyer(rich, m, [s.addr], {
      wallet: {
        pay: (payee, token, amount) => {
          if (first === undefined) {
            first = () => new Promise<never>(() => {})
            return real.pay(payee, token, amount)
          }
          return first(payee, token, amount)
        },
      },
      swarm: (buyer) => ({ extendWire: buyer.swarm.extendWire }),
    })
    const real = b.wallet
    await expect.poll(() => s.seller.stats().paidBytes, { timeout: 20_000 }).toBeGreaterThan(0)
    await untilSellerStill(s.seller, 1000, 30_000)
    // the collateral alone would have let it take everything
    expect(s.settlement.collateral(rich.address, mk.usdc)).toBeGreaterThan(bytesValue(data.length, price))
    const served = s.seller.stats().paidBytes
    const paid = s.settlement.ledger.best(rich.address, mk.usdc)?.cheque.cumulativeAmount ?? 0n
    expect(paid).toBeGreaterThan(0n) // its one cheque
    const credit = s.settlement.credit(rich.address, mk.usdc)
    const window = credit.window
    // one MiB's worth at this price (the seller's first window)
    expect(window).toBe((BigInt(MiB) * price + (1n << 30n) - 1n) >> 30n)
    const unpaid = bytesValue(served, price) - paid
    expect(unpaid).toBeGreaterThan(0n) // it did draw on credit
    expect(unpaid).toBeLessThanOrEqual(window)
    // pay's durable record agrees: what survives a restart is the same debt
    expect(credit.unpaid).toBe(unpaid)
    expect(credit.unpaid).toBeLessThan(allocation)
    expect(b.torrent.done).toBe(false)
    expect(b.torrent.stats().downloaded).toBeLessThanOrEqual(served)
  })

  it("a hello naming someone else's payer (signed with the impersonator's own key) is refused unserved: no data, no lookup, no debt for that payer", async () => {
    const data = testData(2 * MiB, 'impersonate')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const s = await mk.seller(chain.accounts[4]!, m, await filledStore(m, data), { pricePerGiB: tokenUnits(1_000_000n) })
    const victim = chain.accounts[8]!
    const imp = await manualBuyer(s, m, victim, { download: true, signWith: chain.accounts[9]!.privateKey })
    await expect.poll(() => imp.closed(), { timeout: 10_000 }).toBe(true)
    expect(imp.got.find((g) => g.type === 'refuse')).toMatchObject({ type: 'refuse', text: expect.stringMatching(/not the signer/) })
    expect(s.seller.stats().closed.BITCDN_ERR_PAY_PAYER_UNPROVEN).toBe(1)
    expect(s.seller.stats().paidBytes).toBe(0)
    expect(imp.torrent.stats().downloaded).toBe(0)
    // the seller looked nothing up for the named payer and opened no account for it
    expect(s.settlement.watcher.isTracked(victim.address)).toBe(false)
    expect(s.seller.account(victim.address)).toBeUndefined()
    // nothing was charged to the victim, who is not banned and downloads everything, paying for it
    expect(s.seller.owed(victim.address)).toBe(0n)
    const b = await mk.buyer(victim, m, [s.addr])
    await b.torrent.whenDone()
    expect((await readAll(b.torrent.store!, m)).equals(data)).toBe(true)
    expect(s.seller.account(victim.address)?.banned).toBe(false)
  })

  it('forged, replayed, lowered, oversized and foreign-chain cheques are refused; the good one stands', async () => {
    const data = testData(1 * MiB, 'cheques')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const s = await mk.seller(chain.accounts[2]!, m, await filledStore(m, data), { pricePerGiB: tokenUnits(1_000_000n) })
    const payer = chain.accounts[6]!
    const sign = (cum: bigint, opts: { key?: Hex; domain?: ChequeDomain } = {}) => chequeBytes(opts.key ?? payer.privateKey, opts.domain ?? mk.domain, payer.address, s.payee, mk.usdc, cum)
    const refusedWith = (code: string) => s.seller.stats().chequesRefused[code] ?? 0

    // a good cheque (a small prepayment, within the seller's allowance) is stored and acknowledged
    const good = await manualBuyer(s, m, payer)
    good.send({ type: 'cheque', cheque: await sign(10n) })
    await expect.poll(() => good.got.some((g) => g.type === 'ack' && g.cumulative === 10n), { timeout: 10_000 }).toBe(true)
    expect(s.settlement.ledger.best(payer.address, mk.usdc)?.cheque.cumulativeAmount).toBe(10n)

    // replayed: the same cheque again
    good.send({ type: 'cheque', cheque: await sign(10n) })
    await expect.poll(() => good.closed(), { timeout: 10_000 }).toBe(true)
    expect(refusedWith('BITCDN_ERR_CHEQUE_NOT_NEWER')).toBe(1)

    const attacks: { name: string; cheque: () => Promise<Uint8Array>; code: string }[] = [
      { name: 'lowered', cheque: () => sign(5n), code: 'BITCDN_ERR_CHEQUE_NOT_NEWER' },
      { name: 'oversized', cheque: () => sign(10n + 5_000_000n), code: 'BITCDN_ERR_CHEQUE_OVERSIZED' },
      { name: 'forged (another key)', cheque: () => sign(20n, { key: chain.accounts[9]!.privateKey }), code: 'BITCDN_ERR_CHEQUE_SIGNATURE' },
      { name: 'foreign chain', cheque: () => sign(20n, { domain: { chainId: 1, verifyingContract: chain.deployment.escrow } }), code: 'BITCDN_ERR_CHEQUE_SIGNATURE' },
    ]
    for (const a of attacks) {
      const before = refusedWith(a.code)
      const atk = await manualBuyer(s, m, payer)
      atk.send({ type: 'cheque', cheque: await a.cheque() })
      await expect.poll(() => atk.closed(), { timeout: 10_000, message: a.name }).toBe(true)
      expect(refusedWith(a.code), a.name).toBe(before + 1)
      expect(atk.got.some((g) => g.type === 'refuse'), a.name).toBe(true)
    }
    // nothing moved the stored cheque
    expect(s.settlement.ledger.best(payer.address, mk.usdc)?.cheque.cumulativeAmount).toBe(10n)
    expect(s.seller.stats().chequesAccepted).toBe(1)
  })

  it('garbage, oversized, wrong-version and out-of-order messages close that connection; the seller keeps serving others', async () => {
    const data = testData(3 * MiB, 'garbage')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const s = await mk.seller(chain.accounts[3]!, m, await filledStore(m, data), { pricePerGiB: tokenUnits(1_000_000n) })
    const honest = chain.accounts[7]!
    const b = await mk.buyer(honest, m, [s.addr])
    const attacker = chain.accounts[8]!
    const wrongVersion = Buffer.from([PROTOCOL_VERSION + 1, 2, ...randomBytes(40)])
    const attacks: { name: string; payload: () => Uint8Array; hello?: boolean }[] = [
      { name: 'random body', payload: () => Buffer.concat([Buffer.from([PROTOCOL_VERSION, 0xee]), randomBytes(55)]) },
      { name: 'oversized message', payload: () => randomBytes(4096) },
      { name: 'wrong version', payload: () => wrongVersion },
      { name: 'cheque before hello', payload: () => Buffer.concat([Buffer.from([PROTOCOL_VERSION, 3]), randomBytes(80)]), hello: false },
      { name: 'truncated hello', payload: () => Buffer.from([PROTOCOL_VERSION, 2, 1, 2, 3]), hello: false },
    ]
    for (const a of attacks) {
      const atk = await manualBuyer(s, m, attacker, { hello: a.hello })
      atk.raw(a.payload())
      await expect.poll(() => atk.closed(), { timeout: 10_000, message: a.name }).toBe(true)
    }
    const closed = s.seller.stats().closed
    expect(closed.BITCDN_ERR_PAY_MESSAGE_INVALID).toBeGreaterThanOrEqual(3)
    expect(closed.BITCDN_ERR_PAY_VERSION).toBe(1)
    expect(closed.BITCDN_ERR_PAY_UNEXPECTED).toBe(1)
    // the honest buyer was served and paid throughout
    await b.torrent.whenDone()
    expect((await readAll(b.torrent.store!, m)).equals(data)).toBe(true)
    await expect.poll(() => s.settlement.ledger.best(honest.address, mk.usdc)?.cheque.cumulativeAmount ?? 0n, { timeout: 10_000 }).toBe(bytesValue(b.verifiedFrom.get(s.addr) ?? 0, tokenUnits(1_000_000n)))
  })
})
