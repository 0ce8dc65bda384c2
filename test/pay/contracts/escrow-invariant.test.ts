/**
 * Property test of the escrow's arithmetic: random operations from a seeded PRNG (deposits, cheques
 * signed by current/rotated/owner keys, batched claims including stale cheques, withdrawal
 * requests/finalize/cancel, allocations and their decrease, signer rotations, earnings withdrawals,
 * time jumps) run against the real contract on anvil and against a TypeScript model of it. After
 * every operation:
 *  - per token: Σ free balances + Σ allocations + Σ earnings == token.balanceOf(escrow);
 *  - every balance, allocation, paidOut and earning equals the model's;
 *  - paidOut never decreases;
 * and for every cheque submitted, viem's hashTypedData equals the contract's chequeDigest.
 * Reproduce a failure with BITCDN_INVARIANT_SEED=<seed printed in the failure>.
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { parseEventLogs, type Account, type Address, type TransactionReceipt } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChequeRejectReason, escrowAbi, testTokenAbi } from '../../../packages/pay/src/contracts/index.js'
import { chequeDigestTs, readEscrow, setup, signCheque, tokenBalance, type Fixture, type SignedCheque } from './fixture.js'

const USD = 1_000_000n
const DELAY = 1000
const STEPS = Number(process.env.BITCDN_INVARIANT_STEPS ?? 160)
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

describe('BitCDNEscrow invariants under random operations', () => {
  let f: Fixture
  beforeAll(async () => {
    f = await setup({ accounts: 8, withdrawDelaySeconds: DELAY, fund: 10_000_000n * USD })
  })
  afterAll(async () => {
    await f?.stop()
  })

  it(`holds for ${STEPS} random operations (seed ${SEED})`, async () => {
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
    const keys = new Map<Address, { current?: Account; previous?: Account; validUntil: bigint }>()
    for (const p of payers) keys.set(p.address, { validUntil: 0n })
    // history of signed cheques per (payer, payee, token), with the key that signed each
    const issued = new Map<string, { sc: SignedCheque; signer: Address }[]>()
    const lastPaidOut = new Map<string, bigint>()

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
      if (k.current && signer === k.current.address) return true
      return !!k.previous && signer === k.previous.address && now <= k.validUntil
    }

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
      if (r >= 0.58 && r < 0.67) focus([...pendingW.keys()])
      else if (r >= 0.78 && r < 0.82) focus([...alloc.entries()].filter(([, v]) => v > 0n).map(([k]) => k))
      else if (r >= 0.82 && r < 0.86) focus([...pendingD.keys()])
      const pi = payerIdx[payers.indexOf(p)]!
      const qi = payeeIdx[payees.indexOf(q)]!
      let op: string
      try {
        if (r < 0.14) {
          op = 'deposit'
          const amt = amount(200)
          await send(pi, t, testTokenAbi, 'approve', [f.escrow, amt])
          const rc = await escrowCall(pi, 'deposit', [t, amt])
          expect(rc.status).toBe('success')
          free.set(k2(p.address, t), get(free, k2(p.address, t)) + amt)
        } else if (r < 0.34) {
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
        } else if (r < 0.52) {
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
            const k = k3(c.payer, c.payee, c.token)
            if (!signerValid(c.payer, row.signer, now)) {
              expected.push({ name: 'ChequeRejected', args: { index: BigInt(index), reason: ChequeRejectReason.UnauthorizedSigner } })
              return
            }
            const already = get(paid, k)
            if (c.cumulativeAmount <= already) {
              expected.push({ name: 'ChequeRejected', args: { index: BigInt(index), reason: ChequeRejectReason.NotNewer } })
              return
            }
            const owed = c.cumulativeAmount - already
            const a = get(alloc, k)
            let pay: bigint
            let shortfall = 0n
            if (owed <= a) {
              pay = owed
              alloc.set(k, a - owed)
            } else {
              let fromFree = owed - a
              const fr = get(free, k2(c.payer, c.token))
              if (fromFree > fr) {
                shortfall = fromFree - fr
                fromFree = fr
              }
              free.set(k2(c.payer, c.token), fr - fromFree)
              pay = a + fromFree
              alloc.set(k, 0n)
            }
            paid.set(k, already + pay)
            earn.set(k2(c.payee, c.token), get(earn, k2(c.payee, c.token)) + pay)
            if (pay > 0n) expected.push({ name: 'ChequeClaimed', args: { paid: pay, cumulativeAmount: c.cumulativeAmount } })
            if (shortfall > 0n) expected.push({ name: 'ChequeBounced', args: { shortfall } })
          })
          for (const e of events) tally(e.eventName)
          expect(events.map((e) => e.eventName)).toEqual(expected.map((e) => e.name))
          events.forEach((e, i) => expect(e.args).toMatchObject(expected[i]!.args))
        } else if (r < 0.58) {
          op = 'requestWithdraw'
          const fr = get(free, k2(p.address, t))
          if (fr === 0n) continue
          const amt = 1n + BigInt(Math.floor(rand() * Number(fr)))
          const rc = await escrowCall(pi, 'requestWithdraw', [t, amt])
          expect(rc.status).toBe('success')
          pendingW.set(k2(p.address, t), { amount: amt, readyAt: (await txTime(rc)) + BigInt(DELAY) })
        } else if (r < 0.65) {
          op = 'finalizeWithdraw'
          const pw = pendingW.get(k2(p.address, t))
          if (pw) await nearDeadline(pw.readyAt)
          const rc = await escrowCall(pi, 'finalizeWithdraw', [t])
          const now = await txTime(rc)
          const ok = !!pw && now >= pw.readyAt
          expect(rc.status, `finalizeWithdraw ready=${pw?.readyAt} now=${now}`).toBe(ok ? 'success' : 'reverted')
          tally(ok ? 'finalizeWithdraw paid' : 'finalizeWithdraw reverted')
          if (ok) {
            const fr = get(free, k2(p.address, t))
            const out = pw!.amount < fr ? pw!.amount : fr
            free.set(k2(p.address, t), fr - out)
            pendingW.delete(k2(p.address, t))
          }
        } else if (r < 0.67) {
          op = 'cancelWithdraw'
          const rc = await escrowCall(pi, 'cancelWithdraw', [t])
          expect(rc.status).toBe(pendingW.has(k2(p.address, t)) ? 'success' : 'reverted')
          pendingW.delete(k2(p.address, t))
        } else if (r < 0.78) {
          op = 'allocate'
          const fr = get(free, k2(p.address, t))
          if (fr === 0n) continue
          const amt = 1n + BigInt(Math.floor(rand() * Number(fr)))
          const rc = await escrowCall(pi, 'allocate', [q, t, amt])
          expect(rc.status).toBe('success')
          free.set(k2(p.address, t), fr - amt)
          alloc.set(k3(p.address, q, t), get(alloc, k3(p.address, q, t)) + amt)
        } else if (r < 0.82) {
          op = 'requestDeallocate'
          const a = get(alloc, k3(p.address, q, t))
          if (a === 0n) continue
          const amt = 1n + BigInt(Math.floor(rand() * Number(a)))
          const rc = await escrowCall(pi, 'requestDeallocate', [q, t, amt])
          expect(rc.status).toBe('success')
          pendingD.set(k3(p.address, q, t), { amount: amt, readyAt: (await txTime(rc)) + BigInt(DELAY) })
        } else if (r < 0.86) {
          op = 'finalizeDeallocate'
          const k = k3(p.address, q, t)
          const pd = pendingD.get(k)
          if (pd) await nearDeadline(pd.readyAt)
          const rc = await escrowCall(pi, 'finalizeDeallocate', [q, t])
          const now = await txTime(rc)
          const ok = !!pd && now >= pd.readyAt
          expect(rc.status).toBe(ok ? 'success' : 'reverted')
          tally(ok ? 'finalizeDeallocate done' : 'finalizeDeallocate reverted')
          if (ok) {
            const a = get(alloc, k)
            const back = pd!.amount < a ? pd!.amount : a
            alloc.set(k, a - back)
            free.set(k2(p.address, t), get(free, k2(p.address, t)) + back)
            pendingD.delete(k)
          }
        } else if (r < 0.89) {
          op = 'setSigner'
          // a quarter of the time: revoke the hot key (address 0)
          const next = rand() < 0.25 ? undefined : privateKeyToAccount(generatePrivateKey())
          const rc = await escrowCall(pi, 'setSigner', [next?.address ?? '0x0000000000000000000000000000000000000000'])
          const now = await txTime(rc)
          const ks = keys.get(p.address)!
          const tooSoon = !!ks.current && !!ks.previous && now <= ks.validUntil
          expect(rc.status).toBe(tooSoon ? 'reverted' : 'success')
          tally(tooSoon ? 'setSigner too soon' : next ? 'setSigner set' : 'setSigner revoked')
          if (!tooSoon) {
            if (ks.current) keys.set(p.address, { ...(next ? { current: next } : {}), previous: ks.current, validUntil: now + BigInt(DELAY) })
            else keys.set(p.address, { ...ks, ...(next ? { current: next } : {}) })
          }
        } else if (r < 0.93) {
          op = 'withdrawEarnings'
          const e = get(earn, k2(q, t))
          const rc = await escrowCall(qi, 'withdrawEarnings', [t, q])
          expect(rc.status).toBe(e > 0n ? 'success' : 'reverted')
          earn.set(k2(q, t), 0n)
        } else {
          op = 'time'
          await f.testClient.increaseTime({ seconds: int(Math.floor(DELAY * 1.5)) })
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
    expect(Object.keys(counts).length).toBeGreaterThanOrEqual(10)
  })
})

