/**
 * Node registrations: what a node tells the hub about itself, signed by its payout key. A node
 * refreshes its registration periodically (`REFRESH_MS`); one not refreshed within `STALE_MS` drops
 * off the list. The registration names the chain and escrow the node is paid through, so a hub for
 * one network refuses nodes of another.
 */
import { getAddress } from 'viem'
import { REGISTRATION_PREFIX, REGISTRATION_REFRESH_MS, addressField, uintString, infoHashField, registrationFieldsSchema, signRegistration, type RegistrationFields, type RegistrationInput, type SignedRegistration } from '@bitcdn/pay'
import { hubError } from '../errors.js'
import { verifySigned, type SignedKind } from './signed-message.js'

/** How often a node re-registers. */
export const REFRESH_MS = REGISTRATION_REFRESH_MS
/** A node not heard from for this long is no longer listed (three missed refreshes). */
export const STALE_MS = 3 * REFRESH_MS

// the message itself is defined once in @bitcdn/pay, which the node (the signer) may import
export { addressField, uintString, infoHashField, registrationFieldsSchema, signRegistration, type RegistrationFields, type RegistrationInput, type SignedRegistration }

export const registrationKind: SignedKind<typeof registrationFieldsSchema> = {
  prefix: REGISTRATION_PREFIX,
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
