/**
 * Hot-key compromise on the escrow: `revokeSigner()` works at any time — also inside a rotation's
 * notice, where `setSigner` refuses — and a revoked key counts only REVOKE_DELAY (1 h) more, then
 * its cheques are rejected; a thief holding the hot key draws at most the spending cap per period
 * from the free balance. `SignerChanged` names the signer actually replaced.
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { parseEventLogs, type Account, type Address, type Hex } from 'viem'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ChequeRejectReason, escrowAbi } from '../../../packages/pay/src/contracts/index.js'
import { claimCompact, deposit, increaseTime, readEscrow, revert, setup, signCheque, snapshot, write, type Fixture } from './fixture.js'

const DELAY = 48 * 3600 // production notice
const REVOKE = 3600n
const USD = 1_000_000n
const ZERO = '0x0000000000000000000000000000000000000000'

describe('BitCDNEscrow key compromise', () => {
  let f: Fixture
  let payer: Account
  let hot: Account
  let payee: Address
  let thief: Address // the thief's sock-puppet payee
  let snap: Hex
  const call = (functionName: string, args: readonly unknown[] = [], who = 1) =>
    write(f, f.wallet(who), { address: f.escrow, abi: escrowAbi, functionName, args })
  const time = async (r: { blockNumber: bigint }) => (await f.publicClient.getBlock({ blockNumber: r.blockNumber })).timestamp
  const cheque = (signer: Account, to: Address, amount: bigint) =>
    signCheque(f, signer, { payer: payer.address, payee: to, token: f.usdc, cumulativeAmount: amount })
  const outcome = async (to: Address, signer: Account, amount: bigint) => {
    const { events } = await claimCompact(f, 5, to, f.usdc, [await cheque(signer, to, amount)])
    const rejected = events.find((e) => e.eventName === 'ChequeRejected')
    return rejected ? { rejected: (rejected.args as { reason: number }).reason } : { paid: (events.find((e) => e.eventName === 'ChequePaid')?.args as { paid: bigint } | undefined)?.paid ?? 0n }
  }

  beforeAll(async () => {
    f = await setup({ accounts: 7, withdrawDelaySeconds: DELAY })
    payer = f.accounts[1]!
    hot = privateKeyToAccount(generatePrivateKey())
    payee = f.accounts[3]!.address
    thief = f.accounts[4]!.address
    await deposit(f, 1, f.usdc, 1_000n * USD)
    await call('setSigner', [hot.address])
  })
  afterAll(async () => {
    await f?.stop()
  })
  beforeEach(async () => {
    snap = await snapshot(f)
  })
  afterEach(async () => {
    await revert(f, snap)
  })

  it('REVOKE_DELAY is one hour', async () => {
    expect(await readEscrow(f, 'REVOKE_DELAY')).toBe(REVOKE)
  })

  it('revokes the hot signer at once: its cheques count REVOKE_DELAY more, then are rejected', async () => {
    const r = await call('revokeSigner')
    const t = await time(r)
    const [ev] = parseEventLogs({ abi: escrowAbi, logs: r.logs, eventName: 'SignerRevoked' })
    expect(ev!.args).toEqual({ payer: payer.address, signer: hot.address, validUntil: t + REVOKE })
    // parked in the retired slot (so a new key can be named at once) with the short validity
    expect(await readEscrow(f, 'signerOf', [payer.address])).toEqual([ZERO, hot.address, t + REVOKE])
    expect(await outcome(payee, hot, 5n * USD)).toEqual({ paid: 5n * USD })
    await increaseTime(f, Number(REVOKE) + 1)
    expect(await outcome(payee, hot, 6n * USD)).toEqual({ rejected: ChequeRejectReason.UnauthorizedSigner })
    expect(await outcome(payee, payer, 6n * USD)).toEqual({ paid: 1n * USD }) // the owner key still signs
  })

  it('revoke within a rotation notice works (setSigner there reverts) and cuts both keys to REVOKE_DELAY', async () => {
    const next = privateKeyToAccount(generatePrivateKey())
    const rot = await call('setSigner', [next.address])
    const [changed] = parseEventLogs({ abi: escrowAbi, logs: rot.logs, eventName: 'SignerChanged' })
    // SignerChanged names the key it replaced and that key's grace
    expect(changed!.args).toEqual({ payer: payer.address, previous: hot.address, current: next.address, previousValidUntil: (await time(rot)) + BigInt(DELAY) })
    await expect(call('setSigner', [privateKeyToAccount(generatePrivateKey()).address])).rejects.toThrow(/SignerRotationTooSoon/)

    const r = await call('revokeSigner')
    const t = await time(r)
    const revoked = parseEventLogs({ abi: escrowAbi, logs: r.logs, eventName: 'SignerRevoked' }).map((e) => e.args)
    expect(revoked).toEqual([
      { payer: payer.address, signer: next.address, validUntil: t + REVOKE },
      { payer: payer.address, signer: hot.address, validUntil: t + REVOKE },
    ])
    expect(await readEscrow(f, 'currentSignerValidUntil', [payer.address])).toBe(t + REVOKE)
    expect(await outcome(payee, hot, 1n * USD)).toEqual({ paid: 1n * USD })
    expect(await outcome(payee, next, 2n * USD)).toEqual({ paid: 1n * USD })
    // both revoked keys still count, so a third key waits until the retired one lapses (≤ 1 h)
    await expect(call('setSigner', [privateKeyToAccount(generatePrivateKey()).address])).rejects.toThrow(/SignerRotationTooSoon/)
    await expect(call('setSigner', [next.address])).rejects.toThrow(/SignerWasRevoked/)
    await increaseTime(f, Number(REVOKE) + 1)
    expect(await outcome(payee, hot, 3n * USD)).toEqual({ rejected: ChequeRejectReason.UnauthorizedSigner })
    expect(await outcome(payee, next, 3n * USD)).toEqual({ rejected: ChequeRejectReason.UnauthorizedSigner })
    const fresh = privateKeyToAccount(generatePrivateKey())
    const named = await call('setSigner', [fresh.address])
    // the revoked current key was dead: nothing counting was replaced
    expect(parseEventLogs({ abi: escrowAbi, logs: named.logs, eventName: 'SignerChanged' })[0]!.args).toMatchObject({ previous: ZERO, current: fresh.address, previousValidUntil: 0n })
    expect(await outcome(payee, fresh, 3n * USD)).toEqual({ paid: 1n * USD })
  })

  it('after a revoke a new signer can be named at once; the revoked one still lapses after REVOKE_DELAY', async () => {
    const r = await call('revokeSigner')
    const t = await time(r)
    const fresh = privateKeyToAccount(generatePrivateKey())
    await call('setSigner', [fresh.address])
    expect(await readEscrow(f, 'signerOf', [payer.address])).toEqual([fresh.address, hot.address, t + REVOKE])
    await increaseTime(f, Number(REVOKE) + 1)
    expect(await outcome(payee, hot, 1n * USD)).toEqual({ rejected: ChequeRejectReason.UnauthorizedSigner })
    expect(await outcome(payee, fresh, 1n * USD)).toEqual({ paid: 1n * USD })
  })

  it('revoking a retired key (setSigner(0) gave it the full notice) cuts its grace to REVOKE_DELAY', async () => {
    await call('setSigner', [ZERO])
    const r = await call('revokeSigner')
    const t = await time(r)
    expect(await readEscrow(f, 'signerOf', [payer.address])).toEqual([ZERO, hot.address, t + REVOKE])
    await increaseTime(f, Number(REVOKE) + 1)
    expect(await outcome(payee, hot, 1n * USD)).toEqual({ rejected: ChequeRejectReason.UnauthorizedSigner })
  })

  it('revoking with no delegated key counting beyond the delay reverts NoSignerToRevoke', async () => {
    await call('revokeSigner')
    await expect(call('revokeSigner')).rejects.toThrow(/NoSignerToRevoke/)
    await expect(call('revokeSigner', [], 2)).rejects.toThrow(/NoSignerToRevoke/) // a payer that never named one
  })

  it('hot-key thief: with a cap of 10 USD per day, cheques to its sock-puppet draw at most 10 USD a day', async () => {
    const set = await call('setSignerCap', [10n * USD, 86_400n])
    // a first cap is a lowering (from none): it takes effect after the withdrawal delay
    const [capEv] = parseEventLogs({ abi: escrowAbi, logs: set.logs, eventName: 'SignerCapChanged' })
    expect(capEv!.args).toEqual({ payer: payer.address, capPerPeriod: 10n * USD, periodSeconds: 86_400n, effectiveAt: (await time(set)) + BigInt(DELAY) })
    await increaseTime(f, DELAY)
    // the thief signs the whole free balance away to an address it controls
    const { events } = await claimCompact(f, 5, thief, f.usdc, [await cheque(hot, thief, 1_000n * USD)])
    expect(events.find((e) => e.eventName === 'ChequePaid')!.args).toEqual({ payer: payer.address, paid: 10n * USD })
    expect(events.find((e) => e.eventName === 'ChequeBounced')!.args).toMatchObject({ shortfall: 990n * USD })
    const [cap, period, spent] = await readEscrow(f, 'signerCap', [payer.address])
    expect([cap, period, spent]).toEqual([10n * USD, 86_400n, 10n * USD])
    // the same day, an honest seller's hot-key cheque from the free balance bounces too: the cap is per payer
    expect(await outcome(payee, hot, 1n * USD)).toEqual({ paid: 0n })
    // next day: another 10 at most; meanwhile the owner revokes, and after an hour nothing more
    await increaseTime(f, 86_400)
    expect(await outcome(thief, hot, 1_000n * USD)).toEqual({ paid: 10n * USD })
    await call('revokeSigner')
    await increaseTime(f, 86_400)
    expect(await outcome(thief, hot, 1_000n * USD)).toEqual({ rejected: ChequeRejectReason.UnauthorizedSigner })
    expect(await readEscrow(f, 'earnings', [thief, f.usdc])).toBe(20n * USD)
    expect(await readEscrow(f, 'balanceOf', [payer.address, f.usdc])).toBe(980n * USD)
  })
})
