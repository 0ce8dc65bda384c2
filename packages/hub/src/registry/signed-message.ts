/**
 * Signed messages to the hub (node registrations, catalogue entries): a fixed first line naming the
 * kind and version, then the canonical JSON of the fields, signed with EIP-191 `personal_sign` so
 * any Ethereum wallet (`cast wallet sign`, viem, ethers) can produce one. The hub verifies exactly
 * the bytes it stores. Every message names its hub (no replay on another hub network) and carries a
 * millisecond timestamp that must be within `MAX_CLOCK_SKEW_MS` of the hub's clock; the store keeps
 * one per key and accepts only a newer one, so a captured message cannot be replayed.
 */
import { recoverMessageAddress, type Hex } from 'viem'
import { z } from 'zod'
import { canonicalJson } from '@bitcdn/pay'
import { hubError } from '../errors.js'

/** How far a message's timestamp may stray from the hub's clock. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000

/** A message as sent over HTTP: the fields and a 65-byte signature. */
export interface Signed<F> {
  fields: F
  signature: Hex
}

export { canonicalJson }

/** One kind of signed message: its first line, its fields, and which field names the signer. */
export interface SignedKind<S extends z.ZodType<{ hub: string; timestamp: number }>> {
  prefix: string
  schema: S
  signerField: keyof z.output<S> & string
  /** Used in error messages: "registration", "catalogue entry". */
  noun: string
}

/** The exact text signed for `fields` of `kind`. */
export function messageText<S extends z.ZodType<{ hub: string; timestamp: number }>>(kind: SignedKind<S>, fields: z.output<S>): string {
  return `${kind.prefix}\n${canonicalJson(fields)}`
}

const envelope = z.strictObject({ fields: z.unknown(), signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, '65-byte hex signature') })

/**
 * Parse and verify one signed message: envelope, fields, hub, clock, signature.
 * @throws BitcdnError BITCDN_ERR_HUB_MESSAGE_INVALID, BITCDN_ERR_HUB_WRONG_NETWORK,
 *   BITCDN_ERR_HUB_REPLAYED (clock skew), BITCDN_ERR_HUB_SIGNATURE_MISMATCH
 */
export async function verifySigned<S extends z.ZodType<{ hub: string; timestamp: number }>>(
  kind: SignedKind<S>,
  body: unknown,
  expect: { hub: string; now: number },
): Promise<Signed<z.output<S>>> {
  const shape = envelope.safeParse(body)
  if (!shape.success) throw hubError('messageInvalid', `${kind.noun} invalid: ${firstIssue(shape.error)}`)
  const parsed = kind.schema.safeParse(shape.data.fields)
  if (!parsed.success) throw hubError('messageInvalid', `${kind.noun} invalid: ${firstIssue(parsed.error)}`)
  const fields = parsed.data
  if (fields.hub !== expect.hub) throw hubError('wrongNetwork', `${kind.noun} is for hub "${fields.hub}", this hub is "${expect.hub}"`)
  const skew = fields.timestamp - expect.now
  if (Math.abs(skew) > MAX_CLOCK_SKEW_MS) {
    throw hubError('replayed', `${kind.noun} timestamp is ${Math.round(skew / 1000)} s from the hub's clock (at most ±${MAX_CLOCK_SKEW_MS / 1000} s)`)
  }
  const signature = shape.data.signature as Hex
  let signer: string
  try {
    signer = await recoverMessageAddress({ message: messageText(kind, fields), signature })
  } catch (cause) {
    throw hubError('signatureMismatch', `${kind.noun} signature does not recover to any address`, {}, cause)
  }
  const claimed = (fields as Record<string, unknown>)[kind.signerField]
  if (signer !== claimed) throw hubError('signatureMismatch', `${kind.noun} for ${String(claimed)} is signed by ${signer}`)
  return { fields, signature }
}

/**
 * Build and sign a message of `kind` with any viem account.
 * @example const body = await signMessageOf(registrationKind, account, fields)
 */
export async function signMessageOf<S extends z.ZodType<{ hub: string; timestamp: number }>>(
  kind: SignedKind<S>,
  account: { signMessage(args: { message: string }): Promise<Hex> },
  input: z.input<S>,
): Promise<Signed<z.output<S>>> {
  const fields = kind.schema.parse(input)
  return { fields, signature: await account.signMessage({ message: messageText(kind, fields) }) }
}

export function firstIssue(err: z.ZodError): string {
  const issue = err.issues[0]
  if (!issue) return 'invalid'
  const at = issue.path.length ? issue.path.join('.') : 'body'
  return `${at}: ${issue.message}`
}
