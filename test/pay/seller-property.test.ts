/**
 * Property test on a real anvil: random buyer behaviour — deposit, allocate, deallocate (and
 * cancel), withdraw, rotate the signer, pay honestly, overpay, drain the free balance to a second
 * address, stop paying, let a forgiveness period pass (the sellers' clocks move a day: an idle
 * payer's debt is written off) — against 3 sellers. After every step, for every (buyer, seller)
 * pair, what was written off must be within `writeOffBound` and what was written off plus what is
 * owed now within `sellerLossBound` — the lifetime bounds (SELLER-BOUND.md), which do not grow
 * with time, only by a first window per write-off. After the run every seller claims what it
 * holds, and for every pair the seller's loss (value delivered, written off or not, − `paidOut`)
 * must be within `sellerLossBound` counting that pair's write-offs; the escrow's accounting
 * invariant must hold throughout.
 *
 * The seed is printed; rerun one with BITCDN_PROP_SEED=<seed>.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Address, Hex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { tokenUnits } from '@bitcdn/core'
import { escrowAbi, sellerLossBound, testTokenAbi, writeOffBound, type LossBoundParams, type SellerSettlement, type WriteOff } from '@bitcdn/pay'
import { startPayChain, type PayChain } from './helpers.js'
import { movableClock, newActor, paidOut, serve, settleAll, startSeller, until, type Actor } from './seller-harness.js'

const WITHDRAW_DELAY = 600
const DAY = 86_400_000
const STEPS = 90
let chain: PayChain
const dir = mkdtempSync(join(tmpdir(), 'bitcdn-prop-'))
beforeAll(async () => {
  chain = await startPayChain({ withdrawDelaySeconds: WITHDRAW_DELAY })
})
afterAll(async () => {
  await chain?.anvil.stop()
  rmSync(dir, { recursive: true, force: true })
})

const piece = tokenUnits(1_000n)
const maxWindow = piece * 16n

function prng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1
  return (n) => {
    // xorshift32: small, seeded, good enough to pick actions
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s % n
  }
}

interface Buyer {
  actor: Actor
  /** The key cheques are signed with (the owner's, or the hot signer's). */
  signer: Hex
  mode: 'honest' | 'overpay' | 'stop'
  /** Cumulative signed per seller. */
  signed: bigint[]
  /** Delivered value already paid for per seller. */
  paidFor: bigint[]
}

