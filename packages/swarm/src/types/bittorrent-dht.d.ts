// Minimal types for bittorrent-dht 11 (ships none): what discovery uses of the mainline DHT (BEP 5).
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events'

  export interface DhtPeer {
    host: string
    port: number
  }

  export interface DhtOptions {
    nodeId?: Uint8Array | string
    /** Bootstrap nodes as 'host:port' or objects; `false` starts alone (tests, private DHTs). */
    bootstrap?: false | Array<string | DhtPeer>
    /** Our public IP, to add ourselves to our own peer store on announce. */
    host?: string | false
    concurrency?: number
    maxTables?: number
    maxPeers?: number
    timeBucketOutdated?: number
  }

  export class Client extends EventEmitter {
    constructor(opts?: DhtOptions)
    nodeId: Uint8Array
    listening: boolean
    ready: boolean
    destroyed: boolean
    listen(port?: number, address?: string, cb?: () => void): void
    address(): { address: string; family: string; port: number }
    addNode(node: DhtPeer & { id?: Uint8Array }): void
    announce(infoHash: string | Uint8Array, port: number, cb?: (err?: Error | null) => void): void
    lookup(infoHash: string | Uint8Array, cb?: (err: Error | null, nodesFound?: number) => void): () => void
    toJSON(): { nodes: DhtPeer[]; values: Record<string, unknown> }
    destroy(cb?: () => void): void
  }

  export default Client
}
