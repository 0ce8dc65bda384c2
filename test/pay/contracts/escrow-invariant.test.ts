/**
 * Property test of the escrow's arithmetic: random operations from a seeded PRNG — deposits,
 * cheques signed by current/retired/revoked/owner/stranger keys, batched claims through `claim` and
 * `claimCompact` (stale cheques included), withdrawal requests/finalize/cancel, allocations and
 * their decrease/cancel, signer rotations and revocations, spending caps, earnings withdrawals,
 * time jumps (near deadlines, and past the finalize window so notices lapse) — run against the
 * real contract on anvil and against a TypeScript model of it. After every operation:
 *  - per token: Σ free balances + Σ allocations + Σ earnings == token.balanceOf(escrow) (pending
 *    withdrawals and deallocations stay inside the free balances and allocations until finalized);
 *  - every balance, allocation, paidOut and earning equals the model's;
 *  - paidOut never decreases, and never exceeds the largest cheque that was valid when claimed;
 * and for every cheque submitted, viem's hashTypedData equals the contract's chequeDigest.
 * Reproduce a failure with BITCDN_INVARIANT_SEED=<seed printed in the failure>.
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { parseEventLogs, type Account, type Address, type TransactionReceipt } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tokenUnits } from '@bitcdn/core'
import { ChequeRejectReason, escrowAbi, testTokenAbi } from '../../../packages/pay/src/contracts/index.js'
import { encodeCompactRows } from '../../../packages/pay/src/cashout/compact-rows.js'
import { chequeDigestTs, readEscrow, setup, signCheque, tokenBalance, type Fixture, type SignedCheque } from './fixture.js'

const USD = 1_000_000n
const DELAY = 5000 // longer than REVOKE_DELAY, so revocations really cut
const REVOKE = 3600n
const WINDOW = 86_400n
const STEPS = Number(process.env.BITCDN_INVARIANT_STEPS ?? 200)
const SEED = Number(process.env.BITCDN_INVARIANT_SEED ?? 0xb17cd)

/** mulberry32: tiny, fast, good enough to drive a property test reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Notice {
  amount: bigint
  readyAt: bigint
}
interface Keys {
  current?: Account
  /** 0 = open-ended; else the end of a revoked current key's validity */
  currentUntil: bigint
  previous?: Account
  validUntil: bigint
}
interface Cap {
  cap: bigint
  period: bigint
  periodStart: bigint
  spent: bigint
  change?: { cap: bigint; period: bigint; effectiveAt: bigint }
  capped: boolean
}

