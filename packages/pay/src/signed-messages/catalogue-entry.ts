/**
 * The hub catalogue entry message: a publisher (a gateway's key, a site's) announces a torrent,
 * signed with EIP-191 `personal_sign`. Defined here, like the node registration, because the hub
 * (which verifies an announcement) and the node (which verifies again before auto-pinning what a
 * hub lists: a hub is not trusted to have checked) both need the one definition, and the node may
 * not import the hub.
 */
import { recoverMessageAddress, type Hex } from 'viem'
import { z } from 'zod'
import { canonicalJson } from './canonical-json.js'
import { addressField, infoHashField, uintString } from './node-registration.js'

/** First line of the signed text. */
export const CATALOGUE_PREFIX = 'BitCDN catalogue entry v1'

/** The fields a publisher signs. Every size is bounded. */
export const catalogueFieldsSchema = z.strictObject({
  publisher: addressField,
  infoHash: infoHashField,
  name: z.string().min(1).max(200),
  description: z.string().max(2000).default(''),
  /** Total bytes of the content. */
  length: uintString,
  /** A magnet link (with `xs=` the .torrent URL) where the metadata can be had. */
  magnet: z.string().max(2000).regex(/^magnet:\?/, 'a magnet link'),
  hub: z.string().min(1).max(64),
  timestamp: z.number().int().positive().max(2 ** 53 - 1),
})

export type CatalogueFields = z.output<typeof catalogueFieldsSchema>
export type CatalogueInput = z.input<typeof catalogueFieldsSchema>

/** The exact text signed for `fields`. */
export function catalogueText(fields: CatalogueFields): string {
  return `${CATALOGUE_PREFIX}\n${canonicalJson(fields)}`
}

/**
 * The publisher a listed entry (its fields beside `signature`, as a hub's catalogue answers) was
 * really signed by, or undefined when the fields are malformed, the signature does not recover,
 * or it recovers to anyone but the entry's `publisher`. Extra members (`receivedAt`) are ignored.
 * @example
 * const publisher = await verifiedCataloguePublisher(entry) // '0x7099…' or undefined
 */
export async function verifiedCataloguePublisher(entry: Record<string, unknown>): Promise<string | undefined> {
  const { signature, receivedAt: _receivedAt, ...rest } = entry
  if (typeof signature !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(signature)) return undefined
  const parsed = catalogueFieldsSchema.safeParse(rest)
  if (!parsed.success) return undefined
  try {
    const signer = await recoverMessageAddress({ message: catalogueText(parsed.data), signature: signature as Hex })
    return signer === parsed.data.publisher ? signer : undefined
  } catch {
    return undefined
  }
}
