import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { tokenUnits } from '@bitcdn/core'
import { decodePayMessage, encodePayMessage, encodeRefuse, MAX_PAY_MESSAGE_BYTES, PROTOCOL_VERSION, RefuseReason, type PayMessage } from './codec.js'

const A = '0x1111111111111111111111111111111111111111'
const B = '0x2222222222222222222222222222222222222222'
const C = '0x3333333333333333333333333333333333333333'
const samples: PayMessage[] = [
  { type: 'terms', chainId: 31337, escrow: A, token: B, payee: C, pricePerGiB: tokenUnits(1_000_000n), softAllowance: tokenUnits((1n << 128n) - 1n), nonce: new Uint8Array(32).fill(4) },
  { type: 'hello', payer: A, signer: B, nonce: new Uint8Array(32).fill(9), signature: new Uint8Array(64).fill(6) },
  { type: 'proof', signature: new Uint8Array(64).fill(5) },
  { type: 'cheque', cheque: new Uint8Array(80).fill(7) },
  { type: 'ack', cumulative: tokenUnits(123n), credit: tokenUnits(0n) },
  { type: 'refuse', reason: RefuseReason.credit, text: 'owes too much' },
]

/** Decoding never throws anything but a coded BitcdnError. */
function decodeOrCode(buf: Uint8Array): string {
  try {
    decodePayMessage(buf)
    return 'ok'
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code !== 'BITCDN_ERR_PAY_MESSAGE_INVALID' && code !== 'BITCDN_ERR_PAY_VERSION') throw err
    return code
  }
}

