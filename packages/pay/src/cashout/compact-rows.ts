/**
 * The row layout of the escrow's `claimCompact(payee, token, rows)` (see BitCDNEscrow.sol,
 * COMPACT_ROW_BYTES): per cheque 100 bytes, `payer(20) | cumulativeAmount(16, big-endian) |
 * r(32) | vs(32)` — vs is the ERC-2098 compact form (s with the y parity in the top bit). Payee
 * and token are the call's, once per batch. This file only packs what the contract defines.
 */
import { bytesToHex, hexToBytes, type Address, type Hex } from 'viem'
import { parseSignatureBytes, toCompact64 } from '../cheques/signature.js'
import type { SignedCheque } from '../cheques/types.js'

/** Bytes per row; must equal the escrow's COMPACT_ROW_BYTES. */
export const COMPACT_ROW_BYTES = 100

/**
 * Packs cheques of one payee and token into `claimCompact` rows.
 * @example const rows = encodeCompactRows(entries.map((e) => e.best))
 */
export function encodeCompactRows(cheques: readonly SignedCheque[]): Hex {
  const out = new Uint8Array(cheques.length * COMPACT_ROW_BYTES)
  cheques.forEach((c, i) => {
    const o = i * COMPACT_ROW_BYTES
    out.set(hexToBytes(c.cheque.payer as Address), o)
    let v = c.cheque.cumulativeAmount as bigint
    for (let b = 15; b >= 0; b--) {
      out[o + 20 + b] = Number(v & 0xffn)
      v >>= 8n
    }
    out.set(toCompact64(parseSignatureBytes(hexToBytes(c.signature))), o + 36)
  })
  return bytesToHex(out)
}