describe('seller property test: random buyers against 3 sellers', () => {
  it('no seller ever loses more than its documented bound; the escrow invariant holds', async () => {
    const seed = Number(process.env.BITCDN_PROP_SEED ?? Date.now() % 2 ** 31)
    console.log(`seller property test seed: ${seed}`)
    const rnd = prng(seed)
    const usdc = chain.deployment.tokens.USDC
    const escrow = chain.deployment.escrow
    const read = <T>(functionName: string, args: readonly unknown[]): Promise<T> =>
      chain.publicClient.readContract({ address: escrow, abi: escrowAbi, functionName, args } as never) as Promise<T>

    const payees = await Promise.all([0, 1, 2].map(() => newActor(chain)))
    const sellers: SellerSettlement[] = []
    // the sellers' wall clock: a forgiveness period passes when the test says so
    const clock = movableClock()
    /** Write-offs per seller and payer, and what the payer had been credited before its last one. */
    const writeOffs = new Map<string, { n: number; paidBefore: bigint }>()
    for (let i = 0; i < 3; i++) {
      const onWriteOff = (w: WriteOff): void => {
        const k = `${i}:${w.payer}`
        const e = writeOffs.get(k) ?? { n: 0, paidBefore: 0n }
        e.n++
        e.paidBefore = sellers[i]!.credit(w.payer, w.token).state.paid
        writeOffs.set(k, e)
      }
      sellers.push(await startSeller(chain, dir, `seller${i}`, payees[i]!, piece, { forgiveUnpaidAfterMs: DAY, onWriteOff }, clock))
    }
    /** All value a seller delivered to a buyer: what is still counted plus what was written off. */
    const deliveredAll = (s: SellerSettlement, buyer: Actor): bigint => {
      const c = s.credit(buyer.address, usdc)
      return c.state.delivered + c.writtenOff
    }
    const buyers: Buyer[] = []
    const puppets: Actor[] = []
    for (let i = 0; i < 3; i++) {
      const actor = await newActor(chain, 10n ** 9n)
      buyers.push({ actor, signer: actor.privateKey, mode: (['honest', 'overpay', 'stop'] as const)[rnd(3)]!, signed: [0n, 0n, 0n], paidFor: [0n, 0n, 0n] })
      puppets.push(await newActor(chain))
    }
    // the largest hard collateral each buyer ever gave each seller (the bound's `hard`)
    const maxHard = buyers.map(() => [0n, 0n, 0n])
    const log: string[] = []
    const allocated = buyers.map(() => [0n, 0n, 0n])
    const boundParams = (bi: number, si: number): LossBoundParams => {
      const w = writeOffs.get(`${si}:${buyers[bi]!.actor.address}`) ?? { n: 0, paidBefore: 0n }
      return { maxWindow, softAllowance: piece, hardCollateral: maxHard[bi]![si]!, writeOffs: w.n, firstWindow: piece, paidBeforeWriteOffs: w.paidBefore }
    }
    /**
     * The lifetime bounds at every step (no chain reads): the written-off total, and that plus the
     * unpaid delivery now — value delivered that nothing credited pays for.
     */
    const lifetime = (step: number): void => {
      for (const [bi, b] of buyers.entries()) {
        for (const [si, s] of sellers.entries()) {
          const c = s.credit(b.actor.address, usdc)
          const p = boundParams(bi, si)
          const what = `step ${step} b${bi}→s${si}: written off ${c.writtenOff} in ${p.writeOffs}, owes ${c.unpaid}, cap ${c.windowCap}\n${log.join('\n')}`
          expect(c.writtenOff, what).toBeLessThanOrEqual(writeOffBound(p))
          expect(c.writtenOff + c.unpaid, what).toBeLessThanOrEqual(sellerLossBound(p))
          expect(c.windowCap, what).toBe(maxWindow - c.writtenOff > piece ? maxWindow - c.writtenOff : piece)
        }
      }
    }

    const tryTx = async (a: Actor, fn: string, args: readonly unknown[]): Promise<boolean> => {
      try {
        await a.escrow(fn, args)
        return true
      } catch {
        return false // a revert (notice not elapsed, rotation too soon…) is a no-op step
      }
    }
    /** Lets every seller see the newest block and finish its urgent claims (time must not jump past them). */
    const sync = async (): Promise<void> => {
      await chain.testClient.mine({ blocks: 1 })
      const t = (await chain.publicClient.getBlock({ blockTag: 'latest' })).timestamp
      for (const s of sellers) await until('the watcher to see the newest block', () => s.watcher.chainTimeS() >= t)
      await new Promise((r) => setTimeout(r, 200)) // event polls (50 ms) deliver the last logs
      for (const s of sellers) await s.cashout.tick()
      await chain.testClient.mine({ blocks: 1 })
      for (const s of sellers) await s.cashout.tick()
    }
    const invariant = async (): Promise<void> => {
      // one block for every read: sellers' urgent claims and withdrawals land in the background
      const blockNumber = await chain.publicClient.getBlockNumber({ cacheTime: 0 })
      const read = <T>(functionName: string, args: readonly unknown[]): Promise<T> =>
        chain.publicClient.readContract({ address: escrow, abi: escrowAbi, functionName, args, blockNumber } as never) as Promise<T>
      let books = 0n
      for (const b of buyers) {
        books += await read<bigint>('balanceOf', [b.actor.address, usdc])
        for (const p of [...payees, ...puppets]) books += (await read<[bigint, bigint, number]>('allocation', [b.actor.address, p.address, usdc]))[0]
      }
      for (const p of [...payees, ...puppets]) books += await read<bigint>('earnings', [p.address, usdc])
      const held = await chain.publicClient.readContract({ address: usdc, abi: testTokenAbi, functionName: 'balanceOf', args: [escrow], blockNumber })
      expect(books, `escrow books vs tokens held after:\n${log.join('\n')}`).toBe(held)
    }

    for (const [i, b] of buyers.entries()) {
      await b.actor.escrow('deposit', [usdc, BigInt(5 + rnd(20)) * piece])
      for (const s of sellers) await s.follow(b.actor.address, usdc)
      void i
    }
    for (let step = 0; step < STEPS; step++) {
      const bi = rnd(buyers.length)
      const b = buyers[bi]!
      const si = rnd(3)
      const seller = sellers[si]!
      const payee = payees[si]!.address
      const free = await read<bigint>('balanceOf', [b.actor.address, usdc])
      const op = rnd(13)
      if (op === 0) {
        await tryTx(b.actor, 'deposit', [usdc, BigInt(1 + rnd(10)) * piece])
        log.push(`${step} b${bi} deposit`)
      } else if (op === 1 && free > 0n) {
        const amount = 1n + BigInt(rnd(Number(free)))
        if (await tryTx(b.actor, 'allocate', [payee, usdc, amount])) {
          allocated[bi]![si]! += amount
          const [now] = await read<[bigint, bigint, number]>('allocation', [b.actor.address, payee, usdc])
          if (now > maxHard[bi]![si]!) maxHard[bi]![si] = now
        }
        log.push(`${step} b${bi} allocate s${si}`)
      } else if (op === 2) {
        const [now] = await read<[bigint, bigint, number]>('allocation', [b.actor.address, payee, usdc])
        if (now > 0n) await tryTx(b.actor, 'requestDeallocate', [payee, usdc, 1n + BigInt(rnd(Number(now)))])
        if (rnd(3) === 0) await tryTx(b.actor, 'cancelDeallocate', [payee, usdc])
        log.push(`${step} b${bi} deallocate s${si}`)
      } else if (op === 3 && free > 0n) {
        await tryTx(b.actor, 'requestWithdraw', [usdc, 1n + BigInt(rnd(Number(free)))])
        log.push(`${step} b${bi} withdraw`)
      } else if (op === 4) {
        // time passes (after the sellers had their chance to claim), and every notice due is finalized
        await sync()
        await chain.testClient.increaseTime({ seconds: WITHDRAW_DELAY + 1 })
        await chain.testClient.mine({ blocks: 1 })
        for (const x of buyers) {
          await tryTx(x.actor, 'finalizeWithdraw', [usdc])
          for (const p of payees) await tryTx(x.actor, 'finalizeDeallocate', [p.address, usdc])
        }
        log.push(`${step} time +${WITHDRAW_DELAY + 1}s`)
      } else if (op === 5) {
        const key = generatePrivateKey()
        if (await tryTx(b.actor, 'setSigner', [privateKeyToAddress(key)])) b.signer = key
        log.push(`${step} b${bi} rotate`)
      } else if (op === 6 && free > 0n) {
        // the sock puppet takes the whole free balance at once
        const c = await b.actor.cheque(puppets[bi]!.address, (await read<bigint>('paidOut', [b.actor.address, puppets[bi]!.address, usdc])) + free, b.signer)
        await tryTx(puppets[bi]!, 'claim', [[c]])
        log.push(`${step} b${bi} drain`)
      } else if (op === 7) {
        b.mode = (['honest', 'overpay', 'stop'] as const)[rnd(3)]!
        log.push(`${step} b${bi} now ${b.mode}`)
      } else if (op === 8) {
        // a forgiveness period passes on the sellers' clocks; an idle payer's debt is written off
        // when the seller next looks it up (here at once, for every pair)
        clock.advance(DAY)
        for (const s of sellers) for (const x of buyers) s.credit(x.actor.address, usdc)
        log.push(`${step} clock +1 day`)
      } else {
        // consume: take what the seller serves, then pay as the buyer's mode says (an honest
        // buyer pays for everything it got, written off or not)
        const n = serve(seller, b.actor.address, usdc, piece, 1 + rnd(6))
        const delivered = deliveredAll(seller, b.actor)
        const owed = delivered - b.paidFor[si]!
        if (b.mode !== 'stop' && owed > 0n) {
          const extra = b.mode === 'overpay' ? BigInt(rnd(4)) * piece : 0n
          const cumulative = b.signed[si]! + owed + extra
          const r = await seller.receive([await b.actor.cheque(payee, cumulative, b.signer)], { peer: `b${bi}` })
          if (r.accepted.length > 0) {
            b.signed[si] = cumulative
            b.paidFor[si] = delivered + extra
          }
        }
        log.push(`${step} b${bi} consume s${si}: ${n} pieces (${b.mode})`)
      }
      lifetime(step)
      if (step % 15 === 14 || process.env.BITCDN_PROP_EVERY) await invariant()
    }
    // the end: time passes with the sellers claiming first, every notice is finalized, sellers settle
    await sync()
    for (const s of sellers) await settleAll(chain, s)
    await chain.testClient.increaseTime({ seconds: WITHDRAW_DELAY + 1 })
    await chain.testClient.mine({ blocks: 1 })
    for (const x of buyers) {
      await tryTx(x.actor, 'finalizeWithdraw', [usdc])
      for (const p of payees) await tryTx(x.actor, 'finalizeDeallocate', [p.address, usdc])
    }
    for (const s of sellers) await settleAll(chain, s)
    await invariant()

    const report: string[] = []
    for (const [bi, b] of buyers.entries()) {
      for (const [si, s] of sellers.entries()) {
        const delivered = deliveredAll(s, b.actor)
        const got = await paidOut(chain, b.actor.address, payees[si]!.address)
        const loss = delivered > got ? delivered - got : 0n
        const p = boundParams(bi, si)
        const bound = sellerLossBound(p)
        report.push(`b${bi}→s${si}: delivered ${delivered} (written off ${s.credit(b.actor.address, usdc).writtenOff} in ${p.writeOffs}), paid ${got}, loss ${loss}, bound ${bound}`)
        expect(loss, `${report.at(-1)}\n${log.join('\n')}`).toBeLessThanOrEqual(bound)
      }
    }
    console.log(report.join('\n'))
    for (const s of sellers) await s.stop()
  }, 600_000)
})
