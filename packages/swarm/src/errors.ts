/**
 * The error codes of the swarm (peers, picker, torrent sessions). Each is documented under
 * `## swarm` in docs/errors.md. Recoverable peer misbehaviour surfaces as a `'warning'` carrying
 * one of these codes; only session-fatal failures (storage, listen) go to `'error'`.
 */
import { errorFactory } from '@bitcdn/core'

/** Stable codes this package throws or emits. */
export const SwarmErrorCode = {
  /** A peer broke the wire protocol (bad length, out-of-range index, unrequested block). */
  peerProtocol: 'BITCDN_ERR_PEER_PROTOCOL',
  /** A piece failed its SHA-1 check; it is fetched again. */
  pieceHashFailed: 'BITCDN_ERR_PIECE_HASH_FAILED',
  /** A peer was banned for sending corrupt data. */
  peerBanned: 'BITCDN_ERR_PEER_BANNED',
  /** A peer delivered nothing for the snub timeout; requests moved elsewhere. */
  peerSnubbed: 'BITCDN_ERR_PEER_SNUBBED',
  /** A peer left uploaded blocks unread for a minute; it is closed and its read-ahead freed. */
  peerStalled: 'BITCDN_ERR_PEER_STALLED',
  /** A peer was closed for idling: evicted for a newcomer while the torrent was full, or silent too long. */
  peerIdle: 'BITCDN_ERR_PEER_IDLE',
  /** An outgoing connection could not be made or the handshake failed. */
  peerConnect: 'BITCDN_ERR_PEER_CONNECT',
  /** Reading or writing pieces in the store failed; the session stops. */
  storage: 'BITCDN_ERR_SWARM_STORAGE',
  /** The listener could not bind its port. */
  listen: 'BITCDN_ERR_SWARM_LISTEN',
  /** The torrent is already in this client, or unknown to it. */
  torrentExists: 'BITCDN_ERR_TORRENT_EXISTS',
  torrentUnknown: 'BITCDN_ERR_TORRENT_UNKNOWN',
  /** A stream or call named a file the torrent does not have, or a byte range outside it. */
  fileRange: 'BITCDN_ERR_FILE_RANGE',
  /** The session or client was stopped while the call waited. */
  stopped: 'BITCDN_ERR_SWARM_STOPPED',
} as const

export type SwarmErrorCode = (typeof SwarmErrorCode)[keyof typeof SwarmErrorCode]

/**
 * Build a swarm error.
 * @example
 * emit('warning', swarmError('peerProtocol', 'piece index 9000 out of range', { peer }))
 */
export const swarmError = errorFactory(SwarmErrorCode)
