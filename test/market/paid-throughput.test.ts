/**
 * Paid throughput under the credit window, over real TCP, a real anvil and the real escrow, with
 * the seller reading from disk (so granted blocks wait on real reads): a paying buyer streams a
 * 64 MiB torrent without ever being refused or choked by the seller. The seller serves up to the
 * credit it announces in each ack (pay's window, which grows with every window's worth paid, capped
 * by collateral), the buyer keeps its requests within it and pays as pieces verify, so the window
 * never stalls the transfer — asserted on behaviour (refusals, chokes), not on timing.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { tokenUnits } from '@bitcdn/core'
import { startPayChain, type PayChain } from '../pay/helpers.js'
import { makeTorrent, readAll, testData } from '../swarm/swarm-helpers.js'
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

describe('paid throughput under the credit window', () => {
  it('a paying buyer streams 64 MiB from a disk-backed seller: never refused, never choked, paid exactly', async () => {
    const data = testData(64 * MiB, 'paid-stream')
    const m = await makeTorrent(data, { name: 'stream.bin', pieceLength: 256 * 1024 })
    const dir = await mk.tempDir('bitcdn-stream-src-')
    await writeFile(join(dir, 'stream.bin'), data)
    const price = 1_000_000n
    const s = await mk.seller(chain.accounts[1]!, m, { dir }, { pricePerGiB: tokenUnits(price) })
    await expect.poll(() => s.torrent.stats().verifiedPieces, { timeout: 60_000 }).toBe(m.pieceCount)
    const buyerAccount = chain.accounts[5]!
    let chokes = 0
    let b0: { torrent: { done: boolean } } | undefined
    const b = await mk.buyer(buyerAccount, m, [s.addr], {
      swarm: (buyer) => ({
        ...buyer.swarm,
        extendWire(wire, conn, infoHash) {
          // a choke while it still wants data: not the one after it asked for its last blocks and
          // said it is not interested any more (its last pieces being hashed and written, before
          // done), nor after it finished
          let interested = false
          const setInterested = conn.setInterested.bind(conn)
          conn.setInterested = (v: boolean) => {
            interested = v
            setInterested(v)
          }
          conn.on('choke', () => {
            if (interested && b0?.torrent.done !== true) chokes++
          })
          buyer.swarm.extendWire(wire, conn, infoHash)
        },
      }),
    })
    b0 = b
    // the debt in pay's credit (durable) trails the bytes sent by at most one batch (1 MiB): what
    // a crash can forget, within the one piece's worth SELLER-BOUND.md allows
    let maxLag = 0n
    let samples = 0
    const credit = s.settlement.credit(buyerAccount.address, mk.usdc)
    const sampler = setInterval(() => {
      const a = s.seller.account(buyerAccount.address)
      if (a === undefined) return
      const lag = valueOf(a.servedBytes, price) - credit.state.delivered
      if (lag > maxLag) maxLag = lag
      samples++
    }, 2)
    await b.torrent.whenDone().finally(() => clearInterval(sampler))
    expect(samples).toBeGreaterThan(10)
    expect(maxLag).toBeGreaterThan(0n) // batched, not per block
    expect(maxLag).toBeLessThanOrEqual(valueOf(MiB, price) + 1n)
    expect((await readAll(b.torrent.store!, m)).equals(data)).toBe(true)
    // settled: every verified byte paid, and the seller acknowledged it
    await expect.poll(() => b.buyer.sellers().every((v) => v.paid === valueOf(v.verifiedBytes, v.pricePerGiB) && v.acked === v.paid && v.paid > 0n), { timeout: 10_000 }).toBe(true)

    // the seller never had to stop a paying buyer: no request refused, no choke sent
    expect(s.seller.stats().requestsRefused).toBe(0)
    expect(chokes).toBe(0)
    // every byte went to the buyer paid for, and it paid exactly what it verified
    expect(s.seller.stats().paidBytes).toBe(m.length)
    expect(b.buyer.spent()).toBe(valueOf(m.length, price))
    expect(s.settlement.ledger.best(buyerAccount.address, mk.usdc)?.cheque.cumulativeAmount).toBe(valueOf(m.length, price))
    // every byte sent is recorded; the window grew while the buyer always owed the pieces in flight (it is never paid up mid-stream)
    expect(credit.state.delivered).toBe(valueOf(m.length, price))
    expect(credit.window).toBeGreaterThanOrEqual(valueOf(32 * MiB, price))
    expect(credit.unpaid).toBe(0n)
  }, 240_000)
})
