/**
 * The whole publisher flow in one call: create the torrent with the origin as web seed, announce
 * it to the hub's catalogue (signed), ask nodes to pin it.
 */
import type { CreateInput, Metainfo } from '@bitcdn/content'
import type { CatalogueEntry, HubClient } from '../clients/hub-client.js'
import type { NodeAdminClient, PinOptions } from '../clients/node-admin-client.js'
import { announceToCatalogue, pinOnNodes, type PinOutcome, type PublisherAccount } from '../publish/announce.js'
import { createPublication, type PublicationOptions } from './create-publication.js'

export interface PublishContentOptions extends PublicationOptions {
  hub: HubClient
  account: PublisherAccount
  description?: string
  /** Nodes asked to pin (their admin APIs). @default none */
  nodes?: readonly NodeAdminClient[]
  pin?: PinOptions
}

export interface Publication {
  metainfo: Metainfo
  entry: CatalogueEntry
  pins: PinOutcome[]
}

/**
 * @example
 * const { metainfo, pins } = await publishContent('./video.mp4', { origin: 'https://media.example.com/', hub, account, nodes: [node] })
 */
export async function publishContent(input: CreateInput, opts: PublishContentOptions): Promise<Publication> {
  const trackers = opts.trackers ?? (await opts.hub.info()).trackers ?? []
  const metainfo = await createPublication(input, { ...opts, trackers })
  const entry = await announceToCatalogue(opts.hub, opts.account, {
    infoHash: metainfo.infoHash,
    name: metainfo.name,
    description: opts.description ?? '',
    length: metainfo.length,
    magnet: metainfo.magnetURI,
  })
  const pins = await pinOnNodes(opts.nodes ?? [], { torrent: metainfo.torrentFile }, opts.pin)
  return { metainfo, entry, pins }
}
