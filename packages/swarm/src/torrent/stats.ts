/**
 * A torrent's transfer counters and recent rates, and the `TorrentStats` snapshot built from them.
 * Rates are the shared `RateMeter` fed on the session's 1 s ticks.
 */
import type { BitTorrentConnection } from '../wire/bittorrent-connection.js'
import { RateMeter } from '../choker/rate-meter.js'
import type { SessionState } from './session-state.js'
import type { TorrentStats } from './types.js'

/**
 * @example
 * const stats = new TransferStats()
 * stats.downloadedWeb += block.length
 * setInterval(() => stats.sample(Date.now()), 1000)
 */
export class TransferStats {
  /** Payload bytes from BitTorrent peers. */
  downloadedPeers = 0
  /** Payload bytes from web seeds. */
  downloadedWeb = 0
  uploaded = 0
  hashFailures = 0
  bannedPeers = 0
  #sample = { down: 0, up: 0 }
  // fed once a second by the session's tick: no idle decay between ticks
  readonly #down = new RateMeter({ windowMs: 1, idleDecay: false })
  readonly #up = new RateMeter({ windowMs: 1, idleDecay: false })

  get downloaded(): number {
    return this.downloadedPeers + this.downloadedWeb
  }

  /** Fold the bytes since the last sample into the rates (call about once a second). */
  sample(now: number): void {
    const total = this.downloaded
    this.#down.add(total - this.#sample.down, now)
    this.#up.add(this.uploaded - this.#sample.up, now)
    this.#sample = { down: total, up: this.uploaded }
  }

  /** The public snapshot of the torrent. */
  snapshot(state: SessionState, done: boolean): TorrentStats {
    const pieceCount = state.metainfo?.pieceCount ?? 0
    const verified = state.picker?.haveCount ?? 0
    let peers = 0
    let webSeeds = 0
    for (const c of state.conns.values()) {
      if (c.kind === 'webseed') webSeeds++
      else if ((c as BitTorrentConnection).ready) peers++
    }
    return {
      infoHash: state.infoHash,
      downloaded: this.downloaded,
      downloadedFromPeers: this.downloadedPeers,
      downloadedFromWebSeeds: this.downloadedWeb,
      uploaded: this.uploaded,
      downloadRate: this.#down.rate(),
      uploadRate: this.#up.rate(),
      peers,
      webSeeds,
      progress: pieceCount === 0 ? 0 : verified / pieceCount,
      verifiedPieces: verified,
      pieceCount,
      hashFailures: this.hashFailures,
      bannedPeers: this.bannedPeers,
      done,
    }
  }
}
