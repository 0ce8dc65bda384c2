/**
 * Pieces larger than one MiB can be bought: the seller's first credit window is worth the largest
 * piece it serves (pay's window, `sellerCreditInit(price, largestPieceBytes)`, as the node wires
 * it), never less than the one piece a buyer must receive whole before it can verify and pay it.
 * (With the old one-MiB window a power-of-two piece still sold, but only by luck: the connection's
 * unproven allowance of two pieces let the first piece through, and paying it doubled the window
 * to exactly one rounded-up piece; a piece a window's doubling misses — a foreign torrent's 6 MiB —
 * waited forever. Now the first window covers a piece by construction.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { tokenUnits } from '@bitcdn/core'
import { sellerCreditInit } from '@bitcdn/market'
import { startPayChain, type PayChain } from '../pay/helpers.js'
import { filledStore, makeTorrent, readAll, testData } from '../swarm/swarm-helpers.js'
import { market, MiB, valueOf } from './market-helpers.js'

let chain: PayChain
let mk: ReturnType<typeof market>

beforeAll(async () => {
  chain = await startPayChain()
  mk = market(chain)
  await chain.deposit(chain.accounts[5]!.privateKey, 10_000_000n)
})
afterEach(async () => {
  await mk.cleanup()
})
afterAll(async () => {
  await chain?.anvil.stop()
})

describe('credit window and large pieces', () => {
  it('the first window is worth the largest piece served, at least one MiB', () => {
    const price = tokenUnits(1_000_000n)
    const any = '0x0000000000000000000000000000000000000001' as const
    // rounded up: the window covers the whole piece
    const ceil = (bytes: number) => (BigInt(bytes) * 1_000_000n + (1n << 30n) - 1n) >> 30n
    expect(sellerCreditInit(price, 4 * MiB)(any, any).pieceValue).toBe(ceil(4 * MiB))
    expect(sellerCreditInit(price, () => 4 * MiB)(any, any).pieceValue).toBe(ceil(4 * MiB))
    expect(sellerCreditInit(price, 256 * 1024)(any, any).pieceValue).toBe(ceil(MiB))
    expect(sellerCreditInit(price)(any, any).pieceValue).toBe(ceil(MiB))
  })

  it.each([4])('a buyer downloads and pays a torrent of %i MiB pieces from a seller it never paid before', async (pieceMiB) => {
    const data = testData(24 * MiB, `big-pieces-${pieceMiB}`)
    const m = await makeTorrent(data, { name: 'big.bin', pieceLength: pieceMiB * MiB })
    const price = 1_000_000n
    // collateral is ample (a soft allowance of 1 USDC, 1 GiB at this price): only the window could stop it
    const s = await mk.seller(chain.accounts[1]!, m, await filledStore(m, data), { pricePerGiB: tokenUnits(price) })
    const buyerAccount = chain.accounts[5]!
    const b = await mk.buyer(buyerAccount, m, [s.addr])
    await b.torrent.whenDone()
    expect((await readAll(b.torrent.store!, m)).equals(data)).toBe(true)
    // settled: every verified byte paid, and the seller acknowledged it
    await expect.poll(() => b.buyer.sellers().every((v) => v.paid === valueOf(v.verifiedBytes, v.pricePerGiB) && v.acked === v.paid && v.paid > 0n), { timeout: 20_000 }).toBe(true)
    expect(b.buyer.spent()).toBe(valueOf(m.length, price))
    expect(s.settlement.ledger.best(buyerAccount.address, mk.usdc)?.cheque.cumulativeAmount).toBe(valueOf(m.length, price))
    // the window started at one piece's worth and grew as it was paid
    expect(s.settlement.credit(buyerAccount.address, mk.usdc).window).toBeGreaterThanOrEqual(valueOf(2 * pieceMiB * MiB, price))
    expect(s.seller.stats().paidBytes).toBeGreaterThanOrEqual(m.length)
  }, 120_000)
})
