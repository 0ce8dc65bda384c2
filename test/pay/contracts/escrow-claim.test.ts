/**
 * claim(): every path of a row (paid, bounced, rejected for each reason) and the attacks on cheques:
 * replays across chains, contracts, payees and tokens; lower or repeated amounts; foreign and
 * rotated-out keys; malleable and compact signatures; overcommitment.
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import type { Account, Address, Hex } from 'viem'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ChequeRejectReason, escrowAbi } from '../../../packages/pay/src/contracts/index.js'
import { deployTestStablecoin } from '../../../packages/pay/src/chain/index.js'
import {
  chequeDigestTs,
  claim,
  deposit,
  increaseTime,
  readEscrow,
  revert,
  setup,
  signCheque,
  snapshot,
  toCompact,
  toHighS,
  tokenBalance,
  write,
  type Cheque,
  type Fixture,
} from './fixture.js'

const DELAY = 3600
const USD = 1_000_000n // 1 token in base units (6 decimals)

describe('BitCDNEscrow claim', () => {
  let f: Fixture
  let payer: Account // owner key (cold)
  let signer: Account // hot key
  let payeeA: Address
  let payeeB: Address
  let relayer: number
  let snap: Hex

  beforeAll(async () => {
    f = await setup({ accounts: 8, withdrawDelaySeconds: DELAY })
    payer = f.accounts[1]!
    signer = privateKeyToAccount(generatePrivateKey())
    payeeA = f.accounts[3]!.address
    payeeB = f.accounts[4]!.address
    relayer = 5
    await deposit(f, 1, f.usdc, 100n * USD)
    await write(f, f.wallet(1), { address: f.escrow, abi: escrowAbi, functionName: 'setSigner', args: [signer.address] })
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

  const cheque = (over: Partial<Cheque> = {}): Cheque => ({
    payer: payer.address,
    payee: payeeA,
    token: f.usdc,
    cumulativeAmount: 10n * USD,
    ...over,
  })
  const rejected = (events: { eventName: string; args: unknown }[]) =>
    events.filter((e) => e.eventName === 'ChequeRejected').map((e) => e.args as { index: bigint; reason: number })

  it('pays a cheque signed by the hot signer into the payee earnings; the payee withdraws to any address', async () => {
    const sc = await signCheque(f, signer, cheque())
    const { events } = await claim(f, relayer, [sc])
    expect(events.map((e) => e.eventName)).toEqual(['ChequeClaimed'])
    expect(events[0]!.args).toMatchObject({ payer: payer.address, payee: payeeA, token: f.usdc, cumulativeAmount: 10n * USD, paid: 10n * USD })
    expect(await readEscrow(f, 'earnings', [payeeA, f.usdc])).toBe(10n * USD)
    expect(await readEscrow(f, 'paidOut', [payer.address, payeeA, f.usdc])).toBe(10n * USD)
    expect(await readEscrow(f, 'balanceOf', [payer.address, f.usdc])).toBe(90n * USD)
    // the relayer that submitted earns nothing
    expect(await readEscrow(f, 'earnings', [f.accounts[relayer]!.address, f.usdc])).toBe(0n)

    const to = privateKeyToAccount(generatePrivateKey()).address
    await write(f, f.wallet(3), { address: f.escrow, abi: escrowAbi, functionName: 'withdrawEarnings', args: [f.usdc, to] })
    expect(await tokenBalance(f, f.usdc, to)).toBe(10n * USD)
    expect(await readEscrow(f, 'earnings', [payeeA, f.usdc])).toBe(0n)
    await expect(
      write(f, f.wallet(3), { address: f.escrow, abi: escrowAbi, functionName: 'withdrawEarnings', args: [f.usdc, to] }),
    ).rejects.toThrow(/NothingToWithdraw/)
  })

  it('a newer cheque pays only the difference to what was paid out', async () => {
    await claim(f, relayer, [await signCheque(f, signer, cheque({ cumulativeAmount: 10n * USD }))])
    const { events } = await claim(f, relayer, [await signCheque(f, signer, cheque({ cumulativeAmount: 25n * USD }))])
    expect(events[0]!.args).toMatchObject({ paid: 15n * USD })
    expect(await readEscrow(f, 'earnings', [payeeA, f.usdc])).toBe(25n * USD)
  })

  it('accepts a cheque signed by the owner key itself', async () => {
    const { events } = await claim(f, relayer, [await signCheque(f, payer, cheque())])
    expect(events[0]!.eventName).toBe('ChequeClaimed')
  })

  it('chequeDigest equals viem hashTypedData, and eip712Domain reports the domain (ERC-5267)', async () => {
    const c = cheque({ cumulativeAmount: 123_456_789n })
    expect(await readEscrow(f, 'chequeDigest', [c])).toBe(chequeDigestTs(f, c))
    const [fields, name, version, chainId, verifyingContract] = await readEscrow(f, 'eip712Domain')
    expect({ fields, name, version, chainId, verifyingContract }).toEqual({
      fields: '0x0f',
      name: 'BitCDNEscrow',
      version: '1',
      chainId: BigInt(f.deployment.chainId),
      verifyingContract: f.escrow,
    })
  })

  describe('attacks on cheques', () => {
    const expectRejected = async (sc: { cheque: Cheque; signature: Hex }, reason: number) => {
      const { events } = await claim(f, relayer, [sc])
      expect(rejected(events)).toEqual([expect.objectContaining({ index: 0n, reason })])
      expect(events.some((e) => e.eventName === 'ChequeClaimed')).toBe(false)
      expect(await readEscrow(f, 'earnings', [sc.cheque.payee, sc.cheque.token])).toBe(0n)
    }

    it('replay of a cheque signed for another chainId is rejected', async () => {
      await expectRejected(await signCheque(f, signer, cheque(), { chainId: 8453 }), ChequeRejectReason.UnauthorizedSigner)
    })

    it('replay of a cheque signed for another escrow contract is rejected', async () => {
      const other = privateKeyToAccount(generatePrivateKey()).address
      await expectRejected(await signCheque(f, signer, cheque(), { verifyingContract: other }), ChequeRejectReason.UnauthorizedSigner)
    })

    it('a cheque redirected to another payee is rejected', async () => {
      const sc = await signCheque(f, signer, cheque({ payee: payeeA }))
      await expectRejected({ ...sc, cheque: { ...sc.cheque, payee: payeeB } }, ChequeRejectReason.UnauthorizedSigner)
    })

    it('a cheque switched to another token is rejected', async () => {
      await deposit(f, 1, f.usdt, 50n * USD)
      const sc = await signCheque(f, signer, cheque({ token: f.usdc }))
      await expectRejected({ ...sc, cheque: { ...sc.cheque, token: f.usdt } }, ChequeRejectReason.UnauthorizedSigner)
    })

    it('a cheque with an inflated amount is rejected', async () => {
      const sc = await signCheque(f, signer, cheque({ cumulativeAmount: 1n * USD }))
      await expectRejected({ ...sc, cheque: { ...sc.cheque, cumulativeAmount: 99n * USD } }, ChequeRejectReason.UnauthorizedSigner)
    })

    it('a repeated cheque and a lower cumulative amount are rejected (NotNewer), paying nothing twice', async () => {
      const high = await signCheque(f, signer, cheque({ cumulativeAmount: 20n * USD }))
      const low = await signCheque(f, signer, cheque({ cumulativeAmount: 5n * USD }))
      await claim(f, relayer, [high])
      const { events } = await claim(f, relayer, [high, low])
      expect(rejected(events)).toEqual([
        expect.objectContaining({ index: 0n, reason: ChequeRejectReason.NotNewer }),
        expect.objectContaining({ index: 1n, reason: ChequeRejectReason.NotNewer }),
      ])
      expect(await readEscrow(f, 'earnings', [payeeA, f.usdc])).toBe(20n * USD)
    })

    it('the same cheque twice in one batch pays once', async () => {
      const sc = await signCheque(f, signer, cheque())
      const { events } = await claim(f, relayer, [sc, sc])
      expect(events.map((e) => e.eventName)).toEqual(['ChequeClaimed', 'ChequeRejected'])
      expect(await readEscrow(f, 'earnings', [payeeA, f.usdc])).toBe(10n * USD)
    })

    it('a cheque signed by a key that is not the payer’s is rejected', async () => {
      const mallory = privateKeyToAccount(generatePrivateKey())
      await expectRejected(await signCheque(f, mallory, cheque()), ChequeRejectReason.UnauthorizedSigner)
      // the payee signing its own cheque is no better
      await expectRejected(await signCheque(f, f.accounts[3]!, cheque()), ChequeRejectReason.UnauthorizedSigner)
    })

    it('a rotated-out signer counts until previousValidUntil (rotation + delay), then is rejected', async () => {
      const next = privateKeyToAccount(generatePrivateKey())
      const receipt = await write(f, f.wallet(1), { address: f.escrow, abi: escrowAbi, functionName: 'setSigner', args: [next.address] })
      const block = await f.publicClient.getBlock({ blockNumber: receipt.blockNumber })
      const [current, previous, validUntil] = await readEscrow(f, 'signerOf', [payer.address])
      expect({ current, previous, validUntil }).toEqual({ current: next.address, previous: signer.address, validUntil: block.timestamp + BigInt(DELAY) })

      // within grace: the old key's cheques still pay, and the new key's do too
      await claim(f, relayer, [await signCheque(f, signer, cheque({ cumulativeAmount: 1n * USD }))])
      await claim(f, relayer, [await signCheque(f, next, cheque({ cumulativeAmount: 2n * USD }))])
      expect(await readEscrow(f, 'paidOut', [payer.address, payeeA, f.usdc])).toBe(2n * USD)

      await increaseTime(f, DELAY + 1)
      await expectRejected(await signCheque(f, signer, cheque({ payee: payeeB, cumulativeAmount: 3n * USD })), ChequeRejectReason.UnauthorizedSigner)
      const { events } = await claim(f, relayer, [await signCheque(f, next, cheque({ cumulativeAmount: 3n * USD }))])
      expect(events[0]!.eventName).toBe('ChequeClaimed')
    })

    it('a second rotation during the grace period reverts (it would cut the old signer’s grace short)', async () => {
      const next = privateKeyToAccount(generatePrivateKey()).address
      const third = privateKeyToAccount(generatePrivateKey()).address
      await write(f, f.wallet(1), { address: f.escrow, abi: escrowAbi, functionName: 'setSigner', args: [next] })
      await expect(
        write(f, f.wallet(1), { address: f.escrow, abi: escrowAbi, functionName: 'setSigner', args: [third] }),
      ).rejects.toThrow(/SignerRotationTooSoon/)
      await increaseTime(f, DELAY + 1)
      await write(f, f.wallet(1), { address: f.escrow, abi: escrowAbi, functionName: 'setSigner', args: [third] })
      expect((await readEscrow(f, 'signerOf', [payer.address]))[0]).toBe(third)
    })

    it('retiring the signer (address 0) leaves only the owner key and the grace of the old one', async () => {
      await write(f, f.wallet(1), { address: f.escrow, abi: escrowAbi, functionName: 'setSigner', args: ['0x0000000000000000000000000000000000000000'] })
      await increaseTime(f, DELAY + 1)
      await expectRejected(await signCheque(f, signer, cheque()), ChequeRejectReason.UnauthorizedSigner)
      const { events } = await claim(f, relayer, [await signCheque(f, payer, cheque())])
      expect(events[0]!.eventName).toBe('ChequeClaimed')
    })

    it('after retiring the signer (address 0) a new one can be named at once, and the retired one keeps its grace', async () => {
      const zero = '0x0000000000000000000000000000000000000000'
      const next = privateKeyToAccount(generatePrivateKey())
      await write(f, f.wallet(1), { address: f.escrow, abi: escrowAbi, functionName: 'setSigner', args: [zero] })
      await write(f, f.wallet(1), { address: f.escrow, abi: escrowAbi, functionName: 'setSigner', args: [next.address] })
      const [current, previous] = await readEscrow(f, 'signerOf', [payer.address])
      expect([current, previous]).toEqual([next.address, signer.address])
      const { events } = await claim(f, relayer, [
        await signCheque(f, signer, cheque({ cumulativeAmount: 1n * USD })),
        await signCheque(f, next, cheque({ cumulativeAmount: 2n * USD })),
      ])
      expect(events.map((e) => e.eventName)).toEqual(['ChequeClaimed', 'ChequeClaimed'])
      // but rotating away from `next` must wait for the revoked signer's grace to end
      await expect(
        write(f, f.wallet(1), { address: f.escrow, abi: escrowAbi, functionName: 'setSigner', args: [zero] }),
      ).rejects.toThrow(/SignerRotationTooSoon/)
    })

    it('a high-s (malleable) signature is rejected even though ecrecover would accept it', async () => {
      const sc = await signCheque(f, signer, cheque())
      await expectRejected({ ...sc, signature: toHighS(sc.signature) }, ChequeRejectReason.BadSignature)
    })

    it('a 64-byte ERC-2098 compact signature is accepted', async () => {
      const sc = await signCheque(f, signer, cheque())
      const compact = toCompact(sc.signature)
      expect((compact.length - 2) / 2).toBe(64)
      const { events } = await claim(f, relayer, [{ ...sc, signature: compact }])
      expect(events[0]!.eventName).toBe('ChequeClaimed')
    })

    it('v as 0/1 is read as 27/28; other lengths and garbage are rejected as BadSignature', async () => {
      const sc = await signCheque(f, signer, cheque())
      const v = Number.parseInt(sc.signature.slice(-2), 16)
      const v01 = `${sc.signature.slice(0, -2)}${(v - 27).toString(16).padStart(2, '0')}` as Hex
      const { events } = await claim(f, relayer, [{ ...sc, signature: v01 }])
      expect(events[0]!.eventName).toBe('ChequeClaimed')
      const sc2 = await signCheque(f, signer, cheque({ payee: payeeB }))
      for (const bad of ['0x', `${sc2.signature}00`, sc2.signature.slice(0, -4), `0x${'00'.repeat(65)}`] as Hex[]) {
        await expectRejected({ ...sc2, signature: bad }, ChequeRejectReason.BadSignature)
      }
    })

    it('instant-withdrawal attack: a cheque from the payer to itself is rejected (PayeeIsPayer)', async () => {
      await expectRejected(await signCheque(f, payer, cheque({ payee: payer.address })), ChequeRejectReason.PayeeIsPayer)
      await expectRejected(await signCheque(f, signer, cheque({ payee: payer.address })), ChequeRejectReason.PayeeIsPayer)
      expect(await readEscrow(f, 'balanceOf', [payer.address, f.usdc])).toBe(100n * USD)
    })

    it('a zero payee or zero payer is rejected, and a token never allowed is rejected', async () => {
      const zero = '0x0000000000000000000000000000000000000000'
      const sc = await signCheque(f, signer, cheque())
      const stray = await deployTestStablecoin({ rpcUrl: f.anvil.rpcUrl, name: 'Stray', symbol: 'STR' })
      const { events } = await claim(f, relayer, [
        { ...sc, cheque: { ...sc.cheque, payee: zero } },
        { ...sc, cheque: { ...sc.cheque, payer: zero } },
        await signCheque(f, signer, cheque({ token: stray })),
      ])
      expect(rejected(events).map((r) => r.reason)).toEqual([
        ChequeRejectReason.ZeroAddress,
        ChequeRejectReason.ZeroAddress,
        ChequeRejectReason.UnknownToken,
      ])
    })
  })

  it('a batch with a bad row skips that row and settles the rest', async () => {
    const good1 = await signCheque(f, signer, cheque({ payee: payeeA, cumulativeAmount: 3n * USD }))
    const bad = await signCheque(f, privateKeyToAccount(generatePrivateKey()), cheque({ payee: payeeB }))
    const good2 = await signCheque(f, signer, cheque({ payee: payeeB, cumulativeAmount: 4n * USD }))
    const { events } = await claim(f, relayer, [good1, bad, good2])
    expect(events.map((e) => e.eventName)).toEqual(['ChequeClaimed', 'ChequeRejected', 'ChequeClaimed'])
    expect(rejected(events)[0]).toMatchObject({ index: 1n, reason: ChequeRejectReason.UnauthorizedSigner })
    expect(await readEscrow(f, 'earnings', [payeeA, f.usdc])).toBe(3n * USD)
    expect(await readEscrow(f, 'earnings', [payeeB, f.usdc])).toBe(4n * USD)
  })

  it('claim returns the total paid (eth_call)', async () => {
    const rows = [
      await signCheque(f, signer, cheque({ payee: payeeA, cumulativeAmount: 3n * USD })),
      await signCheque(f, signer, cheque({ payee: payeeB, cumulativeAmount: 4n * USD })),
    ]
    const { result } = await f.publicClient.simulateContract({
      address: f.escrow,
      abi: escrowAbi,
      functionName: 'claim',
      args: [rows],
      account: f.accounts[relayer]!,
    })
    expect(result).toBe(7n * USD)
  })

  it('a cheque beyond the deposit pays what there is, bounces the rest, and pays the rest after a top-up', async () => {
    const sc = await signCheque(f, signer, cheque({ cumulativeAmount: 130n * USD }))
    expect(await readEscrow(f, 'bounced', [payer.address])).toBe(false)
    const first = await claim(f, relayer, [sc])
    expect(first.events.map((e) => e.eventName)).toEqual(['ChequeClaimed', 'ChequeBounced'])
    expect(first.events[0]!.args).toMatchObject({ paid: 100n * USD })
    expect(first.events[1]!.args).toMatchObject({ shortfall: 30n * USD, cumulativeAmount: 130n * USD })
    expect(await readEscrow(f, 'bounced', [payer.address])).toBe(true)
    expect(await readEscrow(f, 'paidOut', [payer.address, payeeA, f.usdc])).toBe(100n * USD)
    expect(await readEscrow(f, 'balanceOf', [payer.address, f.usdc])).toBe(0n)

    // an empty payer: the whole cheque bounces, nothing moves
    const again = await claim(f, relayer, [sc])
    expect(again.events.map((e) => e.eventName)).toEqual(['ChequeBounced'])

    await deposit(f, 1, f.usdc, 50n * USD)
    const after = await claim(f, relayer, [sc])
    expect(after.events.map((e) => e.eventName)).toEqual(['ChequeClaimed'])
    expect(after.events[0]!.args).toMatchObject({ paid: 30n * USD })
    expect(await readEscrow(f, 'earnings', [payeeA, f.usdc])).toBe(130n * USD)
    expect(await readEscrow(f, 'balanceOf', [payer.address, f.usdc])).toBe(20n * USD)
  })

  it('overcommitment: cheques to many payees worth far more than the deposit pay out no more than was deposited', async () => {
    const payees = Array.from({ length: 12 }, () => privateKeyToAccount(generatePrivateKey()).address)
    const rows = await Promise.all(payees.map((payee) => signCheque(f, signer, cheque({ payee, cumulativeAmount: 30n * USD }))))
    const before = await tokenBalance(f, f.usdc, f.escrow)
    const { events } = await claim(f, relayer, rows)
    const paid = events.filter((e) => e.eventName === 'ChequeClaimed').reduce((s, e) => s + (e.args as { paid: bigint }).paid, 0n)
    expect(paid).toBe(100n * USD)
    let earned = 0n
    for (const p of payees) earned += await readEscrow(f, 'earnings', [p, f.usdc])
    expect(earned).toBe(100n * USD)
    expect(await readEscrow(f, 'balanceOf', [payer.address, f.usdc])).toBe(0n)
    expect(await tokenBalance(f, f.usdc, f.escrow)).toBe(before)
    expect(events.filter((e) => e.eventName === 'ChequeBounced').length).toBeGreaterThanOrEqual(payees.length - 3)
  })

  it('draws the payee’s allocation before the free balance; other payees cannot touch the allocation', async () => {
    await write(f, f.wallet(1), { address: f.escrow, abi: escrowAbi, functionName: 'allocate', args: [payeeA, f.usdc, 30n * USD] })
    expect(await readEscrow(f, 'balanceOf', [payer.address, f.usdc])).toBe(70n * USD)
    // B drains the free balance and bounces: A's allocation is untouched
    const { events } = await claim(f, relayer, [await signCheque(f, signer, cheque({ payee: payeeB, cumulativeAmount: 90n * USD }))])
    expect(events[0]!.args).toMatchObject({ paid: 70n * USD })
    expect((await readEscrow(f, 'allocation', [payer.address, payeeA, f.usdc]))[0]).toBe(30n * USD)
    // A is paid from the allocation first
    await claim(f, relayer, [await signCheque(f, signer, cheque({ payee: payeeA, cumulativeAmount: 20n * USD }))])
    expect((await readEscrow(f, 'allocation', [payer.address, payeeA, f.usdc]))[0]).toBe(10n * USD)
    // then allocation + top-up of the free balance
    await deposit(f, 1, f.usdc, 5n * USD)
    const last = await claim(f, relayer, [await signCheque(f, signer, cheque({ payee: payeeA, cumulativeAmount: 40n * USD }))])
    expect(last.events.map((e) => e.eventName)).toEqual(['ChequeClaimed', 'ChequeBounced'])
    expect(last.events[0]!.args).toMatchObject({ paid: 15n * USD })
    expect(last.events[1]!.args).toMatchObject({ shortfall: 5n * USD })
    expect((await readEscrow(f, 'allocation', [payer.address, payeeA, f.usdc]))[0]).toBe(0n)
  })

  it('cheques in a delisted token stay claimable (no one’s money is trapped), deposits are closed', async () => {
    await write(f, f.wallet(0), { address: f.escrow, abi: escrowAbi, functionName: 'setTokenAllowed', args: [f.usdc, false] })
    expect(await readEscrow(f, 'isTokenAllowed', [f.usdc])).toBe(false)
    const { events } = await claim(f, relayer, [await signCheque(f, signer, cheque())])
    expect(events[0]!.eventName).toBe('ChequeClaimed')
    await expect(deposit(f, 1, f.usdc, USD)).rejects.toThrow(/TokenNotAllowed/)
  })

  it('an empty batch is a no-op', async () => {
    const { events } = await claim(f, relayer, [])
    expect(events).toEqual([])
  })
})
