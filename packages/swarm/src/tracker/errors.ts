/**
 * Error codes of trackers: the built-in tracker server and the tracker clients of discovery.
 * Documented under `## swarm` in docs/errors.md.
 */
import { errorFactory } from '@bitcdn/core'

/** Stable codes trackers throw or emit. */
export const TrackerErrorCode = {
  /** The tracker's TCP or UDP port is taken by another process. */
  portInUse: 'BITCDN_ERR_PORT_IN_USE',
  /** The tracker server could not start for another reason (address not available, permission). */
  listen: 'BITCDN_ERR_TRACKER_LISTEN',
  /** A tracker could not be reached or answered garbage (refused, timeout, non-200, bad bencode). */
  unreachable: 'BITCDN_ERR_TRACKER_UNREACHABLE',
  /** A tracker answered with a failure reason (e.g. the torrent is not allowed there). */
  failure: 'BITCDN_ERR_TRACKER_FAILURE',
  /** A tracker URL is malformed or of a protocol BitCDN does not speak (only http, https, udp). */
  urlInvalid: 'BITCDN_ERR_TRACKER_URL_INVALID',
} as const

export type TrackerErrorCode = (typeof TrackerErrorCode)[keyof typeof TrackerErrorCode]

/**
 * Build a tracker error.
 * @example
 * emit('warning', trackerError('unreachable', `tracker ${url} unreachable`, { tracker: url }, err))
 */
export const trackerError = errorFactory(TrackerErrorCode)
