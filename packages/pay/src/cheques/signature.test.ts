import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { parseSignatureBytes, parseSignatureFast } from './signature.js'

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const hex32 = (v: bigint) => v.toString(16).padStart(64, '0')

/** parseSignatureBytes on hex, as the slow path reads it (bad hex refused). */
function slow(sig: string): { rs: string; yParity: number } | undefined {
  if (!/^0x([0-9a-fA-F]{2})*$/.test(sig)) return undefined
  try {
    const p = parseSignatureBytes(Buffer.from(sig.slice(2), 'hex'))
    return { rs: hex32(p.r) + hex32(p.s), yParity: p.yParity }
  } catch {
    return undefined
  }
}

describe('parseSignatureFast', () => {
  it('accepts and refuses exactly what parseSignatureBytes does, on edge and random signatures', () => {
    const half = N >> 1n
    const cases: string[] = ['0x', '', '0x00', `0x${'zz'.repeat(65)}`, `0x${'ab'.repeat(64)}g`, `0x${'ab'.repeat(64)}1`]
    for (const r of [0n, 1n, N - 1n, N, (1n << 256n) - 1n]) {
      for (const s of [0n, 1n, half, half + 1n, N - 1n]) {
        for (const v of [0, 1, 26, 27, 28, 29]) cases.push(`0x${hex32(r)}${hex32(s)}${v.toString(16).padStart(2, '0')}`)
        for (const bit of [0n, 1n]) if (s < 1n << 255n) cases.push(`0x${hex32(r)}${hex32(s | (bit << 255n))}`)
      }
    }
    for (let i = 0; i < 2000; i++) {
      const b = randomBytes(i % 3 === 0 ? 64 : 65)
      if (i % 2 === 0) b[32] = b[32]! & 0x7f // low s more often
      if (b.length === 65) b[64] = 27 + (i % 2)
      cases.push(`0x${b.toString('hex')}`)
      // a non-hex character somewhere: refused, never a shorter signature
      const bad = `0x${b.toString('hex')}`.split('')
      bad[2 + (i % (bad.length - 2))] = 'q'
      cases.push(bad.join(''))
    }
    let accepted = 0
    for (const c of cases) {
      const fast = parseSignatureFast(c)
      const want = slow(c)
      expect(fast ? { rs: fast.rs.toString('hex'), yParity: fast.yParity } : undefined, c).toEqual(want)
      if (want) accepted++
    }
    expect(accepted).toBeGreaterThan(500) // the comparison covered accepted signatures, not only refusals
  })
})
