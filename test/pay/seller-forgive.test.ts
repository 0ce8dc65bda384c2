/**
 * The seller settlement's forgiveness of a stale unpaid window (`forgiveUnpaidAfterMs`), on a real
 * anvil with the real escrow: a payer idle for the period has its debt written off when it is next
 * looked up (`credit()`), the window starts again at one piece, `collateralVersion()` changes, the
 * write-off is durable across a restart (so is the window cap it lowers: regrow-and-default takes at
 * most W + n·p in all) — and the accepted cheques are untouched: what they pay is
 * still claimed and paid out in full. The seller's clock is moved (`movableClock`), not slept on.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tokenUnits } from '@bitcdn/core'
import { sellerLossBound, type WriteOff } from '@bitcdn/pay'
import { startPayChain, type PayChain } from './helpers.js'
import { movableClock, newActor, paidOut, serve, settleAll, startSeller } from './seller-harness.js'

let chain: PayChain
const dir = mkdtempSync(join(tmpdir(), 'bitcdn-forgive-'))
beforeAll(async () => {
  chain = await startPayChain()
})
afterAll(async () => {
  await chain?.anvil.stop()
  rmSync(dir, { recursive: true, force: true })
})

const piece = tokenUnits(1_000n)
const maxWindow = piece * 16n
const DAY = 86_400_000

describe('seller settlement: forgiveness of a stale unpaid window', () => {
  it('attack: a payer that grew its window and stopped paying is written off after the period, back to one piece; its accepted cheques stay claimable and are paid out in full', async () => {
    const usdc = chain.deployment.tokens.USDC
    const buyer = await newActor(chain, 100_000n)
    await buyer.escrow('deposit', [usdc, 100_000n])
    const payee = await newActor(chain)
    await buyer.escrow('allocate', [payee.address, usdc, 50_000n])
    const clock = movableClock()
    const offs: WriteOff[] = []
    const opts = { forgiveUnpaidAfterMs: DAY, onWriteOff: (w: WriteOff) => offs.push(w) }
    let seller = await startSeller(chain, dir, 'forgive', payee, piece, opts, clock)
    try {
      await seller.follow(buyer.address, usdc)
      // it pays for three windows (the window grows to 8 pieces), then takes a window and stops
      let cumulative = 0n
      for (let i = 0; i < 3; i++) {
        const n = serve(seller, buyer.address, usdc, piece, 64)
        cumulative += BigInt(n) * piece
        const r = await seller.receive([await buyer.cheque(payee.address, cumulative)])
        expect(r.accepted[0]?.credited).toBe(BigInt(n) * piece)
      }
      expect(seller.credit(buyer.address, usdc).window).toBe(8n * piece)
      const taken = serve(seller, buyer.address, usdc, piece, 64)
      expect(taken).toBe(8)
      expect(serve(seller, buyer.address, usdc, piece, 1)).toBe(0) // locked at its window
      const debt = seller.credit(buyer.address, usdc).unpaid
      expect(debt).toBe(8n * piece)
      const best = seller.ledger.best(buyer.address, usdc)?.cheque.cumulativeAmount
      const exposure = seller.ledger.exposure(usdc, buyer.address)
      const collateral = seller.collateral(buyer.address, usdc)
      const version = seller.collateralVersion()

      clock.advance(DAY - 60_000) // a minute short (real milliseconds pass meanwhile too)
      expect(seller.credit(buyer.address, usdc).writtenOff).toBe(0n)
      expect(serve(seller, buyer.address, usdc, piece, 1)).toBe(0)
      expect(seller.collateralVersion()).toBe(version)

      clock.advance(60_000)
      const c = seller.credit(buyer.address, usdc)
      expect(c.writtenOff).toBe(debt)
      expect(c.unpaid).toBe(0n)
      expect(c.window).toBe(piece) // not the grown one
      expect(c.windowCap).toBe(maxWindow - debt) // and it can regrow to 8 pieces, not 16
      expect(c.state.delivered + c.writtenOff).toBe(cumulative + debt) // all delivered, accounted for
      expect(offs).toEqual([expect.objectContaining({ payer: buyer.address, amount: debt, total: debt })])
      expect(seller.collateralVersion()).not.toBe(version) // derived limits are re-derived
      // the cheques are the ledger's: untouched
      expect(seller.ledger.best(buyer.address, usdc)?.cheque.cumulativeAmount).toBe(best)
      expect(seller.ledger.exposure(usdc, buyer.address)).toBe(exposure)
      expect(seller.collateral(buyer.address, usdc)).toBe(collateral)
      // one first window more, and no more
      expect(serve(seller, buyer.address, usdc, piece, 64)).toBe(1)

      // a restart keeps the write-off, the new debt and its last activity: nothing is forgiven again early
      await seller.stop()
      seller = await startSeller(chain, dir, 'forgive', payee, piece, opts, clock)
      await seller.follow(buyer.address, usdc)
      clock.advance(DAY - 60_000)
      const after = seller.credit(buyer.address, usdc)
      expect(after.writtenOff).toBe(debt)
      expect(after.unpaid).toBe(piece)
      expect(after.window).toBe(piece)
      expect(after.windowCap).toBe(maxWindow - debt) // writtenOff is stored: so is the cap
      expect(serve(seller, buyer.address, usdc, piece, 64)).toBe(0)
      expect(offs).toHaveLength(1)
      // the operator's view (`bitcdn node earnings`): the payer owes one piece, and its write-off is kept
      const row = seller.credits().find((x) => x.payer === buyer.address && x.token === usdc)
      expect(row?.state).toMatchObject({ delivered: after.state.delivered, paid: cumulative, writtenOff: debt })
      expect(row!.state.delivered - row!.state.paid).toBe(piece)

      // what the cheques pay is claimed and paid out in full
      await settleAll(chain, seller)
      const got = await paidOut(chain, buyer.address, payee.address)
      expect(got).toBe(cumulative)
      const delivered = after.state.delivered + after.writtenOff
      const loss = delivered - got
      // one grown window (the bound without forgiveness) plus one first window for the write-off
      expect(loss).toBe(debt + piece)
      expect(loss).toBeLessThanOrEqual(sellerLossBound({ maxWindow, softAllowance: piece, hardCollateral: 50_000n, writeOffs: 1, firstWindow: piece, paidBeforeWriteOffs: cumulative }))
    } finally {
      await seller.stop()
    }
  }, 120_000)

  it('attack: regrow-and-default — pay to regrow the window, take it unpaid, idle a period, repeat — takes at most W + n·p in all, not W per period', async () => {
    const usdc = chain.deployment.tokens.USDC
    const buyer = await newActor(chain, 1_000_000n)
    await buyer.escrow('deposit', [usdc, 1_000_000n])
    const payee = await newActor(chain)
    await buyer.escrow('allocate', [payee.address, usdc, 500_000n]) // collateral never binds
    const clock = movableClock()
    const offs: WriteOff[] = []
    const seller = await startSeller(chain, dir, 'regrow', payee, piece, { forgiveUnpaidAfterMs: DAY, onWriteOff: (w) => offs.push(w) }, clock)
    try {
      await seller.follow(buyer.address, usdc)
      const credit = () => seller.credit(buyer.address, usdc)
      let cumulative = 0n
      const periods = 6
      const taken: bigint[] = []
      for (let i = 0; i < periods; i++) {
        // pay for window after window until it stops growing (at this payer's cap)
        for (let k = 0; k < 8 && credit().window < credit().windowCap; k++) {
          const n = serve(seller, buyer.address, usdc, piece, 64)
          cumulative += BigInt(n) * piece
          const r = await seller.receive([await buyer.cheque(payee.address, cumulative)])
          expect(r.accepted[0]?.credited).toBe(BigInt(n) * piece)
        }
        // take a full window and never pay it
        taken.push(BigInt(serve(seller, buyer.address, usdc, piece, 64)) * piece)
        expect(credit().unpaid).toBe(taken.at(-1))
        clock.advance(DAY)
        expect(credit().unpaid).toBe(0n) // written off at the look-up
        expect(credit().writtenOff).toBeLessThanOrEqual(maxWindow + BigInt(i) * piece)
      }
      // the first default takes the whole grown window; that is all of the cap, so every later one a piece
      expect(taken).toEqual([maxWindow, ...Array(periods - 1).fill(piece)])
      expect(offs.map((w) => w.amount)).toEqual(taken)
      expect(credit().windowCap).toBe(piece)

      await settleAll(chain, seller)
      const got = await paidOut(chain, buyer.address, payee.address)
      expect(got).toBe(cumulative) // every accepted cheque paid out
      const c = credit()
      const loss = c.state.delivered + c.writtenOff - got
      expect(loss).toBe(maxWindow + BigInt(periods - 1) * piece) // with the whole cap every period it was 6 · W
      expect(loss).toBeLessThanOrEqual(sellerLossBound({ maxWindow, softAllowance: piece, hardCollateral: 500_000n, writeOffs: periods, firstWindow: piece }))
      expect(sellerLossBound({ maxWindow, softAllowance: piece, hardCollateral: 500_000n, writeOffs: periods, firstWindow: piece })).toBe(maxWindow + BigInt(periods) * piece)
      expect(serve(seller, buyer.address, usdc, piece, 64)).toBe(1) // still served, a piece per window
    } finally {
      await seller.stop()
    }
  }, 120_000)

  it('forgiveUnpaidAfterMs 0 never forgives; a bad period is refused before anything is opened', async () => {
    const usdc = chain.deployment.tokens.USDC
    const buyer = await newActor(chain, 10_000n)
    await buyer.escrow('deposit', [usdc, 10_000n])
    const payee = await newActor(chain)
    const clock = movableClock()
    const seller = await startSeller(chain, dir, 'no-forgive', payee, piece, { forgiveUnpaidAfterMs: 0 }, clock)
    try {
      await seller.follow(buyer.address, usdc)
      expect(serve(seller, buyer.address, usdc, piece, 4)).toBe(1)
      clock.advance(365 * DAY)
      expect(seller.credit(buyer.address, usdc).writtenOff).toBe(0n)
      expect(seller.credit(buyer.address, usdc).unpaid).toBe(piece)
      expect(serve(seller, buyer.address, usdc, piece, 1)).toBe(0)
    } finally {
      await seller.stop()
    }
    let err: string | undefined
    try {
      await startSeller(chain, dir, 'bad-forgive', payee, piece, { forgiveUnpaidAfterMs: -1 })
    } catch (e) {
      err = (e as { code?: string }).code
    }
    expect(err).toBe('BITCDN_ERR_AMOUNT_RANGE')
  }, 60_000)
})
