/**
 * Money out for payers, with notice only: requestWithdraw → delay → finalizeWithdraw (capped at
 * what is left), cancelWithdraw; allocations and their decrease with the same notice; and the race
 * every payee cares about — a claim landing during the notice wins.
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import type { Account, Address, Hex } from 'viem'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { escrowAbi } from '../../../packages/pay/src/contracts/index.js'
import {
  claim,
  deposit,
  increaseTime,
  readEscrow,
  revert,
  setup,
  signCheque,
  snapshot,
  tokenBalance,
  write,
  type Fixture,
} from './fixture.js'

const USD = 1_000_000n
const DELAY = 7200

describe('BitCDNEscrow withdrawals and allocations', () => {
  let f: Fixture
  let payer: Account
  let payee: Address
  let snap: Hex
  const call = (functionName: string, args: readonly unknown[] = [], who = 1) =>
    write(f, f.wallet(who), { address: f.escrow, abi: escrowAbi, functionName, args })

  beforeAll(async () => {
    f = await setup({ accounts: 6, withdrawDelaySeconds: DELAY })
    payer = f.accounts[1]!
    payee = f.accounts[3]!.address
    await deposit(f, 1, f.usdc, 100n * USD)
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

  it('withdrawDelay is the constructor value', async () => {
    expect(await readEscrow(f, 'withdrawDelay')).toBe(BigInt(DELAY))
  })

  it('request → visible pending → finalize before the delay reverts → after the delay pays the owner', async () => {
    const r = await call('requestWithdraw', [f.usdc, 40n * USD])
    const t = (await f.publicClient.getBlock({ blockNumber: r.blockNumber })).timestamp
    expect(await readEscrow(f, 'pendingWithdrawal', [payer.address, f.usdc])).toEqual([40n * USD, t + BigInt(DELAY)])
    // the pending amount stays in the free balance (claimable) until finalized
    expect(await readEscrow(f, 'balanceOf', [payer.address, f.usdc])).toBe(100n * USD)

    await expect(call('finalizeWithdraw', [f.usdc])).rejects.toThrow(/NoticeNotElapsed/)
    await increaseTime(f, DELAY - 10)
    await expect(call('finalizeWithdraw', [f.usdc])).rejects.toThrow(/NoticeNotElapsed/)
    await increaseTime(f, 10)
    const before = await tokenBalance(f, f.usdc, payer.address)
    await call('finalizeWithdraw', [f.usdc])
    expect(await tokenBalance(f, f.usdc, payer.address)).toBe(before + 40n * USD)
    expect(await readEscrow(f, 'balanceOf', [payer.address, f.usdc])).toBe(60n * USD)
    expect(await readEscrow(f, 'pendingWithdrawal', [payer.address, f.usdc])).toEqual([0n, 0n])
    await expect(call('finalizeWithdraw', [f.usdc])).rejects.toThrow(/NoPendingWithdrawal/)
  })

  it('cancelWithdraw drops the request; cancelling nothing reverts', async () => {
    await expect(call('cancelWithdraw', [f.usdc])).rejects.toThrow(/NoPendingWithdrawal/)
    await call('requestWithdraw', [f.usdc, 40n * USD])
    await call('cancelWithdraw', [f.usdc])
    expect(await readEscrow(f, 'pendingWithdrawal', [payer.address, f.usdc])).toEqual([0n, 0n])
    await increaseTime(f, DELAY)
    await expect(call('finalizeWithdraw', [f.usdc])).rejects.toThrow(/NoPendingWithdrawal/)
  })

  it('a request above the free balance or of zero reverts; a new request restarts the clock', async () => {
    await expect(call('requestWithdraw', [f.usdc, 101n * USD])).rejects.toThrow(/InsufficientBalance/)
    await expect(call('requestWithdraw', [f.usdc, 0n])).rejects.toThrow(/ZeroAmount/)
    await call('requestWithdraw', [f.usdc, 10n * USD])
    await increaseTime(f, DELAY - 100)
    await call('requestWithdraw', [f.usdc, 20n * USD])
    await increaseTime(f, 200)
    await expect(call('finalizeWithdraw', [f.usdc])).rejects.toThrow(/NoticeNotElapsed/)
    await increaseTime(f, DELAY)
    await call('finalizeWithdraw', [f.usdc])
    expect(await readEscrow(f, 'balanceOf', [payer.address, f.usdc])).toBe(80n * USD)
  })

  it('only the payer can withdraw its own money: a stranger has nothing to request', async () => {
    await expect(call('requestWithdraw', [f.usdc, USD], 4)).rejects.toThrow(/InsufficientBalance/)
    await expect(call('finalizeWithdraw', [f.usdc], 4)).rejects.toThrow(/NoPendingWithdrawal/)
  })

  it('a claim racing a pending withdrawal wins: finalize pays only what is left', async () => {
    await call('requestWithdraw', [f.usdc, 100n * USD])
    await increaseTime(f, DELAY - 60)
    const sc = await signCheque(f, payer, { payer: payer.address, payee, token: f.usdc, cumulativeAmount: 70n * USD })
    const { events } = await claim(f, 4, [sc])
    expect(events[0]!.args).toMatchObject({ paid: 70n * USD })
    await increaseTime(f, 60)
    const before = await tokenBalance(f, f.usdc, payer.address)
    const r = await call('finalizeWithdraw', [f.usdc])
    expect(r.status).toBe('success')
    expect(await tokenBalance(f, f.usdc, payer.address)).toBe(before + 30n * USD)
    expect(await readEscrow(f, 'earnings', [payee, f.usdc])).toBe(70n * USD)
    expect(await tokenBalance(f, f.usdc, f.escrow)).toBe(70n * USD)
  })

  it('the ABI has no instant withdrawal path for payers', () => {
    const names = escrowAbi.filter((x) => x.type === 'function').map((x) => x.name)
    const outflows = names.filter((n) => /withdraw|transfer|sweep|rescue|emergency|release/i.test(n))
    expect(outflows.sort()).toEqual(
      [
        'cancelWithdraw', 'finalizeWithdraw', 'requestWithdraw', 'transferOwnership', 'withdrawDelay', 'withdrawEarnings', 'pendingWithdrawal',
        // the delay's bounds (constants), not paths
        'MIN_WITHDRAW_DELAY', 'MAX_WITHDRAW_DELAY',
      ].sort(),
    )
  })

  describe('allocations', () => {
    it('allocate moves free balance to a hard deposit; decrease needs the same notice', async () => {
      await expect(call('allocate', [payee, f.usdc, 101n * USD])).rejects.toThrow(/InsufficientBalance/)
      await expect(call('allocate', ['0x0000000000000000000000000000000000000000', f.usdc, USD])).rejects.toThrow(/ZeroAddress/)
      await call('allocate', [payee, f.usdc, 30n * USD])
      expect(await readEscrow(f, 'allocation', [payer.address, payee, f.usdc])).toEqual([30n * USD, 0n, 0n])
      expect(await readEscrow(f, 'balanceOf', [payer.address, f.usdc])).toBe(70n * USD)
      // the allocation cannot be withdrawn
      await expect(call('requestWithdraw', [f.usdc, 71n * USD])).rejects.toThrow(/InsufficientBalance/)

      await expect(call('requestDeallocate', [payee, f.usdc, 31n * USD])).rejects.toThrow(/InsufficientBalance/)
      const r = await call('requestDeallocate', [payee, f.usdc, 20n * USD])
      const t = (await f.publicClient.getBlock({ blockNumber: r.blockNumber })).timestamp
      expect(await readEscrow(f, 'allocation', [payer.address, payee, f.usdc])).toEqual([30n * USD, 20n * USD, t + BigInt(DELAY)])
      await expect(call('finalizeDeallocate', [payee, f.usdc])).rejects.toThrow(/NoticeNotElapsed/)
      await increaseTime(f, DELAY)
      await call('finalizeDeallocate', [payee, f.usdc])
      expect(await readEscrow(f, 'allocation', [payer.address, payee, f.usdc])).toEqual([10n * USD, 0n, 0n])
      expect(await readEscrow(f, 'balanceOf', [payer.address, f.usdc])).toBe(90n * USD)
      await expect(call('finalizeDeallocate', [payee, f.usdc])).rejects.toThrow(/NoPendingDeallocation/)
    })

    it('a claim during the deallocation notice draws the allocation; finalize returns only what is left', async () => {
      await call('allocate', [payee, f.usdc, 30n * USD])
      await call('requestDeallocate', [payee, f.usdc, 30n * USD])
      const sc = await signCheque(f, payer, { payer: payer.address, payee, token: f.usdc, cumulativeAmount: 25n * USD })
      await claim(f, 4, [sc])
      await increaseTime(f, DELAY)
      await call('finalizeDeallocate', [payee, f.usdc])
      expect(await readEscrow(f, 'allocation', [payer.address, payee, f.usdc])).toEqual([0n, 0n, 0n])
      expect(await readEscrow(f, 'balanceOf', [payer.address, f.usdc])).toBe(75n * USD)
      expect(await readEscrow(f, 'earnings', [payee, f.usdc])).toBe(25n * USD)
    })
  })

  it('setSigner to the current signer is a no-op; rotation emits SignerChanged', async () => {
    const s = privateKeyToAccount(generatePrivateKey()).address
    await call('setSigner', [s])
    const r = await call('setSigner', [s])
    expect(r.logs).toHaveLength(0)
    expect(await readEscrow(f, 'signerOf', [payer.address])).toEqual([s, '0x0000000000000000000000000000000000000000', 0n])
  })
})
