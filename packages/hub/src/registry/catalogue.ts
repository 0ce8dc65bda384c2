/**
 * Catalogue entries: a publisher announces a torrent with a name and description, signed by its
 * key. One entry per (publisher, info-hash); a newer signed entry replaces the older.
 */
import type { Hex } from 'viem'
import { CATALOGUE_PREFIX, catalogueFieldsSchema, type CatalogueFields, type CatalogueInput } from '@bitcdn/pay/signed-messages'
import { signMessageOf, verifySigned, type Signed, type SignedKind } from './signed-message.js'

// the message itself is defined once in @bitcdn/pay: the node verifies listed entries again
export { catalogueFieldsSchema, type CatalogueFields, type CatalogueInput }
export type SignedCatalogueEntry = Signed<CatalogueFields>

export const catalogueKind: SignedKind<typeof catalogueFieldsSchema> = {
  prefix: CATALOGUE_PREFIX,
  schema: catalogueFieldsSchema,
  signerField: 'publisher',
  noun: 'catalogue entry',
}

/**
 * Verify a catalogue entry (schema, hub, clock, signature).
 * @throws BitcdnError BITCDN_ERR_HUB_MESSAGE_INVALID, BITCDN_ERR_HUB_WRONG_NETWORK, BITCDN_ERR_HUB_REPLAYED, BITCDN_ERR_HUB_SIGNATURE_MISMATCH
 * @example await verifyCatalogueEntry(body, { hub: 'devnet', now: Date.now() })
 */
export function verifyCatalogueEntry(body: unknown, expect: { hub: string; now: number }): Promise<SignedCatalogueEntry> {
  return verifySigned(catalogueKind, body, expect)
}

/**
 * Sign a catalogue entry with the publisher's account.
 * @example await signCatalogueEntry(account, { publisher: account.address, infoHash, name, length: '1024', magnet, hub, timestamp: Date.now() })
 */
export function signCatalogueEntry(account: { signMessage(args: { message: string }): Promise<Hex> }, input: CatalogueInput): Promise<SignedCatalogueEntry> {
  return signMessageOf(catalogueKind, account, input)
}
