/**
 * A torrent's transfer counters and recent rates, and the `TorrentStats` snapshot built from them.
 * Rates are an exponential average over the session's 1 s ticks.
 */
import type { BitTorrentConnection } from '../wire/bittorrent-connection.js'
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
  #sample = { at: Date.now(), down: 0, up: 0 }
  #downloadRate = 0
  #uploadRate = 0

  get downloaded(): number {
    return this.downloadedPeers + this.downloadedWeb
  }

  /** Fold the bytes since the last sample into the rates (call about once a second). */
  sample(now: number): void {
    const total = this.downloaded
    const dt = (now - this.#sample.at) / 1000
    if (dt > 0) {
      this.#downloadRate = this.#downloadRate * 0.5 + ((total - this.#sample.down) / dt) * 0.5
      this.#uploadRate = this.#uploadRate * 0.5 + ((this.uploaded - this.#sample.up) / dt) * 0.5
    }
    this.#sample = { at: now, down: total, up: this.uploaded }
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
      downloadRate: this.#downloadRate,
      uploadRate: this.#uploadRate,
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
