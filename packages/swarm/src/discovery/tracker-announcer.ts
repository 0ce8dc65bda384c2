/**
 * Announces one torrent to one tracker (HTTP/HTTPS per BEP 3 with BEP 23 compact peers, or UDP
 * per BEP 15) through `bittorrent-tracker`'s client: `started`, periodic re-announce at the
 * interval the tracker asks for, `completed`, `stopped`. One client per tracker URL, so each
 * warning names the tracker it came from.
 *
 * A tracker that cannot be reached is asked again with backoff (5 s doubling to 5 min) until it
 * answers: the library itself would wait a whole default interval (30 min), so a seeder started
 * before its tracker would stay unfound that long.
 */
import { EventEmitter } from 'node:events'
import Client from 'bittorrent-tracker/client'
import type { BitcdnError } from '@bitcdn/core'
import { trackerError } from '../tracker/errors.js'

/** Transfer totals reported in announces, in bytes. */
export interface AnnounceStats {
  uploaded: number
  downloaded: number
  /** Omitted while unknown (a magnet without metadata): trackers then count us as a leecher. */
  left?: number
}

export interface TrackerAnnouncerInit {
  announceUrl: string
  infoHash: string
  /** 40 hex characters. */
  peerId: string
  port: number
  /** Peers asked for per announce. @default 50 */
  numwant?: number
  stats: () => AnnounceStats
  /** First retry after an unreachable tracker, ms; doubles per failure. @default 5000 */
  retryBaseMs?: number
  /** Longest wait between retries, ms. @default 300000 */
  retryMaxMs?: number
}

/** A tracker's view of the swarm, from its last announce answer. */
export interface TrackerAnnounceResult {
  tracker: string
  seeders: number
  leechers: number
}

export interface TrackerAnnouncerEvents {
  peer: [addr: string]
  warning: [err: BitcdnError]
  announced: [result: TrackerAnnounceResult]
}

// Messages of bittorrent-tracker's client that mean "could not talk to the tracker", as opposed
// to a tracker that answered with a failure reason.
const UNREACHABLE = /fetch failed|timed out|ECONN|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE|socket hang up|Non-200|Invalid tracker response|decoding tracker response|invalid transaction id|invalid udp handshake|abort/i

/**
 * Turn a raw client warning into a BitCDN warning naming the tracker.
 * @example
 * classifyTrackerWarning('udp://t:1', new Error('tracker request timed out (started)')).code
 * // 'BITCDN_ERR_TRACKER_UNREACHABLE'
 */
export function classifyTrackerWarning(tracker: string, err: unknown): BitcdnError {
  const e = err instanceof Error ? err : new Error(String(err))
  const cause = (e as { cause?: { code?: string; message?: string } }).cause
  const text = `${e.name} ${e.message} ${cause?.code ?? ''} ${cause?.message ?? ''}`
  if (UNREACHABLE.test(text) || (e as { code?: string }).code !== undefined) {
    const why = cause?.code ?? cause?.message ?? e.message
    return trackerError('unreachable', `tracker ${tracker} unreachable: ${why}`, { tracker }, e)
  }
  return trackerError('failure', `tracker ${tracker} refused the announce: ${e.message}`, { tracker, reason: e.message }, e)
}

export class TrackerAnnouncer extends EventEmitter<TrackerAnnouncerEvents> {
  readonly url: string
  readonly #client: Client
  readonly #retryBaseMs: number
  readonly #retryMaxMs: number
  #retryMs = 0
  #retry: NodeJS.Timeout | undefined

  constructor(init: TrackerAnnouncerInit) {
    super()
    this.url = init.announceUrl
    this.#retryBaseMs = init.retryBaseMs ?? 5_000
    this.#retryMaxMs = init.retryMaxMs ?? 300_000
    const numwant = init.numwant ?? 50
    this.#client = new Client({
      infoHash: init.infoHash,
      peerId: init.peerId,
      announce: [init.announceUrl],
      port: init.port,
      userAgent: 'BitCDN/0.1',
      // read at every announce, periodic ones included, so totals are always current
      getAnnounceOpts: () => ({ ...init.stats(), numwant }),
    })
    this.#client.on('peer', (addr: string) => this.emit('peer', addr))
    this.#client.on('update', (data: { complete?: number; incomplete?: number }) => {
      this.#retryMs = 0
      this.emit('announced', { tracker: this.url, seeders: data.complete ?? 0, leechers: data.incomplete ?? 0 })
    })
    this.#client.on('warning', (err: unknown) => this.#warn(err))
    // the client calls some tracker failures errors; none is fatal to a torrent
    this.#client.on('error', (err: unknown) => this.#warn(err))
  }

  #warn(err: unknown): void {
    const w = classifyTrackerWarning(this.url, err)
    if (w.code === 'BITCDN_ERR_TRACKER_UNREACHABLE') this.#scheduleRetry()
    this.emit('warning', w)
  }

  /** One pending retry at a time; an answer resets the backoff. */
  #scheduleRetry(): void {
    if (this.#retry !== undefined || this.#client.destroyed) return
    this.#retryMs = Math.min(this.#retryMs === 0 ? this.#retryBaseMs : this.#retryMs * 2, this.#retryMaxMs)
    this.#retry = setTimeout(() => {
      this.#retry = undefined
      if (!this.#client.destroyed) this.#client.update()
    }, this.#retryMs)
    this.#retry.unref()
  }

  start(): void {
    this.#client.start()
  }

  completed(): void {
    this.#client.complete()
  }

  /** Announce now (no event), outside the periodic schedule. */
  update(): void {
    this.#client.update()
  }

  /** Send `stopped` and release sockets; resolves once done (the library caps this at ~1 s). */
  stop(): Promise<void> {
    clearTimeout(this.#retry)
    this.#retry = undefined
    return new Promise((resolve) => {
      if (this.#client.destroyed) return resolve()
      this.#client.stop()
      this.#client.destroy(() => resolve())
    })
  }
}
