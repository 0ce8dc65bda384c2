/**
 * Must-show for paid delivery over real TCP, a real anvil and the real escrow: a buyer downloads
 * from three sellers priced differently (12 MiB: at 3 MiB the startup and the slack let the two cheaper tie) and pays each exactly for the bytes it delivered into
 * verified pieces (rounded down, ≤ 1 base unit); the cheaper sellers serve more; a seller serving
 * corrupt data is paid nothing for it and banned.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { getAddress, type Address } from 'viem'
import { tokenUnits, type TokenUnits } from '@bitcdn/core'
import { startPayChain, type PayChain } from '../pay/helpers.js'
import { filledStore, makeTorrent, readAll, testData } from '../swarm/swarm-helpers.js'
import { market, MiB, valueOf } from './market-helpers.js'

let chain: PayChain
let mk: ReturnType<typeof market>

beforeAll(async () => {
  chain = await startPayChain()
  mk = market(chain)
  // the buyers deposit 10 USDC each
  for (const a of chain.accounts.slice(5, 9)) await chain.deposit(a.privateKey, 10_000_000n)
})
afterEach(async () => {
  await mk.cleanup()
})
afterAll(async () => {
  await chain?.anvil.stop()
})

describe('paid swarm on anvil', () => {
  it('three sellers priced differently: each is paid exactly its verified bytes × price, the cheaper serve more', async () => {
    const data = testData(12 * MiB, 'three-sellers')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const prices = [1_000_000n, 2_000_000n, 4_000_000n]
    const sellers = []
    for (let i = 0; i < 3; i++) sellers.push(await mk.seller(chain.accounts[1 + i]!, m, await filledStore(m, data), { pricePerGiB: tokenUnits(prices[i]!) }))
    const buyerAccount = chain.accounts[5]!
    const b = await mk.buyer(buyerAccount, m, sellers.map((s) => s.addr))
    // what the acked events said (a paid get's settle waits on them)
    const ackedEvents = new Map<string, bigint>()
    b.buyer.on('acked', (payee, cumulative) => ackedEvents.set(payee, cumulative))
    await b.torrent.whenDone()
    expect((await readAll(b.torrent.store!, m)).equals(data)).toBe(true)
    // every cheque the buyer signed has been stored and acknowledged
    // …and every verified byte is paid (the last cheque may trail completion by a coalescing period)
    await expect.poll(() => b.buyer.sellers().every((v) => v.paid === valueOf(v.verifiedBytes, v.pricePerGiB) && v.acked === v.paid), { timeout: 10_000 }).toBe(true)
    for (const v of b.buyer.sellers()) expect(ackedEvents.get(v.payee)).toBe(v.acked)

    const verified = sellers.map((s) => b.verifiedFrom.get(s.addr) ?? 0)
    console.log(`verified bytes at 1, 2, 4 USDC/GiB: ${verified.join(', ')}`)
    expect(verified.reduce((x, y) => x + y, 0)).toBe(m.length)
    let total = 0n
    for (let i = 0; i < 3; i++) {
      const best = sellers[i]!.settlement.ledger.best(buyerAccount.address, mk.usdc)?.cheque.cumulativeAmount ?? 0n
      const exact = valueOf(verified[i]!, prices[i]!)
      // accepted cheques equal verified bytes × price, rounded down once on the cumulative
      expect(best).toBe(exact)
      expect(Number(BigInt(verified[i]!) * prices[i]! - best * (1n << 30n))).toBeLessThan(2 ** 30)
      total += best
    }
    // the buyer paid nothing beyond what the verified bytes are worth
    expect(b.buyer.spent()).toBe(total)
    expect(b.wallet.cumulative(sellers[0]!.payee, mk.usdc) + b.wallet.cumulative(sellers[1]!.payee, mk.usdc) + b.wallet.cumulative(sellers[2]!.payee, mk.usdc)).toBe(total)
    // price steers the buyer: the cheapest served most, the dearest least
    expect(verified[0]!).toBeGreaterThan(verified[1]!)
    expect(verified[1]!).toBeGreaterThan(verified[2]!)
    // the sellers' own counters agree: paid bytes served ≥ verified (duplicates in endgame are the difference)
    for (let i = 0; i < 3; i++) expect(sellers[i]!.seller.stats().paidBytes).toBeGreaterThanOrEqual(verified[i]!)
  })

  it('a seller serving corrupt data is paid nothing for it and is banned', async () => {
    const data = testData(3 * MiB, 'corrupt')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    // the cheapest seller checks out at start, then its data turns to garbage: every piece it serves fails
    const bad = await filledStore(m, data)
    const cheat = await mk.seller(chain.accounts[1]!, m, bad, { pricePerGiB: tokenUnits(500_000n) })
    const junk = testData(m.length, 'junk')
    for (let i = 0; i < m.pieceCount; i++) await bad.put(i, junk.subarray(i * m.pieceLength, Math.min((i + 1) * m.pieceLength, m.length)))
    const honest = await mk.seller(chain.accounts[2]!, m, await filledStore(m, data), { pricePerGiB: tokenUnits(2_000_000n) })
    const buyerAccount = chain.accounts[6]!
    const b = await mk.buyer(buyerAccount, m, [cheat.addr, honest.addr])
    const banned: string[] = []
    b.torrent.on('warning', (e) => {
      if (e.code === 'BITCDN_ERR_PEER_BANNED') banned.push(String((e as { details?: { peer?: string } }).details?.peer))
    })
    await b.torrent.whenDone()
    expect((await readAll(b.torrent.store!, m)).equals(data)).toBe(true)
    expect(banned).toContain(cheat.addr)
    expect(b.verifiedFrom.get(cheat.addr) ?? 0).toBe(0)
    // the cheat served bytes but holds no cheque; the buyer never signed one for it
    expect(cheat.seller.stats().paidBytes).toBeGreaterThan(0)
    expect(cheat.settlement.ledger.best(buyerAccount.address, mk.usdc)).toBeUndefined()
    expect(b.wallet.cumulative(cheat.payee, mk.usdc)).toBe(0n)
    await expect.poll(() => honest.settlement.ledger.best(buyerAccount.address, mk.usdc)?.cheque.cumulativeAmount ?? 0n, { timeout: 10_000 }).toBe(valueOf(m.length, 2_000_000n))
    expect(b.buyer.spent()).toBe(valueOf(m.length, 2_000_000n))
  })

  it('tops up the allocation to a seller it buys from steadily (escrow allocate on anvil)', async () => {
    const data = testData(2 * MiB, 'alloc')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const s = await mk.seller(chain.accounts[3]!, m, await filledStore(m, data), { pricePerGiB: tokenUnits(1_000_000n) })
    const buyerAccount = chain.accounts[7]!
    const allocator = mk.allocator(buyerAccount)
    // what the buyer had paid when it asked for the allocation
    const spentAtCall: bigint[] = []
    let b: Awaited<ReturnType<typeof mk.buyer>> | undefined
    const watched = { ensureAllocation: (payee: Address, token: Address, amount: TokenUnits) => (spentAtCall.push(b?.buyer.spent() ?? 0n), allocator.ensureAllocation(payee, token, amount)) }
    b = await mk.buyer(buyerAccount, m, [s.addr], { allocation: { after: tokenUnits(200n), amount: tokenUnits(50_000n) }, allocator: watched })
    await b.torrent.whenDone()
    await expect.poll(() => allocator.calls.length, { timeout: 10_000 }).toBeGreaterThan(0)
    expect(getAddress(allocator.calls[0]!.payee)).toBe(getAddress(s.payee))
    // the torrent (2 MiB ≈ 1,953 units) was worth more than `after` from the start: allocated at the
    // first connection, before 200 units were paid (waiting for them let the soft allowance run out)
    expect(spentAtCall[0]).toBeLessThan(200n)
    await expect
      .poll(async () => ((await chain.publicClient.readContract({ address: chain.deployment.escrow, abi: (await import('@bitcdn/pay')).escrowAbi, functionName: 'allocation', args: [buyerAccount.address, s.payee, mk.usdc] })) as readonly bigint[])[0], { timeout: 10_000 })
      .toBe(50_000n)
  })

  it('a seller sees an allocation made mid-download while the buyer waits on its credit, without waiting for its next chain poll', async () => {
    const data = testData(16 * MiB, 'alloc-seen')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const price = 1_000_000n
    // the soft allowance buys 2 MiB; the watcher polls the chain only every 10 minutes on its own
    const s = await mk.seller(chain.accounts[3]!, m, await filledStore(m, data), { pricePerGiB: tokenUnits(price), softAllowance: tokenUnits(valueOf(2 * MiB, price)), watcherPollMs: 600_000 })
    const buyerAccount = chain.accounts[8]!
    const allocator = mk.allocator(buyerAccount)
    // a slow chain: the allocation lands after the seller's first look at the payer (its first
    // cheque) and after the soft allowance ran out, so only a fresh read of the chain finds it
    const slow = { ensureAllocation: (payee: Address, token: Address, amount: TokenUnits) => new Promise((r) => setTimeout(r, 1_000)).then(() => allocator.ensureAllocation(payee, token, amount)) }
    const b = await mk.buyer(buyerAccount, m, [s.addr], { allocation: { after: tokenUnits(1_000n), amount: tokenUnits(5_000_000n) }, allocator: slow })
    // 16 MiB is 8 soft allowances: done only once the seller counted the allocation as collateral
    // (its own re-read of every payer comes after 60 s, past this test's timeout)
    await b.torrent.whenDone()
    expect((await readAll(b.torrent.store!, m)).equals(data)).toBe(true)
    expect(allocator.calls.length).toBeGreaterThan(0)
    expect(s.settlement.watcher.funds(buyerAccount.address, mk.usdc)?.allocatedToUs).toBe(5_000_000n)
  }, 30_000)
})
