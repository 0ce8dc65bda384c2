/**
 * One mainline DHT node (BEP 5) for a whole client. Every torrent's discovery should share it
 * (`createDiscovery(init, { dht })`): one UDP socket and routing table, instead of one per
 * torrent all fighting for the same port.
 */
import DHT, { type Client as Dht } from 'bittorrent-dht'
import { discoveryError } from './errors.js'

export interface DhtNodeInit {
  /** UDP port; 0 picks a free one. Conventionally the same number as the BitTorrent TCP port. @default 0 */
  port?: number
  /** Address to bind. A loopback address only reaches nodes on this machine. @default all interfaces */
  host?: string
  /** Bootstrap nodes `host:port`; `false` to start alone (tests, private DHTs). @default the public routers */
  bootstrap?: string[] | false
}

export type { Dht }

/**
 * Create and bind a DHT node. Destroy it with `node.destroy()` when the client stops. Later
 * socket errors are emitted as `'error'` on the node: attach a listener.
 * @throws BitcdnError `BITCDN_ERR_DHT` when the UDP port cannot be bound.
 * @example
 * const dht = await startDhtNode({ port: 6881 })
 * dht.on('error', (err) => log.warn({ err }, 'dht'))
 * const d = createDiscovery({ infoHash, announce: [], port: 6881 }, { dht })
 */
export async function startDhtNode(init: DhtNodeInit = {}): Promise<Dht> {
  const dht = new DHT(init.bootstrap === undefined ? {} : { bootstrap: init.bootstrap })
  const port = init.port ?? 0
  try {
    await new Promise<void>((resolve, reject) => {
      dht.once('error', reject)
      dht.listen(port, init.host, () => {
        dht.off('error', reject)
        resolve()
      })
    })
  } catch (err) {
    dht.destroy()
    throw discoveryError('dht', `DHT could not bind UDP port ${port}: ${(err as Error).message}`, { port, host: init.host }, err)
  }
  return dht
}
