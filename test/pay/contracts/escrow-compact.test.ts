/**
 * claimCompact(payee, token, rows): the cash-out's claim path. Rows are 100 bytes
 * (payer | cumulative | r | vs) over the unchanged EIP-712 cheque digest, so a cheque signed for
 * `claim` settles here too. Every row outcome (paid, bounced, rejected for each reason) and the
 * attacks: redirected and re-tokened cheques, malleable signatures, replays; malformed calls revert.
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { concatHex, numberToHex, parseSignature, type Account, type Address, type Hex } from 'viem'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ChequeRejectReason, escrowAbi } from '../../../packages/pay/src/contracts/index.js'
import { decodeCompactRows, encodeCompactRows } from '../../../packages/pay/src/cashout/compact-rows.js'
import { tokenUnits } from '@bitcdn/core'
import {
  chequeDigestTs,
  claim,
  claimCompact,
  deposit,
  readEscrow,
  revert,
  setup,
  signCheque,
  snapshot,
  toCompact,
  SECP256K1_N,
  write,
  type Cheque,
  type Fixture,
  type SignedCheque,
} from './fixture.js'

const USD = 1_000_000n
const ZERO = '0x0000000000000000000000000000000000000000'

describe('BitCDNEscrow claimCompact', () => {
  let f: Fixture
  let payers: Account[]
  let hot: Account[]
  let payee: Address
  let other: Address
  let snap: Hex
  const cheque = (i: number, amount: bigint, over: Partial<Cheque> = {}): Cheque => ({ payer: payers[i]!.address, payee, token: f.usdc, cumulativeAmount: amount, ...over })
  /** A row exactly as the escrow reads it, for rows the production encoder would refuse to build. */
  const rawRow = (payer: Address, cumulative: bigint, signature64: Hex): Hex => concatHex([payer, numberToHex(cumulative, { size: 16 }), signature64])
  const send = async (rows: Hex, to = payee, token = f.usdc) => {
    const hash = await f.wallet(5).writeContract({ address: f.escrow, abi: escrowAbi, functionName: 'claimCompact', args: [to, token, rows], gas: 3_000_000n })
    return f.publicClient.waitForTransactionReceipt({ hash })
  }
  const reasons = (events: { eventName: string; args: unknown }[]) =>
    events.filter((e) => e.eventName === 'ChequeRejected').map((e) => [(e.args as { index: bigint }).index, (e.args as { reason: number }).reason])

  beforeAll(async () => {
    f = await setup({ accounts: 8, withdrawDelaySeconds: 3600 })
    payers = [f.accounts[1]!, f.accounts[2]!]
    hot = payers.map(() => privateKeyToAccount(generatePrivateKey()))
    payee = f.accounts[3]!.address
    other = f.accounts[4]!.address
    for (let i = 0; i < 2; i++) {
      await deposit(f, i + 1, f.usdc, 100n * USD)
      await write(f, f.wallet(i + 1), { address: f.escrow, abi: escrowAbi, functionName: 'setSigner', args: [hot[i]!.address] })
    }
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

  it('the row layout round-trips, and a 65-byte cheque signature becomes its ERC-2098 form', async () => {
    const sc = await signCheque(f, hot[0]!, cheque(0, 7n * USD))
    const rows = encodeCompactRows(payee, f.usdc, [{ cheque: { ...sc.cheque, cumulativeAmount: tokenUnits(sc.cheque.cumulativeAmount) }, signature: sc.signature }])
    expect((rows.length - 2) / 2).toBe(100)
    expect(decodeCompactRows(rows)).toEqual([{ payer: payers[0]!.address, cumulativeAmount: 7n * USD, signature: toCompact(sc.signature) }])
  })

  it('pays many payers to one payee: the difference to paidOut, one ChequePaid per row, one CompactClaimed, earnings once', async () => {
    const first = [await signCheque(f, hot[0]!, cheque(0, 5n * USD)), await signCheque(f, payers[1]!, cheque(1, 3n * USD))]
    const a = await claimCompact(f, 5, payee, f.usdc, first)
    expect(a.events.map((e) => e.eventName)).toEqual(['ChequePaid', 'ChequePaid', 'CompactClaimed'])
    expect(a.events[0]!.args).toEqual({ payer: payers[0]!.address, paid: 5n * USD })
    expect(a.events[2]!.args).toEqual({ payee, token: f.usdc, rows: 2n, totalPaid: 8n * USD })
    const b = await claimCompact(f, 5, payee, f.usdc, [await signCheque(f, hot[0]!, cheque(0, 12n * USD))])
    expect(b.events[0]!.args).toEqual({ payer: payers[0]!.address, paid: 7n * USD })
    expect(await readEscrow(f, 'paidOut', [payers[0]!.address, payee, f.usdc])).toBe(12n * USD)
    expect(await readEscrow(f, 'earnings', [payee, f.usdc])).toBe(15n * USD)
    expect(await readEscrow(f, 'balanceOf', [payers[0]!.address, f.usdc])).toBe(88n * USD)
  })

  it('the cheque digest is unchanged: the same signature settles through claim and claimCompact alike', async () => {
    const sc = await signCheque(f, hot[0]!, cheque(0, 4n * USD))
    expect(await readEscrow(f, 'chequeDigest', [sc.cheque])).toBe(chequeDigestTs(f, sc.cheque))
    const onOld = await claim(f, 5, [sc])
    expect(onOld.events[0]!.eventName).toBe('ChequeClaimed')
    // the same cheque again on the compact path: already paid
    const again = await claimCompact(f, 5, payee, f.usdc, [sc])
    expect(reasons(again.events)).toEqual([[0n, ChequeRejectReason.NotNewer]])
    // and a newer one of the same key pays only the rest
    const more = await claimCompact(f, 5, payee, f.usdc, [await signCheque(f, hot[0]!, cheque(0, 6n * USD))])
    expect(more.events[0]!.args).toEqual({ payer: payers[0]!.address, paid: 2n * USD })
  })

  it('cheque-redirect and token-switch attacks: a row claimed for another payee or token recovers a stranger and is rejected', async () => {
    const sc = await signCheque(f, hot[0]!, cheque(0, 5n * USD))
    const sig = toCompact(sc.signature)
    const r1 = await send(rawRow(payers[0]!.address, 5n * USD, sig), other)
    const r2 = await send(rawRow(payers[0]!.address, 5n * USD, sig), payee, f.usdt)
    const r3 = await send(rawRow(payers[0]!.address, 50n * USD, sig)) // inflated amount
    for (const r of [r1, r2, r3]) {
      const ev = (await import('viem')).parseEventLogs({ abi: escrowAbi, logs: r.logs })
      expect(reasons(ev)).toEqual([[0n, ChequeRejectReason.UnauthorizedSigner]])
    }
    expect(await readEscrow(f, 'paidOut', [payers[0]!.address, other, f.usdc])).toBe(0n)
  })

  it('bad rows are skipped with their index and reason, the rest settles: zero payer, payee as payer, high-s, foreign key, replay', async () => {
    const good = await signCheque(f, hot[1]!, cheque(1, 2n * USD))
    const own = await signCheque(f, f.accounts[3]!, cheque(0, 1n * USD, { payer: payee }))
    // ERC-2098 keeps s below 2^255, so the malleable twin (n − s) mostly cannot be written at all;
    // what can — s just above n/2 — must be refused like high s in a 65-byte signature
    const highS = parseSignature((await signCheque(f, hot[0]!, cheque(0, 1n * USD))).signature)
    const highSCompact = concatHex([highS.r, numberToHex((SECP256K1_N >> 1n) + 1n, { size: 32 })])
    const foreign = await signCheque(f, privateKeyToAccount(generatePrivateKey()), cheque(0, 1n * USD))
    const rows = concatHex([
      rawRow(ZERO, 1n, toCompact(good.signature)),
      rawRow(payee, 1n * USD, toCompact(own.signature)),
      rawRow(payers[0]!.address, 1n * USD, highSCompact),
      rawRow(payers[0]!.address, 1n * USD, toCompact(foreign.signature)),
      rawRow(payers[0]!.address, 1n * USD, concatHex([numberToHex(0n, { size: 32 }), numberToHex(1n, { size: 32 })])), // r = 0: no key
      rawRow(payers[1]!.address, 2n * USD, toCompact(good.signature)),
      rawRow(payers[1]!.address, 2n * USD, toCompact(good.signature)), // same row twice: pays once
    ])
    const r = await send(rows)
    const ev = (await import('viem')).parseEventLogs({ abi: escrowAbi, logs: r.logs })
    expect(reasons(ev)).toEqual([
      [0n, ChequeRejectReason.ZeroAddress],
      [1n, ChequeRejectReason.PayeeIsPayer],
      [2n, ChequeRejectReason.BadSignature],
      [3n, ChequeRejectReason.UnauthorizedSigner],
      [4n, ChequeRejectReason.BadSignature],
      [6n, ChequeRejectReason.NotNewer],
    ])
    expect(ev.find((e) => e.eventName === 'CompactClaimed')!.args).toEqual({ payee, token: f.usdc, rows: 7n, totalPaid: 2n * USD })
    expect(await readEscrow(f, 'earnings', [payee, f.usdc])).toBe(2n * USD)
  })

  it('a cheque beyond the deposit pays what there is and bounces the rest (ChequeBounced, bounced flag)', async () => {
    const { events } = await claimCompact(f, 5, payee, f.usdc, [await signCheque(f, hot[0]!, cheque(0, 130n * USD))])
    expect(events.map((e) => e.eventName)).toEqual(['ChequePaid', 'ChequeBounced', 'CompactClaimed'])
    expect(events[1]!.args).toMatchObject({ payer: payers[0]!.address, payee, token: f.usdc, shortfall: 30n * USD })
    expect(await readEscrow(f, 'bounced', [payers[0]!.address])).toBe(true)
  })

  it('returns the total paid (eth_call); an empty batch is a no-op', async () => {
    const sc: SignedCheque[] = [await signCheque(f, hot[0]!, cheque(0, 3n * USD)), await signCheque(f, hot[1]!, cheque(1, 4n * USD))]
    const rows = encodeCompactRows(payee, f.usdc, sc.map((c) => ({ cheque: { ...c.cheque, cumulativeAmount: tokenUnits(c.cheque.cumulativeAmount) }, signature: c.signature })))
    const { result } = await f.publicClient.simulateContract({ address: f.escrow, abi: escrowAbi, functionName: 'claimCompact', args: [payee, f.usdc, rows], account: f.accounts[5]! })
    expect(result).toBe(7n * USD)
    const empty = await claimCompact(f, 5, payee, f.usdc, [])
    expect(empty.events.map((e) => e.eventName)).toEqual(['CompactClaimed'])
  })

  it('a malformed call reverts whole: zero payee, a token never listed, rows not a multiple of 100 bytes', async () => {
    const sim = (to: Address, token: Address, rows: Hex) =>
      f.publicClient.simulateContract({ address: f.escrow, abi: escrowAbi, functionName: 'claimCompact', args: [to, token, rows], account: f.accounts[5]! })
    const sc = await signCheque(f, hot[0]!, cheque(0, 3n * USD))
    const row = rawRow(payers[0]!.address, 3n * USD, toCompact(sc.signature))
    await expect(sim(ZERO, f.usdc, row)).rejects.toThrow(/ZeroAddress/)
    await expect(sim(payee, privateKeyToAccount(generatePrivateKey()).address, row)).rejects.toThrow(/TokenNotListed/)
    await expect(sim(payee, f.usdc, `${row}00`)).rejects.toThrow(/MalformedRows[\s\S]*101/)
  })

  it('cheques in a delisted token stay claimable', async () => {
    await write(f, f.wallet(0), { address: f.escrow, abi: escrowAbi, functionName: 'setTokenAllowed', args: [f.usdc, false] })
    const { events } = await claimCompact(f, 5, payee, f.usdc, [await signCheque(f, hot[0]!, cheque(0, 3n * USD))])
    expect(events[0]!.args).toEqual({ payer: payers[0]!.address, paid: 3n * USD })
  })
})
