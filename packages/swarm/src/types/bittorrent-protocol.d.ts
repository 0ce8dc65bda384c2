// Minimal types for bittorrent-protocol 5 (ships none): only what the swarm uses.
declare module 'bittorrent-protocol' {
  import { Duplex } from 'node:stream'

  export interface WireExtensionInstance {
    onHandshake?(infoHash: string, peerId: string, extensions: Record<string, boolean>): void
    onExtendedHandshake?(handshake: Record<string, unknown>): void
    onMessage?(buf: Uint8Array): void
  }
  export interface WireExtensionClass {
    new (wire: Wire): WireExtensionInstance
    prototype: { name: string }
  }
  export interface PeerBitField {
    get(index: number): boolean
    set(index: number, value?: boolean): void
    buffer: Uint8Array
  }

  export default class Wire extends Duplex {
    constructor(type?: string, peEnabled?: number)
    peerId: string | null
    peerIdBuffer: Uint8Array | null
    type: string
    amChoking: boolean
    amInterested: boolean
    peerChoking: boolean
    peerInterested: boolean
    peerPieces: PeerBitField
    extensions: Record<string, boolean>
    peerExtensions: Record<string, boolean>
    extendedHandshake: Record<string, unknown>
    peerExtendedHandshake: Record<string, unknown>
    peerExtendedMapping: Record<string, number>
    hasFast: boolean
    uploaded: number
    downloaded: number
    destroyed: boolean
    [ext: string]: unknown
    setKeepAlive(enable: boolean): void
    use(ext: WireExtensionClass): void
    handshake(infoHash: string | Uint8Array, peerId: string | Uint8Array, extensions?: Record<string, boolean>): void
    choke(): void
    unchoke(): void
    interested(): void
    uninterested(): void
    have(index: number): void
    bitfield(bitfield: Uint8Array): void
    haveAll(): void
    haveNone(): void
    reject(index: number, offset: number, length: number): void
    piece(index: number, offset: number, buffer: Uint8Array): void
    extended(ext: string | number, obj: unknown): void
    keepAlive(): void
    destroy(): this
    end(): this
    _message(id: number, numbers: number[], data: Uint8Array | null): void
    _onMessageLength(buffer: Uint8Array): void
    _onMessage(buffer: Uint8Array): void
    _write(data: any, cb: any): void
    _push(data: Uint8Array): boolean
    _parse(size: number, parser: (buf: Uint8Array) => void): void
  }
}
