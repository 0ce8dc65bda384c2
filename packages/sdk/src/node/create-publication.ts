/**
 * A torrent whose web seed is the publisher's origin (BEP 19): whoever has the torrent can always
 * fetch from the origin, and nodes and gateways take over as they cache it. Node only (it reads
 * files).
 */
import { createTorrent, type CreateInput, type Metainfo } from '@bitcdn/content'
import { sdkError } from '../errors.js'

export interface PublicationOptions {
  /**
   * The origin folder's URL, ending in `/`: `<origin><name>` serves the file (single-file) or
   * `<origin><name>/<path>` each file (multi-file), as BEP 19 appends the torrent's name.
   */
  origin: string
  /** Torrent name. @default the file or folder name */
  name?: string
  /** Tracker announce URLs (a hub's tracker: its `/api/v1/info` lists them). */
  trackers?: string[]
  pieceLength?: number
  signal?: AbortSignal
}

/**
 * @throws BitcdnError BITCDN_ERR_SDK_INVALID_ARGUMENT (origin not http(s) or not ending in `/`), createTorrent's errors
 * @example
 * const m = await createPublication('./site', { origin: 'https://www.example.com/' })
 */
export async function createPublication(input: CreateInput, opts: PublicationOptions): Promise<Metainfo> {
  let url: URL
  try {
    url = new URL(opts.origin)
  } catch {
    throw sdkError('invalidArgument', `origin is not a URL: ${JSON.stringify(opts.origin.slice(0, 200))}`)
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !opts.origin.endsWith('/')) {
    throw sdkError('invalidArgument', `origin must be an http(s) folder URL ending in "/" (got ${opts.origin.slice(0, 200)})`)
  }
  return createTorrent(input, {
    urlList: [opts.origin],
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(opts.trackers ? { announce: opts.trackers } : {}),
    ...(opts.pieceLength !== undefined ? { pieceLength: opts.pieceLength } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  })
}
