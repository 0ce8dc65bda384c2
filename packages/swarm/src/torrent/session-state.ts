/**
 * What the parts of a torrent session share: the torrent's identity, its metadata-dependent
 * state (store, picker) once known, the live connections, and where trouble is reported. Each
 * part (peer set, downloads, piece completion, uploads) reads this instead of reaching into the
 * session, so the session itself stays orchestration.
 */
import type { BitcdnError, Logger } from '@bitcdn/core'
import type { Metainfo, PieceStore } from '@bitcdn/content'
import type { PeerConnection } from '../peer-connection.js'
import type { PiecePicker } from '../picker/piece-picker.js'

export interface SessionState {
  readonly infoHash: string
  readonly log: Logger
  /** Known once the metadata is (at once for a .torrent, after ut_metadata for a magnet). */
  metainfo: Metainfo | undefined
  /** Set together with `picker` when storage is open. */
  store: PieceStore | undefined
  picker: PiecePicker | undefined
  /** True once storage and resume state are open (the picker may be used). */
  ready: boolean
  stopped: boolean
  /** Every connection by id: BitTorrent peers (`host:port`) and web seeds (their URL). */
  readonly conns: Map<string, PeerConnection>
  /** Something recoverable happened (emitted as the torrent's `'warning'`). */
  warn(err: BitcdnError): void
  /** The session cannot go on (storage failed): report and stop. */
  fatal(err: unknown): void
}
