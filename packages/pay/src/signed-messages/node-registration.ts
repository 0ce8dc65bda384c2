/**
 * The node registration message: what a node tells a hub about itself, signed with EIP-191
 * `personal_sign` by its payout key, so any Ethereum wallet can produce one. The signed text is a
 * fixed first line naming kind and version, then the canonical JSON of the fields. It lives here,
 * beside the payout key's other signatures, because both the node (which signs it) and the hub
 * (which verifies it) need the one definition and the node may not import the hub.
 */
import { getAddress, isAddress, type Hex } from 'viem'
import { z } from 'zod'
import { canonicalJson } from './canonical-json.js'

/** How often a node re-registers (a hub lists a node while seen within three of these). */
export const REGISTRATION_REFRESH_MS = 60_000

/** First line of the signed text. */
export const REGISTRATION_PREFIX = 'BitCDN node registration v1'

/** Field validators shared with the hub's other signed messages. */
export const addressField = z.string().refine((s) => isAddress(s, { strict: false }), 'not an address').transform((s) => getAddress(s))
export const uintString = z.string().regex(/^(0|[1-9][0-9]{0,37})$/, 'a decimal integer below 10^38')
export const infoHashField = z.string().regex(/^[0-9a-f]{40}$/, '40 lowercase hex digits')

/** The fields a node signs. Every size is bounded: nothing a client sends sizes an allocation. */
export const registrationFieldsSchema = z.strictObject({
  /** The node's payout address (the key that signs). */
  payee: addressField,
  /** Where buyers reach it: `host:port` of its BitTorrent listener. */
  endpoint: z.string().min(3).max(255).regex(/^[A-Za-z0-9.\-:[\]]+:[0-9]{1,5}$/, 'host:port'),
  /** Price per GiB in the token's base units. */
  pricePerGiB: uintString,
  token: addressField,
  chainId: z.number().int().positive().max(2 ** 53 - 1),
  escrow: addressField,
  /** The hub network this is meant for, so a registration cannot be replayed on another. */
  hub: z.string().min(1).max(64),
  /** Free text, e.g. `eu-west`. */
  region: z.string().max(32).default(''),
  /** Upload capacity it offers, bytes per second. */
  capacityBytesPerSec: z.number().int().nonnegative().max(2 ** 53 - 1).default(0),
  /** Software version, e.g. `bitcdn/0.1.0`. */
  version: z.string().max(32).default(''),
  /** Bytes served so far as the node reports them (cumulative). */
  servedBytes: uintString.default('0'),
  /** Info-hashes it pins, at most 256 listed. */
  pinned: z.array(infoHashField).max(256).default([]),
  /** When it was signed, ms since the epoch. */
  timestamp: z.number().int().positive().max(2 ** 53 - 1),
})

export type RegistrationFields = z.output<typeof registrationFieldsSchema>
export type RegistrationInput = z.input<typeof registrationFieldsSchema>
/** A registration as posted to a hub: the fields and the 65-byte signature. */
export interface SignedRegistration {
  fields: RegistrationFields
  signature: Hex
}

/** The exact text signed for `fields`. */
export function registrationText(fields: RegistrationFields): string {
  return `${REGISTRATION_PREFIX}\n${canonicalJson(fields)}`
}

/**
 * Sign a registration with the node's payout account (any viem account).
 * @throws ZodError when `input` is not a valid registration
 * @example const body = await signRegistration(account, { payee: account.address, endpoint: '127.0.0.1:6881', ... })
 */
export async function signRegistration(account: { signMessage(args: { message: string }): Promise<Hex> }, input: RegistrationInput): Promise<SignedRegistration> {
  const fields = registrationFieldsSchema.parse(input)
  return { fields, signature: await account.signMessage({ message: registrationText(fields) }) }
}
