/**
 * Announces one torrent on the mainline DHT (BEP 5) and looks up its peers, again every
 * `intervalMs`. The DHT node is injected so many torrents share one UDP socket and routing
 * table; discovery only creates (and then owns) one when none is given.
 */
import { EventEmitter } from 'node:events'
import type { Client as Dht, DhtPeer } from 'bittorrent-dht'
import type { BitcdnError } from '@bitcdn/core'
import { discoveryError } from './errors.js'

export interface DhtAnnouncerInit {
  dht: Dht
  infoHash: string
  /** Our BitTorrent (TCP) port, announced to the DHT. */
  port: number
  /** Re-announce and re-lookup period, in ms. @default 900000 (15 min) */
  intervalMs?: number
}

export interface DhtAnnouncerEvents {
  peer: [addr: string]
  warning: [err: BitcdnError]
}

export class DhtAnnouncer extends EventEmitter<DhtAnnouncerEvents> {
  readonly #init: DhtAnnouncerInit
  #timer: NodeJS.Timeout | undefined
  #stopped = false
  #abortLookup: (() => void) | undefined
  readonly #onPeer = (peer: DhtPeer, infoHash: Uint8Array): void => {
    if (Buffer.from(infoHash).toString('hex') !== this.#init.infoHash) return
    this.emit('peer', peer.host.includes(':') ? `[${peer.host}]:${peer.port}` : `${peer.host}:${peer.port}`)
  }
  readonly #onReady = (): void => this.#round()

  constructor(init: DhtAnnouncerInit) {
    super()
    this.#init = init
  }

  start(): void {
    const { dht } = this.#init
    // one 'peer' listener per torrent on a shared node: many torrents are normal, not a leak
    dht.setMaxListeners(Math.max(dht.getMaxListeners(), dht.listenerCount('peer') + 11))
    dht.on('peer', this.#onPeer)
    if (dht.ready) this.#round()
    else dht.once('ready', this.#onReady)
    this.#timer = setInterval(() => this.#round(), this.#init.intervalMs ?? 900_000)
    this.#timer.unref()
  }

  /** Look up and announce again now. */
  refresh(): void {
    if (this.#init.dht.ready) this.#round()
  }

  stop(): void {
    this.#stopped = true
    clearInterval(this.#timer)
    this.#abortLookup?.()
    this.#init.dht.off('peer', this.#onPeer)
    this.#init.dht.off('ready', this.#onReady)
  }

  #round(): void {
    const { dht, infoHash, port } = this.#init
    if (this.#stopped || dht.destroyed) return
    this.#abortLookup?.()
    this.#abortLookup = dht.lookup(infoHash)
    dht.announce(infoHash, port, (err) => {
      if (err && !this.#stopped && !dht.destroyed) {
        this.emit('warning', discoveryError('dht', `DHT announce failed: ${err.message}`, { infoHash }, err))
      }
    })
  }
}
