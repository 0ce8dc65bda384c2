/**
 * The JSON form of a signed cheque (HTTP, files, logs) and its validation at the edge:
 * addresses valid (EIP-55 checksum enforced when mixed-case) and returned checksummed, the amount a
 * decimal string (JSON has no bigint) within uint128, the signature 65 or 64 bytes hex.
 */
import { z } from 'zod'
import { getAddress, isAddress, type Address, type Hex } from 'viem'
import { tokenUnits } from '@bitcdn/core'
import { PayError } from './errors.js'
import { normalizeSignature } from './signature.js'
import { MAX_CUMULATIVE, type SignedCheque } from './types.js'

const address = z
  .string()
  .refine((s) => isAddress(s, { strict: true }), { message: 'not a valid address (bad hex or EIP-55 checksum)' })
  .transform((s) => getAddress(s) as Address)

const amount = z
  .string()
  .regex(/^(0|[1-9][0-9]*)$/, 'must be a decimal integer string in token base units')
  .transform((s) => BigInt(s))
  .refine((n) => n <= MAX_CUMULATIVE, { message: 'exceeds uint128' })

const signature = z.string().regex(/^0x([0-9a-fA-F]{130}|[0-9a-fA-F]{128})$/, 'must be 0x + 65 or 64 bytes hex')

/** zod schema of a JSON signed cheque. */
export const signedChequeJsonSchema = z.object({
  cheque: z.object({ payer: address, payee: address, token: address, cumulativeAmount: amount }),
  signature,
})

/** A signed cheque as JSON. */
export interface SignedChequeJson {
  cheque: { payer: string; payee: string; token: string; cumulativeAmount: string }
  signature: string
}

/**
 * Parses untrusted JSON (object or string) into a signed cheque.
 * @throws {PayError} BITCDN_ERR_CHEQUE_INVALID naming the bad field
 * @example const signed = parseSignedCheque(JSON.parse(body))
 */
export function parseSignedCheque(input: unknown): SignedCheque {
  let value = input
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input)
    } catch (cause) {
      throw new PayError('BITCDN_ERR_CHEQUE_INVALID', 'cheque is not valid JSON', { cause })
    }
  }
  const r = signedChequeJsonSchema.safeParse(value)
  if (!r.success) {
    const issue = r.error.issues[0]
    const where = issue?.path.join('.') || 'cheque'
    throw new PayError('BITCDN_ERR_CHEQUE_INVALID', `invalid cheque: ${where} ${issue?.message ?? ''}`.trim(), {
      details: { path: where },
    })
  }
  return {
    cheque: { ...r.data.cheque, cumulativeAmount: tokenUnits(r.data.cheque.cumulativeAmount) },
    signature: normalizeSignature(r.data.signature as Hex),
  }
}

/**
 * The JSON form of a signed cheque.
 * @example JSON.stringify(signedChequeToJson(signed))
 */
export function signedChequeToJson(signed: SignedCheque): SignedChequeJson {
  return {
    cheque: {
      payer: signed.cheque.payer,
      payee: signed.cheque.payee,
      token: signed.cheque.token,
      cumulativeAmount: signed.cheque.cumulativeAmount.toString(),
    },
    signature: signed.signature,
  }
}
