import { encodeAbiParameters, encodeEventTopics, getAddress, type Hex, type Log } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { tokenUnits } from '@bitcdn/core'
import { escrowAbi } from '../contracts/index.js'
import { createPrivateKeyChequeSigner } from '../cheques/sign.js'
import { parseSignatureBytes, toCompact64 } from '../cheques/signature.js'
import { compactPaid } from './compact-paid.js'
import { COMPACT_ROW_BYTES, decodeCompactRows, encodeCompactRows } from './compact-rows.js'

const addr = () => privateKeyToAccount(generatePrivateKey()).address
const domain = { chainId: 31337, verifyingContract: addr() }

describe('compact claim rows', () => {
  const payee = addr()
  const token = addr()
  const pk = generatePrivateKey()
  const payer = privateKeyToAccount(pk).address
  const signer = createPrivateKeyChequeSigner(pk, domain)
  const signed = async (amount: bigint, over: { payee?: `0x${string}`; token?: `0x${string}` } = {}) => {
    const cheque = { payer, payee: over.payee ?? payee, token: over.token ?? token, cumulativeAmount: tokenUnits(amount) }
    return { cheque, signature: await signer.sign(cheque) }
  }

  it('packs payer | cumulative (16 bytes, big-endian) | r | vs per row and decodes back', async () => {
    const a = await signed(1n)
    const b = await signed((1n << 128n) - 1n)
    const rows = encodeCompactRows(payee, token, [a, b])
    expect((rows.length - 2) / 2).toBe(2 * COMPACT_ROW_BYTES)
    expect(rows.slice(2, 42)).toBe(payer.slice(2).toLowerCase())
    expect(rows.slice(42, 74)).toBe('00000000000000000000000000000001')
    const decoded = decodeCompactRows(rows)
    expect(decoded.map((r) => r.cumulativeAmount)).toEqual([1n, (1n << 128n) - 1n])
    const compact = Buffer.from(toCompact64(parseSignatureBytes(Buffer.from(a.signature.slice(2), 'hex')))).toString('hex')
    expect(decoded[0]!.signature).toBe(`0x${compact}`)
    expect(decoded[0]!.payer).toBe(getAddress(payer))
  })

  it('refuses a cheque for another payee or token, and a malformed signature', async () => {
    expect(() => encodeCompactRows(payee, token, [{ cheque: { payer, payee: addr(), token, cumulativeAmount: tokenUnits(1n) }, signature: '0x' }])).toThrow(
      expect.objectContaining({ code: 'BITCDN_ERR_CHEQUE_INVALID' }),
    )
    const other = await signed(5n, { token: addr() })
    expect(() => encodeCompactRows(payee, token, [other])).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_CHEQUE_INVALID' }))
    const bad = { ...(await signed(5n)), signature: '0x1234' as Hex }
    expect(() => encodeCompactRows(payee, token, [bad])).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_CHEQUE_INVALID' }))
    expect(() => decodeCompactRows('0x00')).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_CHEQUE_INVALID' }))
  })
})

describe('compactPaid', () => {
  const escrow = getAddress(addr())
  const payee = getAddress(addr())
  const log = (address: `0x${string}`, eventName: 'ChequePaid' | 'CompactClaimed', args: Record<string, unknown>): Log => {
    const topics = encodeEventTopics({ abi: escrowAbi, eventName, args } as never) as [Hex, ...Hex[]]
    const data =
      eventName === 'ChequePaid'
        ? encodeAbiParameters([{ type: 'uint256' }], [args.paid as bigint])
        : encodeAbiParameters([{ type: 'uint256' }, { type: 'uint256' }], [args.rows as bigint, args.totalPaid as bigint])
    return { address, topics, data, blockHash: null, blockNumber: null, logIndex: null, transactionHash: null, transactionIndex: null, removed: false } as Log
  }

  it('sums ChequePaid rows per payer and the token of their batch; ignores other payees and contracts', () => {
    const [p1, p2] = [getAddress(addr()), getAddress(addr())]
    const [usdc, usdt] = [getAddress(addr()), getAddress(addr())]
    const logs = [
      log(escrow, 'ChequePaid', { payer: p1, paid: 5n }),
      log(escrow, 'ChequePaid', { payer: p2, paid: 7n }),
      log(escrow, 'CompactClaimed', { payee, token: usdc, rows: 2n, totalPaid: 12n }),
      log(escrow, 'ChequePaid', { payer: p1, paid: 100n }),
      log(escrow, 'CompactClaimed', { payee: getAddress(addr()), token: usdc, rows: 1n, totalPaid: 100n }), // another payee's batch
      log(getAddress(addr()), 'ChequePaid', { payer: p1, paid: 1_000n }), // a look-alike contract
      log(escrow, 'ChequePaid', { payer: p1, paid: 3n }),
      log(escrow, 'CompactClaimed', { payee, token: usdt, rows: 1n, totalPaid: 3n }),
    ]
    expect(compactPaid(logs, escrow, payee)).toEqual(new Map([[`${p1}:${usdc}`, 5n], [`${p2}:${usdc}`, 7n], [`${p1}:${usdt}`, 3n]]))
  })
})
