/**
 * The content this gateway serves: torrents added to its swarm client on demand (nothing is
 * fetched until a request needs it), stored in the piece cache, remembered in the cache's
 * database so they stay addressable after a restart.
 */
import { parseTorrentFile, type Metainfo } from '@bitcdn/content'
import type { SwarmClient, Torrent } from '@bitcdn/swarm'
import { cacheStore } from './cache/cache-store.js'
import type { PieceCache } from './cache/piece-cache.js'
import type { ContentEntry } from './content-entry.js'

export interface AddContentOptions {
  /** Origins to hedge to, besides the torrent's own web seeds. */
  origins?: string[]
  /** Peers to connect to, `host:port`. */
  peers?: string[]
  /** Trackers besides the torrent's. */
  announce?: string[]
}

export interface ContentRegistry {
  /** Serve a torrent (a .torrent file or its parsed metainfo); returns the existing entry if known. */
  add(torrent: Buffer | Metainfo, opts?: AddContentOptions): Promise<ContentEntry>
  get(infoHash: string): ContentEntry | undefined
  /** Add every torrent the cache remembers. */
  restore(opts?: AddContentOptions): Promise<number>
  readonly entries: ContentEntry[]
}

/**
 * @example
 * const content = createContentRegistry(client, cache, { peers: ['127.0.0.1:6881'] })
 * const entry = await content.add(await readFile('site.torrent'))
 */
export function createContentRegistry(client: SwarmClient, cache: PieceCache, defaults: AddContentOptions = {}, hooks: { onAdded?: (torrent: Torrent) => void } = {}): ContentRegistry {
  const entries = new Map<string, ContentEntry>()
  const adding = new Map<string, Promise<ContentEntry>>()

  async function addNew(m: Metainfo, opts: AddContentOptions): Promise<ContentEntry> {
    cache.saveTorrent(m.infoHash, m.torrentFile)
    // the gateway hedges to web seeds itself, per piece and on a deadline, so the session gets none
    const torrent = await client.add(
      { ...m, urlList: [] },
      {
        store: (meta) => cacheStore(cache, meta),
        have: cache.pieces(m.infoHash).filter((i) => i >= 0 && i < m.pieceCount),
        onDemand: true,
        resume: false,
        peers: [...(defaults.peers ?? []), ...(opts.peers ?? [])],
        announce: [...(defaults.announce ?? []), ...(opts.announce ?? [])],
      },
    )
    torrent.on('warning', () => {})
    hooks.onAdded?.(torrent)
    const entry: ContentEntry = { infoHash: m.infoHash, metainfo: m, torrent, origins: [...new Set([...m.urlList, ...(defaults.origins ?? []), ...(opts.origins ?? [])])] }
    entries.set(m.infoHash, entry)
    return entry
  }

  const registry: ContentRegistry = {
    get entries() {
      return [...entries.values()]
    },
    add(torrent, opts = {}) {
      const m = Buffer.isBuffer(torrent) ? parseTorrentFile(torrent) : torrent
      const known = entries.get(m.infoHash)
      if (known !== undefined) {
        for (const o of opts.origins ?? []) if (!known.origins.includes(o)) known.origins.push(o)
        for (const p of opts.peers ?? []) known.torrent.addPeer(p)
        return Promise.resolve(known)
      }
      let p = adding.get(m.infoHash)
      if (p === undefined) {
        p = addNew(m, opts).finally(() => adding.delete(m.infoHash))
        adding.set(m.infoHash, p)
      }
      return p
    },
    get(infoHash) {
      return entries.get(infoHash.toLowerCase())
    },
    async restore(opts = {}) {
      let n = 0
      for (const { torrent } of cache.torrents()) {
        await registry.add(torrent, opts)
        n++
      }
      return n
    },
  }
  return registry
}
