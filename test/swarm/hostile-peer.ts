/**
 * A hostile BitTorrent peer as a raw TCP client: it writes exactly the bytes a test gives it (no
 * library in between that could sanitise them) and parses what comes back, so attack tests can
 * send wire messages no well-behaved client would (BEP 3 framing, BEP 6 reject, BEP 10 handshake).
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'

export interface WireMessage {
  id: number
  payload: Buffer
}

/** `<len><id><payload>` (BEP 3 framing). */
export function frame(id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(5 + payload.length)
  b.writeUInt32BE(1 + payload.length, 0)
  b[4] = id
  payload.copy(b, 5)
  return b
}

/** request / cancel / reject: `<index><begin><length>`, each written as unsigned 32-bit. */
export function blockMessage(id: 6 | 8 | 16, index: number, begin: number, length: number): Buffer {
  const p = Buffer.alloc(12)
  p.writeUInt32BE(index >>> 0, 0)
  p.writeUInt32BE(begin >>> 0, 4)
  p.writeUInt32BE(length >>> 0, 8)
  return frame(id, p)
}

/** Our 68-byte handshake, advertising BEP 6 (fast) and BEP 10 (extended); a fresh peer id each time. */
export function handshakeBytes(infoHash: string, peerId = Buffer.concat([Buffer.from('-HS0001-'), randomBytes(12)])): Buffer {
  const reserved = Buffer.alloc(8)
  reserved[5] = 0x10
  reserved[7] = 0x04
  return Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), reserved, Buffer.from(infoHash, 'hex'), peerId])
}

export class HostilePeer {
  readonly socket: Socket
  readonly messages: WireMessage[] = []
  handshake: Buffer | undefined
  closed = false
  /** Pieces the remote announced (have / bitfield / have-all). */
  readonly remoteHas = new Set<number>()
  remoteHasAll = false
  /** Block payload bytes received. */
  pieceBytes = 0
  #buf: Buffer = Buffer.alloc(0)
  #waiters: Array<() => void> = []
  readonly whenClosed: Promise<void>

  constructor(port: number, opts: { read?: boolean; host?: string; localAddress?: string } = {}) {
    this.socket = connect({ host: opts.host ?? '127.0.0.1', port, ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}) })
    this.socket.on('error', () => {})
    this.whenClosed = new Promise((resolve) => this.socket.once('close', () => {
      this.closed = true
      this.#wake()
      resolve()
    }))
    if (opts.read === false) {
      // a peer that never reads: the kernel buffers fill and the remote's writes back up
      this.socket.pause()
      return
    }
    this.socket.on('data', (d: Buffer) => this.#onData(d))
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.socket.connecting) return resolve()
      this.socket.once('connect', () => resolve())
      this.socket.once('error', reject)
    })
  }

  write(b: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(b)
  }

  /** Handshake, then wait for the remote's (and its have-set when `awaitHaves`). */
  async open(infoHash: string, awaitHaves = true): Promise<void> {
    await this.connected()
    this.write(handshakeBytes(infoHash))
    await this.until(() => this.handshake !== undefined, 'the remote handshake')
    if (awaitHaves) await this.until(() => this.remoteHasAll || this.remoteHas.size > 0 || this.messages.some((m) => m.id === 15), 'a have-set')
  }

  /** Resolve when `cond` holds, reject if the socket closes first or after `ms`. */
  until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)
      const check = () => {
        if (cond()) {
          clearTimeout(timer)
          resolve()
          return
        }
        if (this.closed) {
          clearTimeout(timer)
          reject(new Error(`closed while waiting for ${what}`))
          return
        }
        this.#waiters.push(check)
      }
      check()
    })
  }

  /** True once any message with `id` arrived. */
  got(id: number): boolean {
    return this.messages.some((m) => m.id === id)
  }

  /** Stop reading: what the remote sends piles up in the kernel, then in its own buffers. */
  stopReading(): void {
    this.socket.pause()
  }

  /** Messages with `id` received so far. */
  count(id: number): number {
    let n = 0
    for (const m of this.messages) if (m.id === id) n++
    return n
  }

  destroy(): void {
    this.socket.destroy()
  }

  #wake(): void {
    const w = this.#waiters.splice(0)
    for (const f of w) f()
  }

  #onData(d: Buffer): void {
    this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d])
    if (this.handshake === undefined) {
      if (this.#buf.length < 68) return
      this.handshake = this.#buf.subarray(0, 68)
      this.#buf = this.#buf.subarray(68)
    }
    while (this.#buf.length >= 4) {
      const len = this.#buf.readUInt32BE(0)
      if (this.#buf.length < 4 + len) break
      if (len > 0) {
        const m = { id: this.#buf[4]!, payload: Buffer.from(this.#buf.subarray(5, 4 + len)) }
        if (m.id === 4) this.remoteHas.add(m.payload.readUInt32BE(0))
        if (m.id === 14) this.remoteHasAll = true
        if (m.id === 5) for (let i = 0; i < m.payload.length * 8; i++) if (m.payload[i >> 3]! & (0x80 >> (i & 7))) this.remoteHas.add(i)
        // keep piece payloads out of the log: a test may pull megabytes
        this.messages.push(m.id === 7 ? { id: 7, payload: m.payload.subarray(0, 8) } : m)
        if (m.id === 7) this.pieceBytes += len - 9
      }
      this.#buf = this.#buf.subarray(4 + len)
    }
    this.#wake()
  }
}

/** A piece the remote has (have-all: piece 0). */
export function pieceItHas(p: HostilePeer): number {
  if (p.remoteHasAll) return 0
  const first = p.remoteHas.values().next()
  if (first.done === true) throw new Error('the remote announced no piece')
  return first.value
}

/** Resident set size of a process in bytes (now and peak), from /proc. */
export function processRss(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN) * 1024
  return { rss: kb('VmRSS'), peak: kb('VmHWM') }
}
