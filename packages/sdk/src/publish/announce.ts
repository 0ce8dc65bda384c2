/**
 * Publisher helpers that need no Node: announce a torrent to a hub's catalogue (an EIP-191
 * message signed by the publisher, in exactly the format the hub verifies — `@bitcdn/hub/messages`)
 * and ask nodes to pin it through their admin APIs.
 */
import { signCatalogueEntry } from '@bitcdn/hub/messages'
import type { Hex } from 'viem'
import type { CatalogueEntry, HubClient } from '../clients/hub-client.js'
import type { NodeAdminClient, PinnedContent, PinOptions, PinTarget } from '../clients/node-admin-client.js'

/** Any viem account (local key, JSON-RPC wallet such as a browser extension). */
export interface PublisherAccount {
  address: `0x${string}`
  signMessage(args: { message: string }): Promise<Hex>
}

export interface Announcement {
  infoHash: string
  name: string
  description?: string
  /** Total bytes of the content. */
  length: number | bigint
  /** Where its metadata can be had: a magnet link. */
  magnet: string
}

/**
 * Signs and posts a catalogue entry; the hub's id comes from its `/api/v1/info`.
 * @throws BitcdnApiError BITCDN_ERR_HUB_MESSAGE_INVALID, BITCDN_ERR_HUB_SIGNATURE_MISMATCH, BITCDN_ERR_HUB_REPLAYED, BITCDN_ERR_HUB_WRONG_NETWORK
 * @example
 * await announceToCatalogue(hub, privateKeyToAccount(key), { infoHash, name: 'Big Buck Bunny', length: 1_000_000, magnet })
 */
export async function announceToCatalogue(hub: HubClient, account: PublisherAccount, a: Announcement, now: () => number = Date.now): Promise<CatalogueEntry> {
  const { hub: hubId } = await hub.info()
  const signed = await signCatalogueEntry(account, {
    publisher: account.address,
    infoHash: a.infoHash.toLowerCase(),
    name: a.name,
    description: a.description ?? '',
    length: a.length.toString(),
    magnet: a.magnet,
    hub: hubId ?? '',
    timestamp: now(),
  })
  return hub.announce(signed)
}

/** One node's answer to a pin request. */
export type PinOutcome = { url: string; ok: true; content: PinnedContent } | { url: string; ok: false; error: Error & { code?: string } }

/**
 * Asks each node to pin the same content, all at once; one node's refusal does not stop the others.
 * @example
 * const results = await pinOnNodes([nodeA, nodeB], { torrent: metainfo.torrentFile })
 * for (const r of results) if (!r.ok) console.warn(r.url, r.error.code)
 */
export async function pinOnNodes(nodes: readonly NodeAdminClient[], target: PinTarget, opts: PinOptions = {}): Promise<PinOutcome[]> {
  const settled = await Promise.allSettled(nodes.map((n) => n.pin(target, opts)))
  return settled.map((s, i) => (s.status === 'fulfilled' ? { url: nodes[i]!.url, ok: true, content: s.value } : { url: nodes[i]!.url, ok: false, error: s.reason as Error }))
}