describe('BitCDNEscrow invariants under random operations', () => {
  let f: Fixture
  beforeAll(async () => {
    f = await setup({ accounts: 8, withdrawDelaySeconds: DELAY, fund: 10_000_000n * USD })
  })
  afterAll(async () => {
    await f?.stop()
  })

  it(`holds for ${STEPS} random operations (seed ${SEED})`, { timeout: 600_000 }, async () => {
    const rand = prng(SEED)
    const int = (n: number): number => Math.floor(rand() * n)
    const pick = <T,>(xs: readonly T[]): T => xs[int(xs.length)]!
    const amount = (maxUsd: number): bigint => BigInt(1 + int(maxUsd)) * USD + BigInt(int(1_000_000))

    const payerIdx = [1, 2, 3]
    const payeeIdx = [4, 5, 6]
    const payers = payerIdx.map((i) => f.accounts[i]!)
    const payees = payeeIdx.map((i) => f.accounts[i]!.address)
    const tokens = [f.usdc, f.usdt]
    const relayer = 7

    // ---- the model
    const k2 = (a: string, b: string) => `${a}|${b}`
    const k3 = (a: string, b: string, c: string) => `${a}|${b}|${c}`
    const free = new Map<string, bigint>()
    const alloc = new Map<string, bigint>()
    const paid = new Map<string, bigint>()
    const earn = new Map<string, bigint>()
    const pendingW = new Map<string, Notice>()
    const pendingD = new Map<string, Notice>()
    const get = (m: Map<string, bigint>, k: string) => m.get(k) ?? 0n
    const keys = new Map<Address, Keys>()
    const caps = new Map<Address, Cap>()
    for (const p of payers) {
      keys.set(p.address, { currentUntil: 0n, validUntil: 0n })
      caps.set(p.address, { cap: 0n, period: 0n, periodStart: 0n, spent: 0n, capped: false })
    }
    // history of signed cheques per (payer, payee, token), with the key that signed each
    const issued = new Map<string, { sc: SignedCheque; signer: Address }[]>()
    const lastPaidOut = new Map<string, bigint>()
    // the largest cumulative of a cheque that was valid (authorized key) when it was claimed
    const maxValid = new Map<string, bigint>()

    const txTime = async (r: TransactionReceipt): Promise<bigint> =>
      (await f.publicClient.getBlock({ blockNumber: r.blockNumber })).timestamp
    const send = async (who: number | Account, address: Address, abi: typeof escrowAbi | typeof testTokenAbi, functionName: string, args: readonly unknown[]) => {
      // explicit gas: no estimation, so a revert lands on chain and we compare it with the model
      const hash = await f.wallet(who as number).writeContract({ address, abi, functionName, args, gas: 3_000_000n } as never)
      return f.publicClient.waitForTransactionReceipt({ hash })
    }
    const escrowCall = (who: number | Account, functionName: string, args: readonly unknown[]) =>
      send(who, f.escrow, escrowAbi, functionName, args)

    const signerValid = (payer: Address, signer: Address, now: bigint): boolean => {
      const k = keys.get(payer)!
      if (signer === payer) return true
      if (k.current && signer === k.current.address && (k.currentUntil === 0n || now <= k.currentUntil)) return true
      return !!k.previous && signer === k.previous.address && now <= k.validUntil
    }

    // ---- the spending cap, as _effectiveCap / _drawCap / _currentPeriodStart
    const periodStartAt = (c: { period: bigint; periodStart: bigint }, now: bigint): bigint =>
      c.period === 0n || now < c.periodStart + c.period ? c.periodStart : now - ((now - c.periodStart) % c.period)
    const drawCap = (payer: Address, want: bigint, now: bigint): bigint => {
      const c = caps.get(payer)!
      if (c.change && now >= c.change.effectiveAt) {
        c.cap = c.change.cap
        c.period = c.change.period
        if (c.periodStart === 0n) c.periodStart = c.change.effectiveAt
        c.change = undefined
      }
      if (c.cap === 0n) return want
      const start = periodStartAt(c, now)
      if (start !== c.periodStart) {
        c.spent = 0n
        c.periodStart = start
      }
      const left = c.cap > c.spent ? c.cap - c.spent : 0n
      const allowed = want < left ? want : left
      c.spent += allowed
      tally(allowed < want ? 'cap limited a draw' : 'cap allowed a draw')
      return allowed
    }
    const setCap = (payer: Address, cap: bigint, period: bigint, now: bigint): void => {
      const c = caps.get(payer)!
      if (cap === 0n) period = 0n
      const eff = { cap: c.cap, period: c.period, periodStart: c.periodStart }
      if (c.change && now >= c.change.effectiveAt) {
        eff.cap = c.change.cap
        eff.period = c.change.period
        if (eff.periodStart === 0n) eff.periodStart = c.change.effectiveAt
      }
      if (eff.cap !== 0n && eff.periodStart === 0n) eff.periodStart = now
      const loosening = cap === 0n || (eff.cap !== 0n && cap >= eff.cap && period <= eff.period)
      if (loosening) {
        c.change = undefined
        if (cap === 0n) Object.assign(c, { cap: 0n, period: 0n, periodStart: 0n, spent: 0n, capped: false })
        else Object.assign(c, { cap, period, periodStart: eff.periodStart })
      } else {
        c.change = { cap, period, effectiveAt: now + BigInt(DELAY) }
        c.capped = true
      }
    }

    /** One claim row in the model; what the escrow must emit for it. */
    const settle = (c: SignedCheque['cheque'], signer: Address, now: bigint): { reason?: number; pay: bigint; shortfall: bigint } => {
      const k = k3(c.payer, c.payee, c.token)
      if (!signerValid(c.payer, signer, now)) return { reason: ChequeRejectReason.UnauthorizedSigner, pay: 0n, shortfall: 0n }
      const already = get(paid, k)
      if (c.cumulativeAmount <= already) return { reason: ChequeRejectReason.NotNewer, pay: 0n, shortfall: 0n }
      if (c.cumulativeAmount > (maxValid.get(k) ?? 0n)) maxValid.set(k, c.cumulativeAmount)
      const owed = c.cumulativeAmount - already
      const a = get(alloc, k)
      let pay: bigint
      let shortfall = 0n
      if (owed <= a) {
        pay = owed
        alloc.set(k, a - owed)
      } else {
        const fromFree = owed - a
        const fr = get(free, k2(c.payer, c.token))
        let drawable = fromFree < fr ? fromFree : fr
        if (signer !== c.payer && caps.get(c.payer)!.capped && drawable !== 0n) drawable = drawCap(c.payer, drawable, now)
        shortfall = fromFree - drawable
        free.set(k2(c.payer, c.token), fr - drawable)
        pay = a + drawable
        alloc.set(k, 0n)
      }
      paid.set(k, already + pay)
      earn.set(k2(c.payee, c.token), get(earn, k2(c.payee, c.token)) + pay)
      return { pay, shortfall }
    }
    const live = (n: Notice | undefined, now: bigint): boolean => !!n && now <= n.readyAt + WINDOW

    const log: string[] = []
    const check = async (step: number) => {
      for (const t of tokens) {
        let sum = 0n
        const reads: Promise<void>[] = []
        for (const p of payers) {
          reads.push(
            readEscrow(f, 'balanceOf', [p.address, t]).then((v: bigint) => {
              expect(v, `free ${p.address} ${t}`).toBe(get(free, k2(p.address, t)))
              sum += v
            }),
          )
          for (const q of payees) {
            reads.push(
              readEscrow(f, 'allocation', [p.address, q, t]).then(([a]: [bigint]) => {
                expect(a, `alloc ${p.address}→${q}`).toBe(get(alloc, k3(p.address, q, t)))
                sum += a
              }),
            )
            reads.push(
              readEscrow(f, 'paidOut', [p.address, q, t]).then((v: bigint) => {
                const k = k3(p.address, q, t)
                expect(v, `paidOut ${k}`).toBe(get(paid, k))
                expect(v >= (lastPaidOut.get(k) ?? 0n), `paidOut decreased ${k}`).toBe(true)
                expect(v <= (maxValid.get(k) ?? 0n), `paidOut ${k} beyond every valid cheque`).toBe(true)
                lastPaidOut.set(k, v)
              }),
            )
          }
        }
        for (const q of payees) {
          reads.push(
            readEscrow(f, 'earnings', [q, t]).then((v: bigint) => {
              expect(v, `earnings ${q}`).toBe(get(earn, k2(q, t)))
              sum += v
            }),
          )
        }
        await Promise.all(reads)
        expect(sum, `step ${step}: Σ free + allocations + earnings == balance of escrow in ${t}`).toBe(
          await tokenBalance(f, t, f.escrow),
        )
      }
    }

    /** Often jumps to within a couple of seconds of a notice's end, to probe the boundary. */
    const nearDeadline = async (readyAt: bigint) => {
      if (rand() < 0.25) return
      const now = (await f.publicClient.getBlock()).timestamp
      const target = readyAt + BigInt(int(5)) - 3n // the next tx lands at ≥ now + 1
      if (target > now) {
        await f.testClient.increaseTime({ seconds: Number(target - now) })
        await f.testClient.mine({ blocks: 1 })
      }
    }
    const counts: Record<string, number> = {}
    const tally = (name: string) => {
      counts[`  ${name}`] = (counts[`  ${name}`] ?? 0) + 1
    }
    for (let step = 0; step < STEPS; step++) {
      const r = rand()
      // Operations on a pending notice mostly target one that exists, so they exercise success paths.
      let p = pick(payers)
      let q = pick(payees)
      let t = pick(tokens)
      const focus = (keys_: string[]) => {
        if (keys_.length === 0 || rand() < 0.1) return
        const [kp, a, b] = pick(keys_).split('|') as [Address, Address, Address?]
        p = payers.find((x) => x.address === kp)!
        if (b) {
          q = a
          t = b
        } else t = a
      }
      if (r >= 0.54 && r < 0.61) focus([...pendingW.keys()])
      else if (r >= 0.68 && r < 0.71) focus([...alloc.entries()].filter(([, v]) => v > 0n).map(([k]) => k))
      else if (r >= 0.71 && r < 0.78) focus([...pendingD.keys()])
      const pi = payerIdx[payers.indexOf(p)]!
      const qi = payeeIdx[payees.indexOf(q)]!
      let op: string
      try {
        if (r < 0.12) {
          op = 'deposit'
          const amt = amount(200)
          await send(pi, t, testTokenAbi, 'approve', [f.escrow, amt])
          const rc = await escrowCall(pi, 'deposit', [t, amt])
          expect(rc.status).toBe('success')
          free.set(k2(p.address, t), get(free, k2(p.address, t)) + amt)
        } else if (r < 0.3) {
          op = 'cheque'
          const k = k3(p.address, q, t)
          const hist = issued.get(k) ?? []
          const prev = hist.at(-1)?.sc.cheque.cumulativeAmount ?? 0n
          const ks = keys.get(p.address)!
          const signer =
            rand() < 0.05
              ? privateKeyToAccount(generatePrivateKey()) // a stranger's key: must be rejected
              : ks.current && rand() < 0.85
                ? ks.current
                : rand() < 0.5 && ks.previous
                  ? ks.previous
                  : p
          const sc = await signCheque(f, signer, { payer: p.address, payee: q, token: t, cumulativeAmount: prev + amount(40) })
          hist.push({ sc, signer: signer.address })
          issued.set(k, hist)
        } else if (r < 0.4) {
          op = 'claim'
          const rows: { sc: SignedCheque; signer: Address }[] = []
          const n = 1 + int(6)
          const all = [...issued.values()].filter((h) => h.length > 0)
          for (let i = 0; i < n && all.length > 0; i++) {
            const h = pick(all)
            rows.push(rand() < 0.8 ? h.at(-1)! : pick(h))
          }
          for (const { sc } of rows) {
            expect(await readEscrow(f, 'chequeDigest', [sc.cheque])).toBe(chequeDigestTs(f, sc.cheque))
          }
          const rc = await escrowCall(relayer, 'claim', [rows.map((r) => r.sc)])
          expect(rc.status).toBe('success')
          const now = await txTime(rc)
          const events = parseEventLogs({ abi: escrowAbi, logs: rc.logs })
          const expected: { name: string; args: Record<string, unknown> }[] = []
          rows.forEach((row, index) => {
            const c = row.sc.cheque
            const o = settle(c, row.signer, now)
            if (o.reason !== undefined) {
              expected.push({ name: 'ChequeRejected', args: { index: BigInt(index), reason: o.reason } })
              return
            }
            if (o.pay > 0n) expected.push({ name: 'ChequeClaimed', args: { paid: o.pay, cumulativeAmount: c.cumulativeAmount } })
            if (o.shortfall > 0n) expected.push({ name: 'ChequeBounced', args: { shortfall: o.shortfall } })
          })
          for (const e of events) tally(e.eventName)
          expect(events.map((e) => e.eventName)).toEqual(expected.map((e) => e.name))
          events.forEach((e, i) => expect(e.args).toMatchObject(expected[i]!.args))
        } else if (r < 0.5) {
          op = 'claimCompact'
          // the cash-out's shape: one payee and token, the newest (sometimes a stale) cheque of several payers
          const rows: { sc: SignedCheque; signer: Address }[] = []
          for (const payer of payers) {
            const h = issued.get(k3(payer.address, q, t)) ?? []
            if (h.length > 0 && rand() < 0.8) rows.push(rand() < 0.8 ? h.at(-1)! : pick(h))
          }
          const data = encodeCompactRows(q, t, rows.map(({ sc }) => ({ cheque: { ...sc.cheque, cumulativeAmount: tokenUnits(sc.cheque.cumulativeAmount) }, signature: sc.signature })))
          const rc = await escrowCall(relayer, 'claimCompact', [q, t, data])
          expect(rc.status).toBe('success')
          const now = await txTime(rc)
          const events = parseEventLogs({ abi: escrowAbi, logs: rc.logs })
          const expected: { name: string; args: Record<string, unknown> }[] = []
          let total = 0n
          rows.forEach((row, index) => {
            const c = row.sc.cheque
            const o = settle(c, row.signer, now)
            if (o.reason !== undefined) {
              expected.push({ name: 'ChequeRejected', args: { index: BigInt(index), reason: o.reason } })
              return
            }
            total += o.pay
            if (o.pay > 0n) expected.push({ name: 'ChequePaid', args: { payer: c.payer, paid: o.pay } })
            if (o.shortfall > 0n) expected.push({ name: 'ChequeBounced', args: { shortfall: o.shortfall } })
          })
          expected.push({ name: 'CompactClaimed', args: { payee: q, token: t, rows: BigInt(rows.length), totalPaid: total } })
          for (const e of events) tally(e.eventName)
          expect(events.map((e) => e.eventName)).toEqual(expected.map((e) => e.name))
          events.forEach((e, i) => expect(e.args).toMatchObject(expected[i]!.args))
        } else if (r < 0.54) {
          op = 'requestWithdraw'
          const fr = get(free, k2(p.address, t))
          if (fr === 0n) continue
          const amt = 1n + BigInt(Math.floor(rand() * Number(fr)))
          const rc = await escrowCall(pi, 'requestWithdraw', [t, amt])
          expect(rc.status).toBe('success')
          pendingW.set(k2(p.address, t), { amount: amt, readyAt: (await txTime(rc)) + BigInt(DELAY) })
        } else if (r < 0.59) {
          op = 'finalizeWithdraw'
          const pw = pendingW.get(k2(p.address, t))
          if (pw) await nearDeadline(pw.readyAt)
          const rc = await escrowCall(pi, 'finalizeWithdraw', [t])
          const now = await txTime(rc)
          const ok = !!pw && now >= pw.readyAt && now <= pw.readyAt + WINDOW
          expect(rc.status, `finalizeWithdraw ready=${pw?.readyAt} now=${now}`).toBe(ok ? 'success' : 'reverted')
          tally(ok ? 'finalizeWithdraw paid' : pw && now > pw.readyAt + WINDOW ? 'finalizeWithdraw lapsed' : 'finalizeWithdraw reverted')
          if (ok) {
            const fr = get(free, k2(p.address, t))
            const out = pw!.amount < fr ? pw!.amount : fr
            free.set(k2(p.address, t), fr - out)
            pendingW.delete(k2(p.address, t))
          }
        } else if (r < 0.61) {
          op = 'cancelWithdraw'
          const rc = await escrowCall(pi, 'cancelWithdraw', [t])
          const ok = live(pendingW.get(k2(p.address, t)), await txTime(rc))
          expect(rc.status).toBe(ok ? 'success' : 'reverted')
          if (ok) pendingW.delete(k2(p.address, t))
        } else if (r < 0.68) {
          op = 'allocate'
          const fr = get(free, k2(p.address, t))
          if (fr === 0n) continue
          const amt = 1n + BigInt(Math.floor(rand() * Number(fr)))
          const rc = await escrowCall(pi, 'allocate', [q, t, amt])
          expect(rc.status).toBe('success')
          free.set(k2(p.address, t), fr - amt)
          alloc.set(k3(p.address, q, t), get(alloc, k3(p.address, q, t)) + amt)
        } else if (r < 0.71) {
          op = 'requestDeallocate'
          const a = get(alloc, k3(p.address, q, t))
          if (a === 0n) continue
          const amt = 1n + BigInt(Math.floor(rand() * Number(a)))
          const rc = await escrowCall(pi, 'requestDeallocate', [q, t, amt])
          expect(rc.status).toBe('success')
          pendingD.set(k3(p.address, q, t), { amount: amt, readyAt: (await txTime(rc)) + BigInt(DELAY) })
        } else if (r < 0.75) {
          op = 'finalizeDeallocate'
          const k = k3(p.address, q, t)
          const pd = pendingD.get(k)
          if (pd) await nearDeadline(pd.readyAt)
          const rc = await escrowCall(pi, 'finalizeDeallocate', [q, t])
          const now = await txTime(rc)
          const ok = !!pd && now >= pd.readyAt && now <= pd.readyAt + WINDOW
          expect(rc.status).toBe(ok ? 'success' : 'reverted')
          tally(ok ? 'finalizeDeallocate done' : pd && now > pd.readyAt + WINDOW ? 'finalizeDeallocate lapsed' : 'finalizeDeallocate reverted')
          if (ok) {
            const a = get(alloc, k)
            const back = pd!.amount < a ? pd!.amount : a
            alloc.set(k, a - back)
            free.set(k2(p.address, t), get(free, k2(p.address, t)) + back)
            pendingD.delete(k)
          }
        } else if (r < 0.78) {
          op = 'cancelDeallocate'
          const k = k3(p.address, q, t)
          const rc = await escrowCall(pi, 'cancelDeallocate', [q, t])
          const ok = live(pendingD.get(k), await txTime(rc))
          expect(rc.status).toBe(ok ? 'success' : 'reverted')
          tally(ok ? 'cancelDeallocate done' : 'cancelDeallocate reverted')
          if (ok) pendingD.delete(k)
        } else if (r < 0.82) {
          op = 'setSigner'
          // a quarter of the time: retire the hot key without a successor (address 0)
          const next = rand() < 0.25 ? undefined : privateKeyToAccount(generatePrivateKey())
          const rc = await escrowCall(pi, 'setSigner', [next?.address ?? '0x0000000000000000000000000000000000000000'])
          const now = await txTime(rc)
          const ks = keys.get(p.address)!
          const currentLive = !!ks.current && (ks.currentUntil === 0n || now <= ks.currentUntil)
          let outcome: string
          if (ks.current?.address === next?.address && ks.currentUntil === 0n) outcome = 'noop'
          else if (!currentLive) outcome = 'set'
          else if (ks.previous && now <= ks.validUntil) outcome = 'too soon'
          else outcome = 'rotated'
          expect(rc.status, `setSigner ${outcome}`).toBe(outcome === 'too soon' ? 'reverted' : 'success')
          tally(`setSigner ${outcome}`)
          if (outcome === 'set') keys.set(p.address, { ...ks, current: next, currentUntil: 0n })
          if (outcome === 'rotated') {
            keys.set(p.address, { current: next, currentUntil: 0n, previous: ks.current, validUntil: ks.currentUntil !== 0n ? ks.currentUntil : now + BigInt(DELAY) })
          }
        } else if (r < 0.85) {
          op = 'revokeSigner'
          const rc = await escrowCall(pi, 'revokeSigner', [])
          const now = await txTime(rc)
          const until = now + (REVOKE < BigInt(DELAY) ? REVOKE : BigInt(DELAY))
          const ks = { ...keys.get(p.address)! }
          let revoked = false
          if (ks.current && (ks.currentUntil === 0n || ks.currentUntil > until)) {
            if (!ks.previous || now > ks.validUntil) {
              ks.previous = ks.current
              ks.validUntil = until
              ks.current = undefined
              ks.currentUntil = 0n
            } else ks.currentUntil = until
            revoked = true
          }
          if (ks.previous && ks.validUntil > until) {
            ks.validUntil = until
            revoked = true
          }
          expect(rc.status).toBe(revoked ? 'success' : 'reverted')
          tally(revoked ? 'revokeSigner done' : 'revokeSigner nothing')
          if (revoked) keys.set(p.address, ks)
        } else if (r < 0.89) {
          op = 'setSignerCap'
          const cap = rand() < 0.2 ? 0n : amount(12)
          const period = cap === 0n ? 0n : BigInt(60 + int(3 * DELAY))
          const rc = await escrowCall(pi, 'setSignerCap', [cap, period])
          expect(rc.status).toBe('success')
          setCap(p.address, cap, period, await txTime(rc))
        } else if (r < 0.92) {
          op = 'withdrawEarnings'
          const e = get(earn, k2(q, t))
          const rc = await escrowCall(qi, 'withdrawEarnings', [t, q])
          expect(rc.status).toBe(e > 0n ? 'success' : 'reverted')
          earn.set(k2(q, t), 0n)
        } else if (r < 0.985) {
          op = 'time'
          await f.testClient.increaseTime({ seconds: int(Math.floor(DELAY * 1.5)) })
          await f.testClient.mine({ blocks: 1 })
        } else {
          op = 'time past the finalize window'
          await f.testClient.increaseTime({ seconds: Number(WINDOW) + int(DELAY) })
          await f.testClient.mine({ blocks: 1 })
        }
        counts[op] = (counts[op] ?? 0) + 1

        log.push(op)
        await check(step)
      } catch (err) {
        throw new Error(`invariant broken at step ${step} (seed ${SEED}); last ops: ${log.slice(-8).join(', ')}: ${(err as Error).message}`, { cause: err })
      }
    }
    console.log(`escrow invariant: ${STEPS} steps, seed ${SEED}:`, counts)
    expect(Object.keys(counts).length).toBeGreaterThanOrEqual(20)
  })
})

