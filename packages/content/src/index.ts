/**
 * @bitcdn/content — torrent metainfo (create, parse, magnet links) and piece storage (files on
 * disk or memory, verification, resume journal). The leftmost package after core: it knows
 * nothing of peers or payments.
 */
export type { Metainfo, TorrentFile, TorrentRef } from './metainfo/types.js'
export { createTorrent, type CreateTorrentOptions } from './metainfo/create.js'
export type { CreateInput } from './metainfo/create-input.js'
export { pieceLengthFor } from './metainfo/piece-length.js'
export { parseTorrentFile, metainfoFromInfo } from './metainfo/parse.js'
export { parseTorrentId, readTorrentId } from './metainfo/torrent-id.js'
export { parseMagnet, toMagnetURI, normalizeInfoHash } from './metainfo/magnet.js'
export { encodeTorrent, type TorrentFileFields } from './metainfo/encode.js'
export { bdecode, isDict, BencodeSyntaxError, type BValue, type BDict } from './metainfo/bdecode.js'
export { bencodeEncode, type BencodeEncodable } from './metainfo/bencode-encode.js'

export type { PieceStore, FlushOptions } from './storage/types.js'
export { createFileStore, type FileStoreOptions } from './storage/file-store.js'
export { createMemoryStore } from './storage/memory-store.js'
export { verifyPiece, checkPieces, type CheckPiecesOptions } from './storage/verify.js'
export { openResumeJournal, type ResumeJournal } from './storage/resume-journal.js'
export { commitPieces } from './storage/commit-pieces.js'
export { pieceSize } from './storage/piece-geometry.js'
export { eachLimited } from './storage/each-limited.js'

export { ContentErrorCode } from './errors.js'
