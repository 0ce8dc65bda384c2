/**
 * Catalogue entries: a publisher announces a torrent with a name and description, signed by its
 * key. One entry per (publisher, info-hash); a newer signed entry replaces the older.
 */
import type { Hex } from 'viem'
import { z } from 'zod'
import { addressField, infoHashField, uintString } from './registration.js'
import { signMessageOf, verifySigned, type Signed, type SignedKind } from './signed-message.js'

export const catalogueFieldsSchema = z.strictObject({
  publisher: addressField,
  infoHash: infoHashField,
  name: z.string().min(1).max(200),
  description: z.string().max(2000).default(''),
  /** Total bytes of the content. */
  length: uintString,
  /** A magnet link or .torrent URL where the metadata can be had. */
  magnet: z.string().max(2000).regex(/^magnet:\?/, 'a magnet link'),
  hub: z.string().min(1).max(64),
  timestamp: z.number().int().positive().max(2 ** 53 - 1),
})

export type CatalogueFields = z.output<typeof catalogueFieldsSchema>
export type CatalogueInput = z.input<typeof catalogueFieldsSchema>
export type SignedCatalogueEntry = Signed<CatalogueFields>

export const catalogueKind: SignedKind<typeof catalogueFieldsSchema> = {
  prefix: 'BitCDN catalogue entry v1',
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
