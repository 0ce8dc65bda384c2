/**
 * Node registrations: what a node tells the hub about itself, signed by its payout key. A node
 * refreshes its registration periodically (`REFRESH_MS`); one not refreshed within `STALE_MS` drops
 * off the list. The registration names the chain and escrow the node is paid through, so a hub for
 * one network refuses nodes of another.
 */
import { getAddress, isAddress, type Hex } from 'viem'
import { z } from 'zod'
import { hubError } from '../errors.js'
import { signMessageOf, verifySigned, type Signed, type SignedKind } from './signed-message.js'

/** How often a node re-registers. */
export const REFRESH_MS = 60_000
/** A node not heard from for this long is no longer listed (three missed refreshes). */
export const STALE_MS = 3 * REFRESH_MS

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
export type SignedRegistration = Signed<RegistrationFields>

export const registrationKind: SignedKind<typeof registrationFieldsSchema> = {
  prefix: 'BitCDN node registration v1',
  schema: registrationFieldsSchema,
  signerField: 'payee',
  noun: 'registration',
}

/** What the hub expects every registration to name. */
export interface RegistrationExpectations {
  hub: string
  chainId?: number
  escrow?: string
  /** The hub's clock, ms. */
  now: number
}

/**
 * Parse and verify a registration: schema, hub, chain, escrow, clock, signature. Freshness against
 * the one held is the store's conditional upsert (atomic across hub instances).
 * @throws BitcdnError BITCDN_ERR_HUB_MESSAGE_INVALID, BITCDN_ERR_HUB_WRONG_NETWORK,
 *   BITCDN_ERR_HUB_REPLAYED, BITCDN_ERR_HUB_SIGNATURE_MISMATCH
 * @example const reg = await verifyRegistration(body, { hub: 'devnet', now: Date.now() })
 */
export async function verifyRegistration(body: unknown, expect: RegistrationExpectations): Promise<SignedRegistration> {
  const reg = await verifySigned(registrationKind, body, expect)
  const f = reg.fields
  if (expect.chainId !== undefined && f.chainId !== expect.chainId) {
    throw hubError('wrongNetwork', `registration is for chain ${f.chainId}, this hub serves chain ${expect.chainId}`)
  }
  if (expect.escrow !== undefined && f.escrow !== getAddress(expect.escrow)) {
    throw hubError('wrongNetwork', `registration names escrow ${f.escrow}, this hub serves ${getAddress(expect.escrow)}`)
  }
  return reg
}

/**
 * Sign a registration with the node's payout account (any viem account).
 * @example const body = await signRegistration(account, { payee: account.address, endpoint: '127.0.0.1:6881', ... })
 */
export function signRegistration(account: { signMessage(args: { message: string }): Promise<Hex> }, input: RegistrationInput): Promise<SignedRegistration> {
  return signMessageOf(registrationKind, account, input)
}
