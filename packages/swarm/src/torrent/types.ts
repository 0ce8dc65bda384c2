/**
 * The public shape of a torrent session: what `client.add` returns, its stats and its events.
 */
import type { EventEmitter } from 'node:events'
import type { Readable } from 'node:stream'
import type { BitcdnError } from '@bitcdn/core'
import type { Metainfo, PieceStore } from '@bitcdn/content'

/** A snapshot of one torrent's transfer. Bytes are payload bytes (no protocol overhead). */
export interface TorrentStats {
  infoHash: string
  /** Payload bytes received from every source (duplicates in endgame included). */
  downloaded: number
  /** Of `downloaded`, from BitTorrent peers. */
  downloadedFromPeers: number
  /** Of `downloaded`, from web seeds (BEP 19). */
  downloadedFromWebSeeds: number
  /** Payload bytes sent to peers. */
  uploaded: number
  /** Bytes/s received, recent (about the last 2 s). */
  downloadRate: number
  /** Bytes/s sent, recent. */
  uploadRate: number
  /** Connected BitTorrent peers (handshake done). */
  peers: number
  /** Web seeds in use. */
  webSeeds: number
  /** Verified pieces / all pieces (0 before metadata). */
  progress: number
  verifiedPieces: number
  pieceCount: number
  /** Pieces that failed their SHA-1 check. */
  hashFailures: number
  /** Peers banned for corrupt data (by this torrent). */
  bannedPeers: number
  /** True once every wanted piece is verified and stored. */
  done: boolean
}

/** Who delivered how many bytes of a verified piece (a connection id: `host:port` or a web seed URL). */
export interface PieceSource {
  id: string
  bytes: number
}

/** Events of a torrent session (webtorrent's one good habit: fatal → error, else warning). */
export interface TorrentEvents {
  /** The info dictionary is known (at once for a .torrent, after ut_metadata for a magnet). */
  metadata: [metainfo: Metainfo]
  /**
   * A piece was verified and stored; `sources` lists each connection that delivered its bytes
   * and how many (they sum to the piece's size). A piece that failed its hash never appears.
   */
  piece: [index: number, sources: PieceSource[]]
  /**
   * A piece from peers or web seeds passed its hash check; its store has not begun (a store may
   * hand the piece to a reader before it ends, so whoever pays for bytes counts them here).
   * Precedes its `piece` event; a piece stored from outside the swarm (`putPiece`) has none.
   */
  verified: [index: number, sources: PieceSource[]]
  /** Every wanted piece is verified and stored (and flushed). */
  done: []
  /** Something recoverable: a peer misbehaved, a piece failed, a source failed. */
  warning: [err: BitcdnError]
  /** The session cannot go on (storage failed); it has stopped itself. */
  error: [err: BitcdnError]
  /** A peer connection finished its handshake (`host:port`). */
  wire: [id: string]
}

export interface ReadStreamOptions {
  /** First byte, within the file. @default 0 */
  start?: number
  /** Last byte, inclusive, within the file. @default the file's last byte */
  end?: number
}

/** One torrent in a swarm client. */
export interface Torrent extends EventEmitter<TorrentEvents> {
  readonly infoHash: string
  /** Undefined until the metadata is known (magnet). */
  readonly metainfo: Metainfo | undefined
  /** Undefined until the metadata is known. */
  readonly store: PieceStore | undefined
  /** True when every wanted piece is verified and stored. */
  readonly done: boolean
  stats(): TorrentStats
  /**
   * A stream of verified bytes of one file (by index or path), from `start` to `end`
   * (inclusive). Raises the priority of exactly the pieces it needs, the next one highest, and
   * waits for pieces still downloading.
   * @throws BitcdnError `BITCDN_ERR_FILE_RANGE` (emitted on the stream) for an unknown file or a
   * range outside it.
   */
  createReadStream(file: number | string, opts?: ReadStreamOptions): Readable
  /**
   * Ask for pieces (index → priority 1..7, 7 first) until the returned release is called; on an
   * `onDemand` torrent nothing else is fetched. A piece's priority is the highest any holder gives.
   * @example
   * const release = torrent.prioritize(new Map([[12, 7], [13, 6]]))
   */
  prioritize(priorities: Map<number, number>): () => void
  /** True once piece `index` is verified and stored. */
  hasPiece(index: number): boolean
  /**
   * Store a whole piece fetched outside the swarm (an origin range): verified against its SHA-1
   * first, then announced. Resolves false (nothing stored) when the hash does not match.
   */
  putPiece(index: number, data: Buffer): Promise<boolean>
  /** Forget a piece the caller's store no longer holds (a bounded cache evicted it). */
  dropPiece(index: number): void
  /**
   * Top up every connection's request pipeline soon: a `requestLimit` rose outside the swarm's own
   * events (a paid seller's credit ack), and a connection with nothing in flight gets no block
   * event to refill it.
   */
  requestMore(): void
  /** Connect to a peer `host:port`. */
  addPeer(addr: string): void
  /**
   * Ask trackers and the DHT for peers now, instead of at the tracker's interval (a reader that
   * needs a piece no connected peer has: seeders may have joined since the last announce).
   */
  findPeers(): void
  /** Use a web seed (BEP 19 URL). */
  addWebSeed(url: string): void
  /** Resolves once the metadata is known. */
  ready(): Promise<Metainfo>
  /** Resolves once done; rejects if the torrent stops or fails first. */
  whenDone(): Promise<void>
  /**
   * Run a choking round now instead of at the next 10 s tick (a payment arrived, a buyer was
   * admitted or ran out of credit).
   */
  rechoke(): void
  /** Bytes of peers' addresses we are connected to (`host:port` listen addresses where known). */
  peerAddresses(): string[]
}
