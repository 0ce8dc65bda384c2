/**
 * The spending cap on delegated signers' cheques (`setSignerCap`, `signerCap`, `pendingSignerCap`):
 * what counts (free-balance draws by hot/retired keys — not the owner key, not allocations), the
 * period rolling over in closed form, and the notice a payee relies on: a first or lower cap (or a
 * longer period) waits the withdrawal delay; raising or removing is immediate.
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import type { Account, Address, Hex } from 'viem'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { escrowAbi } from '../../../packages/pay/src/contracts/index.js'
import { claimCompact, deposit, increaseTime, readEscrow, revert, setup, signCheque, snapshot, write, type Fixture } from './fixture.js'

const DELAY = 7200
const DAY = 86_400
const USD = 1_000_000n

describe('BitCDNEscrow signer spending cap', () => {
  let f: Fixture
  let payer: Account
  let hot: Account
  let payee: Address
  let snap: Hex
  let cum = 0n
  const call = (functionName: string, args: readonly unknown[] = [], who = 1) =>
    write(f, f.wallet(who), { address: f.escrow, abi: escrowAbi, functionName, args })
  const time = async (r: { blockNumber: bigint }) => (await f.publicClient.getBlock({ blockNumber: r.blockNumber })).timestamp
  /** Claims a cheque raising the cumulative by `more`; returns what it paid. */
  const pay = async (more: bigint, signer: Account = hot): Promise<bigint> => {
    cum += more
    const sc = await signCheque(f, signer, { payer: payer.address, payee, token: f.usdc, cumulativeAmount: cum })
    const { events } = await claimCompact(f, 5, payee, f.usdc, [sc])
    const paid = (events.find((e) => e.eventName === 'ChequePaid')?.args as { paid: bigint } | undefined)?.paid ?? 0n
    cum = await readEscrow(f, 'paidOut', [payer.address, payee, f.usdc]) // the rest bounced: claimable later
    return paid
  }
  const capNow = async () => {
    const [cap, period, spent, start] = await readEscrow(f, 'signerCap', [payer.address])
    return { cap, period, spent, start }
  }

  beforeAll(async () => {
    f = await setup({ accounts: 7, withdrawDelaySeconds: DELAY })
    payer = f.accounts[1]!
    hot = privateKeyToAccount(generatePrivateKey())
    payee = f.accounts[3]!.address
    await deposit(f, 1, f.usdc, 1_000n * USD)
    await call('setSigner', [hot.address])
  })
  afterAll(async () => {
    await f?.stop()
  })
  beforeEach(async () => {
    snap = await snapshot(f)
    cum = 0n
  })
  afterEach(async () => {
    await revert(f, snap)
  })

  it('a first cap waits the withdrawal delay (pendingSignerCap shows it), then bounds draws per period', async () => {
    const r = await call('setSignerCap', [10n * USD, BigInt(DAY)])
    const at = (await time(r)) + BigInt(DELAY)
    expect(await readEscrow(f, 'pendingSignerCap', [payer.address])).toEqual([10n * USD, BigInt(DAY), at])
    expect((await capNow()).cap).toBe(0n)
    expect(await pay(50n * USD)).toBe(50n * USD) // not in effect yet
    await increaseTime(f, DELAY)
    expect(await readEscrow(f, 'pendingSignerCap', [payer.address])).toEqual([0n, 0n, 0n])
    expect(await pay(7n * USD)).toBe(7n * USD)
    expect(await pay(7n * USD)).toBe(3n * USD) // 4 bounce
    expect(await capNow()).toMatchObject({ cap: 10n * USD, period: BigInt(DAY), spent: 10n * USD })
    expect(await readEscrow(f, 'bounced', [payer.address])).toBe(true)
    // the period rolls over in closed form, however many periods passed
    await increaseTime(f, 5 * DAY + 17)
    expect((await capNow()).spent).toBe(0n)
    expect(await pay(12n * USD)).toBe(10n * USD)
  })

  it('the owner key and allocations are not capped', async () => {
    await call('setSignerCap', [1n * USD, BigInt(DAY)])
    await increaseTime(f, DELAY)
    await call('allocate', [payee, f.usdc, 30n * USD])
    expect(await pay(25n * USD)).toBe(25n * USD) // all from the allocation
    expect(await pay(10n * USD)).toBe(6n * USD) // 5 allocation + 1 capped free
    expect(await pay(10n * USD, payer)).toBe(10n * USD) // owner-signed: free balance, no cap
    expect((await capNow()).spent).toBe(1n * USD)
  })

  it('raising or removing the cap is immediate and drops an announced lowering; lowering and a longer period wait', async () => {
    await call('setSignerCap', [10n * USD, BigInt(DAY)])
    await increaseTime(f, DELAY)
    const up = await call('setSignerCap', [20n * USD, BigInt(DAY)])
    expect((await capNow()).cap).toBe(20n * USD)
    expect(up.logs).toHaveLength(1)
    const down = await call('setSignerCap', [5n * USD, BigInt(DAY)])
    expect((await capNow()).cap).toBe(20n * USD)
    expect((await readEscrow(f, 'pendingSignerCap', [payer.address]))[2]).toBe((await time(down)) + BigInt(DELAY))
    await call('setSignerCap', [20n * USD, BigInt(2 * DAY)]) // same cap over a longer period: less per day → waits
    expect((await capNow()).period).toBe(BigInt(DAY))
    await call('setSignerCap', [0n, 0n]) // removal: immediate, and the announced change is gone
    expect(await capNow()).toEqual({ cap: 0n, period: 0n, spent: 0n, start: 0n })
    expect(await readEscrow(f, 'pendingSignerCap', [payer.address])).toEqual([0n, 0n, 0n])
    await increaseTime(f, DELAY)
    expect(await pay(100n * USD)).toBe(100n * USD)
  })

  it('refuses a period outside MIN_CAP_PERIOD..MAX_CAP_PERIOD', async () => {
    await expect(call('setSignerCap', [1n, 59n])).rejects.toThrow(/CapPeriodOutOfRange[\s\S]*59/)
    await expect(call('setSignerCap', [1n, BigInt(366 * DAY)])).rejects.toThrow(/CapPeriodOutOfRange/)
  })
})
