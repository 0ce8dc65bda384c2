/**
 * What BitCDN knows about a torrent (BEP 3 metainfo, v1). Produced by create/parse, consumed by
 * storage and the swarm. Hashes are raw bytes; `infoHash` is lowercase hex.
 */

/** One file of a torrent, laid end to end with the others in piece space. */
export interface TorrentFile {
  /** Relative path, '/'-separated; for multi-file torrents it starts with the torrent name. */
  path: string
  /** Byte length of the file. */
  length: number
  /** Offset of the file's first byte in the torrent's concatenated byte space. */
  offset: number
  /**
   * A BEP 47 padding file (attr "p", made by hybrid v1/v2 creators such as libtorrent 2): its
   * bytes are zeros by definition and storage never creates it on disk.
   */
  padding?: boolean
}

/** A fully known torrent: the info dictionary and what surrounds it. */
export interface Metainfo {
  /** SHA-1 of the bencoded info dictionary, lowercase hex (40 chars). */
  infoHash: string
  name: string
  /** Total bytes of all files. */
  length: number
  pieceLength: number
  pieceCount: number
  lastPieceLength: number
  /** One 20-byte SHA-1 per piece. */
  pieceHashes: Buffer[]
  files: TorrentFile[]
  /** Tracker URLs, flattened from `announce` and `announce-list` (BEP 12), deduplicated. */
  announce: string[]
  /** Web seeds (BEP 19 `url-list`). */
  urlList: string[]
  private: boolean
  /** The bencoded info dictionary, exactly as hashed (served to peers over ut_metadata). */
  infoBuffer: Buffer
  /** The whole .torrent file. */
  torrentFile: Buffer
  magnetURI: string
  /** Free text from the creator (`comment`), if any. */
  comment?: string
  /** The creating program (`created by`), if any. */
  createdBy?: string
  /** `creation date`, Unix seconds, if the creator recorded one. */
  creationDate?: number
}

/** A torrent known only by reference (magnet link or bare info-hash): metadata still to fetch. */
export interface TorrentRef {
  infoHash: string
  name?: string
  announce: string[]
  urlList: string[]
  /** Peers given in the link (`x.pe`), as host:port. */
  peers: string[]
}