describe('bitcdn_pay codec', () => {
  it('round-trips every message type', () => {
    for (const m of samples) expect(decodePayMessage(encodePayMessage(m))).toEqual(m)
  })

  it('puts the protocol version first and refuses another version (a refuse excepted: it reads the same in all)', () => {
    for (const m of samples.filter((m) => m.type !== 'refuse')) {
      const b = encodePayMessage(m)
      expect(b[0]).toBe(PROTOCOL_VERSION)
      b[0] = PROTOCOL_VERSION + 1
      expect(() => decodePayMessage(b)).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_PAY_VERSION' }))
    }
  })

  it('refuses a message one byte short or long, an unknown type, an oversized message', () => {
    for (const m of samples.filter((m) => m.type !== 'refuse')) {
      const b = encodePayMessage(m)
      expect(decodeOrCode(b.subarray(0, b.length - 1))).toBe('BITCDN_ERR_PAY_MESSAGE_INVALID')
      expect(decodeOrCode(Buffer.concat([b, Buffer.from([0])]))).toBe('BITCDN_ERR_PAY_MESSAGE_INVALID')
    }
    expect(decodeOrCode(Buffer.from([PROTOCOL_VERSION, 99]))).toBe('BITCDN_ERR_PAY_MESSAGE_INVALID')
    expect(decodeOrCode(Buffer.alloc(MAX_PAY_MESSAGE_BYTES + 1, 1))).toBe('BITCDN_ERR_PAY_MESSAGE_INVALID')
    expect(decodeOrCode(new Uint8Array(0))).toBe('BITCDN_ERR_PAY_MESSAGE_INVALID')
  })

  it('refuses a zero chain id and a refuse whose text length lies', () => {
    const t = encodePayMessage(samples[0]!)
    t.fill(0, 2, 10)
    expect(decodeOrCode(t)).toBe('BITCDN_ERR_PAY_MESSAGE_INVALID')
    const r = encodePayMessage(samples.find((m) => m.type === 'refuse')!)
    r[3] = r[3]! + 1
    expect(decodeOrCode(r)).toBe('BITCDN_ERR_PAY_MESSAGE_INVALID')
  })

  it('refuses to encode amounts outside uint128 and bad addresses', () => {
    expect(() => encodePayMessage({ type: 'ack', cumulative: tokenUnits(1n << 128n), credit: tokenUnits(0n) })).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_PAY_MESSAGE_INVALID' }))
    expect(() => encodePayMessage({ type: 'ack', cumulative: tokenUnits(-1n), credit: tokenUnits(0n) })).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_PAY_MESSAGE_INVALID' }))
    const sig = new Uint8Array(64)
    expect(() => encodePayMessage({ type: 'hello', payer: '0x12' as never, signer: B, nonce: new Uint8Array(32), signature: sig })).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_PAY_MESSAGE_INVALID' }))
    expect(() => encodePayMessage({ type: 'hello', payer: A, signer: B, nonce: new Uint8Array(31), signature: sig })).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_PAY_MESSAGE_INVALID' }))
    expect(() => encodePayMessage({ type: 'hello', payer: A, signer: B, nonce: new Uint8Array(32), signature: new Uint8Array(65) })).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_PAY_MESSAGE_INVALID' }))
    const terms = samples[0] as Extract<PayMessage, { type: 'terms' }>
    expect(() => encodePayMessage({ ...terms, nonce: new Uint8Array(0) })).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_PAY_MESSAGE_INVALID' }))
    expect(() => encodePayMessage({ type: 'proof', signature: new Uint8Array(65) })).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_PAY_MESSAGE_INVALID' }))
  })

  it('refuses a version 1 hello (no nonce: a peer without payee binding) with BITCDN_ERR_PAY_VERSION', () => {
    // what a version 1 buyer sends: version 1 | type 2 | payer 20 | signer 20
    const v1 = Buffer.concat([Buffer.from([1, 2]), Buffer.alloc(20, 0x11), Buffer.alloc(20, 0x22)])
    expect(decodeOrCode(v1)).toBe('BITCDN_ERR_PAY_VERSION')
  })

  it("decodes a refuse of any version and encodes one in the peer's version (an old peer reads why)", () => {
    const v1 = encodeRefuse({ type: 'refuse', reason: RefuseReason.protocol, text: 'bitcdn_pay version 1 is not supported' }, 1)
    // a version 1 decoder: version 1, type 5, reason 1..5, length byte matches
    expect([v1[0], v1[1], v1[2], v1[3]]).toEqual([1, 5, RefuseReason.protocol, v1.length - 4])
    expect(decodePayMessage(v1)).toEqual({ type: 'refuse', reason: RefuseReason.protocol, text: 'bitcdn_pay version 1 is not supported' })
    const v9 = encodeRefuse({ type: 'refuse', reason: RefuseReason.terms, text: 'x' }, 9)
    expect(decodePayMessage(v9)).toMatchObject({ type: 'refuse', reason: RefuseReason.terms })
    // but every other type of another version is refused
    const t = encodePayMessage(samples[0]!)
    t[0] = 9
    expect(decodeOrCode(t)).toBe('BITCDN_ERR_PAY_VERSION')
    expect(() => encodeRefuse({ type: 'refuse', reason: RefuseReason.terms, text: 'x' }, 0)).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_PAY_MESSAGE_INVALID' }))
  })

  it('fuzz: random bytes decode or fail with a code, never anything else', () => {
    for (let i = 0; i < 20_000; i++) decodeOrCode(randomBytes(Math.floor(Math.random() * 260)))
    // random bodies with a valid header reach every field parser
    for (let i = 0; i < 20_000; i++) {
      const type = 1 + (i % 7)
      const b = randomBytes([134, 138, 82, 34, 4 + (i % 200), 66, 10][type - 1]!)
      b[0] = PROTOCOL_VERSION
      b[1] = type
      decodeOrCode(b)
    }
  })

  it('fuzz: mutated valid messages decode or fail with a code', () => {
    for (let i = 0; i < 20_000; i++) {
      const b = Buffer.from(encodePayMessage(samples[i % samples.length]!))
      const flips = 1 + Math.floor(Math.random() * 4)
      for (let f = 0; f < flips; f++) b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256)
      const cut = Math.random() < 0.2 ? b.subarray(0, Math.floor(Math.random() * b.length)) : b
      decodeOrCode(cut)
    }
  })

  it('fuzz: messages of random versions decode only as refuse, else fail with a code', () => {
    for (let i = 0; i < 20_000; i++) {
      const b = Buffer.from(encodePayMessage(samples[i % samples.length]!))
      b[0] = Math.floor(Math.random() * 256)
      const r = decodeOrCode(b)
      if (b[0] !== PROTOCOL_VERSION && b[1] !== 5) expect(r).toBe('BITCDN_ERR_PAY_VERSION')
    }
  })
})
