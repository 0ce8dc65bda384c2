/**
 * Notices and admin mends: `cancelDeallocate`; a matured withdrawal or deallocation must be
 * finalized within FINALIZE_WINDOW (1 day) or it lapses — no decrease much later without fresh
 * notice, and the views stop reporting it; `withdrawDelay` is bounded in the constructor; and
 * `TokenAllowed` is emitted only for a change of a listed token.
 */
import { encodeDeployData, parseEventLogs, type Account, type Address, type Hex } from 'viem'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { escrowAbi, escrowBytecode } from '../../../packages/pay/src/contracts/index.js'
import { decodeRevert } from '../../../packages/pay/src/chain/revert.js'
import { deployTestStablecoin } from '../../../packages/pay/src/chain/index.js'
import { deposit, increaseTime, readEscrow, revert, setup, snapshot, write, type Fixture } from './fixture.js'

const DELAY = 3600
const WINDOW = 86_400
const USD = 1_000_000n

describe('BitCDNEscrow notices and admin', () => {
  let f: Fixture
  let payer: Account
  let payee: Address
  let snap: Hex
  const call = (functionName: string, args: readonly unknown[] = [], who = 1) =>
    write(f, f.wallet(who), { address: f.escrow, abi: escrowAbi, functionName, args })
  const time = async (r: { blockNumber: bigint }) => (await f.publicClient.getBlock({ blockNumber: r.blockNumber })).timestamp

  beforeAll(async () => {
    f = await setup({ accounts: 6, withdrawDelaySeconds: DELAY })
    payer = f.accounts[1]!
    payee = f.accounts[3]!.address
    await deposit(f, 1, f.usdc, 100n * USD)
    await call('allocate', [payee, f.usdc, 40n * USD])
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

  it('FINALIZE_WINDOW is one day', async () => {
    expect(await readEscrow(f, 'FINALIZE_WINDOW')).toBe(BigInt(WINDOW))
  })

  it('cancelDeallocate drops the pending decrease and emits DeallocationCancelled; cancelling nothing reverts', async () => {
    await expect(call('cancelDeallocate', [payee, f.usdc])).rejects.toThrow(/NoPendingDeallocation/)
    await call('requestDeallocate', [payee, f.usdc, 30n * USD])
    const r = await call('cancelDeallocate', [payee, f.usdc])
    expect(parseEventLogs({ abi: escrowAbi, logs: r.logs, eventName: 'DeallocationCancelled' })[0]!.args).toEqual({ payer: payer.address, payee, token: f.usdc })
    expect(await readEscrow(f, 'allocation', [payer.address, payee, f.usdc])).toEqual([40n * USD, 0n, 0n])
    await increaseTime(f, DELAY + 1)
    await expect(call('finalizeDeallocate', [payee, f.usdc])).rejects.toThrow(/NoPendingDeallocation/)
    expect(await readEscrow(f, 'allocation', [payer.address, payee, f.usdc])).toEqual([40n * USD, 0n, 0n])
  })

  it('a matured deallocation lapses after FINALIZE_WINDOW: finalizing then reverts NoticeLapsed, the view shows none, a fresh request needs the full notice', async () => {
    const r = await call('requestDeallocate', [payee, f.usdc, 30n * USD])
    const readyAt = (await time(r)) + BigInt(DELAY)
    await increaseTime(f, DELAY + WINDOW - 5)
    // still inside the window: the payee must count it as gone
    expect(await readEscrow(f, 'allocation', [payer.address, payee, f.usdc])).toEqual([40n * USD, 30n * USD, readyAt])
    await increaseTime(f, 10)
    expect(await readEscrow(f, 'allocation', [payer.address, payee, f.usdc])).toEqual([40n * USD, 0n, 0n])
    await expect(call('finalizeDeallocate', [payee, f.usdc])).rejects.toThrow(new RegExp(`NoticeLapsed[\\s\\S]*${readyAt + BigInt(WINDOW)}`))
    await expect(call('cancelDeallocate', [payee, f.usdc])).rejects.toThrow(/NoPendingDeallocation/)
    await call('requestDeallocate', [payee, f.usdc, 30n * USD])
    await expect(call('finalizeDeallocate', [payee, f.usdc])).rejects.toThrow(/NoticeNotElapsed/)
    await increaseTime(f, DELAY)
    await call('finalizeDeallocate', [payee, f.usdc])
    expect(await readEscrow(f, 'allocation', [payer.address, payee, f.usdc])).toEqual([10n * USD, 0n, 0n])
  })

  it('a matured withdrawal lapses the same way, and the money stays in the free balance', async () => {
    await call('requestWithdraw', [f.usdc, 50n * USD])
    await increaseTime(f, DELAY + WINDOW + 1)
    expect(await readEscrow(f, 'pendingWithdrawal', [payer.address, f.usdc])).toEqual([0n, 0n])
    await expect(call('finalizeWithdraw', [f.usdc])).rejects.toThrow(/NoticeLapsed/)
    expect(await readEscrow(f, 'balanceOf', [payer.address, f.usdc])).toBe(60n * USD)
  })

  it('withdrawDelay is bounded in the constructor: 0 and more than 30 days are refused with the numbers', async () => {
    const tryDeploy = async (delay: bigint) => {
      const data = encodeDeployData({ abi: escrowAbi, bytecode: escrowBytecode, args: [payer.address, delay, [f.usdc]] })
      try {
        await f.publicClient.call({ data, account: payer.address })
        return 'deployed'
      } catch (err) {
        return decodeRevert(err) ?? err
      }
    }
    expect(await tryDeploy(0n)).toMatchObject({ errorName: 'WithdrawDelayOutOfRange', args: { delay: 0n, min: 1n, max: 30n * 86_400n } })
    expect(await tryDeploy(30n * 86_400n + 1n)).toMatchObject({ errorName: 'WithdrawDelayOutOfRange' })
    expect(await tryDeploy(2n ** 64n - 1n)).toMatchObject({ errorName: 'WithdrawDelayOutOfRange' })
    expect(await tryDeploy(1n)).toBe('deployed')
    expect(await tryDeploy(30n * 86_400n)).toBe('deployed')
  })

  it('TokenAllowed(x, false) only for a listed token; events only on a change', async () => {
    const stranger = await deployTestStablecoin({ rpcUrl: f.anvil.rpcUrl, name: 'Never listed', symbol: 'NL' })
    await expect(call('setTokenAllowed', [stranger, false], 0)).rejects.toThrow(/TokenNotListed/)
    const again = await call('setTokenAllowed', [f.usdc, true], 0)
    expect(again.logs).toHaveLength(0)
    const off = await call('setTokenAllowed', [f.usdc, false], 0)
    expect(parseEventLogs({ abi: escrowAbi, logs: off.logs, eventName: 'TokenAllowed' })[0]!.args).toEqual({ token: f.usdc, allowed: false })
    expect((await call('setTokenAllowed', [f.usdc, false], 0)).logs).toHaveLength(0)
    const on = await call('setTokenAllowed', [f.usdc, true], 0)
    expect(parseEventLogs({ abi: escrowAbi, logs: on.logs, eventName: 'TokenAllowed' })[0]!.args).toEqual({ token: f.usdc, allowed: true })
  })
})
