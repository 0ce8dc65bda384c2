/**
 * What a torrent session is given: its own options (`init`) and the collaborators a client shares
 * across its torrents (`components`: budgets, limiters, bans, factories, plugin hooks).
 */
import type { EventEmitter } from 'node:events'
import type { BitcdnError, Logger } from '@bitcdn/core'
import type { Metainfo, PieceStore, TorrentRef } from '@bitcdn/content'
import type { BlockRef, PeerConnection } from '../peer-connection.js'
import type { ChokePolicy } from '../choker/choker.js'
import type { RateLimiter } from '../choker/rate-limit.js'
import type { UploadBudget } from '../choker/upload-budget.js'
import type { BitTorrentConnection } from '../wire/bittorrent-connection.js'
import type { HardenedWire } from '../wire/hardened-wire.js'
import type { BanList } from './ban-list.js'

/** What a caller says about one torrent when adding it to a client. */
export interface AddTorrentOptions {
  /** Directory for the torrent's files (its resume journal lives in the client's `stateDir`). */
  dir?: string
  /** A piece store to use instead of files in `dir` (or a factory called with the metainfo). */
  store?: PieceStore | ((metainfo: Metainfo) => PieceStore)
  /** Peers to connect to, `host:port`. */
  peers?: string[]
  /** Web seed URLs on top of the torrent's `url-list`. */
  webSeeds?: string[]
  /** Trackers on top of the torrent's. */
  announce?: string[]
  /** Trust and keep a resume journal for `dir`. @default true */
  resume?: boolean
  /**
   * Distrust the resume journal: check every piece in `dir` again, journal the good ones and
   * fetch the rest (repairs data damaged on disk after it was journalled). @default false
   */
  recheck?: boolean
  /**
   * Fetch only what readers ask for (the HTTP gateway): every piece starts at priority skip, read
   * streams and `prioritize` raise the ones they need, and the torrent is done only once it holds
   * every piece. We stay interested in any peer with a piece we lack, so asking never waits for
   * an unchoke round. @default false
   */
  onDemand?: boolean
  /** Pieces the caller's `store` already holds, verified by the caller (skips the recheck). */
  have?: number[]
}

/** A session's init: the caller's options plus what the client decides for every torrent. */
export interface TorrentSessionInit extends AddTorrentOptions {
  /** The torrent (a magnet/ref starts without metadata). */
  torrent: Metainfo | TorrentRef
  /** Directory for resume journals. @default `$BITCDN_HOME/resume` */
  stateDir?: string
  /** Connections for this torrent. @default 50 */
  maxConnections?: number
  /** Regular upload slots. @default 8 */
  uploadSlots?: number
  /** Requests held this long without a block snub the peer, in ms. @default 15000 */
  snubTimeoutMs?: number
  /** A single request held this long (or 4× the peer's mean block latency) moves elsewhere, ms. @default 10000 */
  requestTimeoutMs?: number
  /** Use the DHT for discovery. @default false */
  dht?: boolean
}

/** Collaborators shared across a client's torrents. */
export interface TorrentSessionComponents {
  peerId: Buffer
  /** Our listening port (0 before the client listens). */
  listenPort: () => number
  uploadLimiter: RateLimiter
  downloadLimiter: RateLimiter
  /** Client-wide bound on bytes read ahead for uploads. */
  uploadBudget: UploadBudget
  bans: BanList
  /** Client-wide connection budget. */
  acquireConnection: () => boolean
  releaseConnection: () => void
  logger?: Logger
  chokePolicy?: ChokePolicy
  /** Web seed factory (`createWebSeedConnection`). */
  createWebSeed?: (url: string, metainfo: Metainfo, onWarning: (err: BitcdnError) => void) => PeerConnection
  /** Add wire extensions to each new BitTorrent connection (paid delivery). */
  extendWire?: (wire: HardenedWire, conn: BitTorrentConnection, infoHash: string) => void
  /** Veto upload requests (paid delivery); false rejects. */
  uploadGate?: (conn: BitTorrentConnection, ref: BlockRef, infoHash: string) => boolean
  /** Told once per request the gate let through: sent to the socket, or dropped. */
  uploadSettled?: (conn: BitTorrentConnection, ref: BlockRef, infoHash: string, sent: boolean) => void
  /** Keep a connection two seeds would close (a buyer settling its last cheque). */
  keepSeedConnection?: (conn: PeerConnection, infoHash: string) => boolean
  /** Cap the requests in flight to a connection (a paying buyer's seller choice). */
  requestLimit?: (conn: PeerConnection, infoHash: string) => number | undefined
  /** Discovery factory (`createDiscovery` over the client's shared DHT node). */
  createDiscovery?: (init: { infoHash: string; announce: string[]; port: number; dht: boolean; peers: string[]; peerId: string }) => DiscoveryLike
}

/** The part of discovery the session uses. */
export interface DiscoveryLike extends EventEmitter {
  start(): Promise<void>
  stop(): Promise<void>
  update(stats: { uploaded: number; downloaded: number; left: number }): void
  complete?(): void
  addPeers?(addrs: Iterable<string>): void
  refresh?(): void
}
