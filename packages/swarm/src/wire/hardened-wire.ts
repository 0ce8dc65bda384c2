/**
 * bittorrent-protocol's `Wire` with its input checked (BEP 3 message layouts, BEP 6, BEP 10). The
 * library trusts the length prefix and the payload sizes; a hostile peer could make it buffer
 * gigabytes or read past a message. Here every message is size-checked before the library parses
 * it, and anything the library throws while parsing closes only this peer.
 */
import { connect, type Socket } from 'node:net'
import Wire from 'bittorrent-protocol'

const EMPTY = new Uint8Array(0)

/** The library's parser state we drive from `_write`. */
interface WireInternals {
  _buffer: Uint8Array[]
  _bufferSize: number
  _parserSize: number
  _parser: (buf: Uint8Array) => void
}

/** The library's per-message handlers, called with fields already decoded. */
interface UnsignedHandlers {
  _onHave(index: number): void
  _onPiece(index: number, begin: number, data: Uint8Array): void
  _onCancel(index: number, begin: number, length: number): void
  _onSuggest(index: number): void
  _onReject(index: number, begin: number, length: number): void
  _onAllowedFast(index: number): void
}

/** Big-endian unsigned 32-bit at `at` (0 … 2^32 - 1, never negative). */
export const u32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0

/** Unsent bytes at which a peer counts as not reading and is closed (blocks stop far below). */
export const MAX_UNSENT_BYTES = 16 * 1024 * 1024

/** Largest message we accept: a 16 KiB block, a bitfield of ~8M pieces, a metadata piece. */
export const MAX_MESSAGE_BYTES = 1024 * 1024 + 16

/** Exact payload length (id byte included) per fixed-size message id. */
const FIXED: Record<number, number> = {
  0: 1, 1: 1, 2: 1, 3: 1, // choke, unchoke, interested, not interested
  4: 5, // have <index>
  6: 13, 8: 13, 16: 13, // request, cancel, reject <index><begin><length>
  9: 3, // port
  13: 5, 17: 5, // suggest, allowed fast <index>
  14: 1, 15: 1, // have all, have none
}
/** Minimum payload length per variable-size message id. */
const MIN: Record<number, number> = { 5: 1, 7: 9, 20: 2 }

/** Bytes per read for dialled sockets (Node's own reads are 64 KiB into a fresh buffer each). */
const RECEIVE_BUFFER_BYTES = 256 * 1024
/** Gathered piece messages and carried tails start this big and grow to the largest seen. */
const SCRATCH_BYTES = 16 * 1024 + 13

/** Dialled sockets reading into the shared buffer, and where their bytes go. */
interface SharedReader {
  wire: HardenedWire | undefined
  /** Bytes that came before the wire was attached (copied: the buffer is refilled next read). */
  early: Buffer[]
}
const sharedReaders = new WeakMap<Socket, SharedReader>()
let sharedBuffer: Buffer | undefined

/**
 * Dial a peer whose bytes are read into one process-wide buffer (`onread`) instead of a fresh
 * 64 KiB buffer per read: at line rate that was 16,000 buffers per GiB of external memory, and V8
 * ran a full mark-compact every few dozen MiB of it. Safe because a wire parses every read
 * synchronously and copies what it keeps (see `_write`), and `block` listeners copy at once.
 * @example
 * const socket = connectSharedBuffer({ host: '127.0.0.1', port: 6881 })
 * socket.once('connect', () => new HardenedWire().attach(socket))
 */
export function connectSharedBuffer(opts: { host: string; port: number }): Socket {
  const reader: SharedReader = { wire: undefined, early: [] }
  sharedBuffer ??= Buffer.allocUnsafe(RECEIVE_BUFFER_BYTES)
  const socket = connect({
    ...opts,
    onread: {
      buffer: sharedBuffer,
      callback: (n: number, buf: Uint8Array) => {
        const chunk = (buf as Buffer).subarray(0, n)
        if (reader.wire !== undefined) reader.wire.receive(chunk, true)
        else reader.early.push(Buffer.from(chunk))
        return true
      },
    },
  })
  sharedReaders.set(socket, reader)
  return socket
}

/**
 * A Wire that reports malformed input through `onProtocolError` instead of misparsing it.
 * @example
 * const wire = new HardenedWire()
 * wire.onProtocolError = (reason) => socket.destroy()
 */
export class HardenedWire extends Wire {
  #sink: ((data: Uint8Array, written?: () => void) => void) | undefined

  /**
   * Connect the wire to a socket without stream piping: bytes in are parsed synchronously in the
   * socket's 'data' handler, bytes out go straight to `socket.write`, corked for one tick so a
   * block's header and payload (and a burst of blocks) leave in one writev. Piping through the
   * library's streamx duplex cost a tick and a pause/resume per TCP read, which capped loopback
   * throughput well below what the CPU allows.
   * @example
   * const wire = new HardenedWire(); wire.attach(socket)
   */
  attach(socket: Socket): void {
    const shared = sharedReaders.get(socket)
    if (shared !== undefined) {
      shared.wire = this
      for (const early of shared.early.splice(0)) this.receive(early, false)
    } else {
      socket.on('data', (data: Buffer) => this.receive(data, false))
    }
    let corked = false
    const uncork = () => {
      corked = false
      socket.uncork()
    }
    this.#sink = (data, written) => {
      if (socket.destroyed) return written?.()
      // upload blocks wait for the socket (upload-queue); only control messages can pile up
      // here, and only for a peer that floods requests while never reading the answers
      if (socket.writableLength > MAX_UNSENT_BYTES) {
        written?.()
        return this.#fail(`peer does not read: ${socket.writableLength} bytes unsent`)
      }
      if (!corked) {
        corked = true
        socket.cork()
        process.nextTick(uncork)
      }
      // the callback runs once libuv is done with the bytes (or the socket died): then the
      // buffer may be reused
      if (written === undefined) socket.write(data)
      else socket.write(data, () => written())
    }
  }

  override _push(data: Uint8Array): boolean {
    const written = this.#written !== undefined && data === this.#writtenData ? this.#written : undefined
    if (written !== undefined) this.#written = this.#writtenData = undefined
    if (this.#sink === undefined) return super._push(data) // piped: never told when written, so never released
    if ((this as unknown as { _finished: boolean })._finished) {
      written?.()
      return false
    }
    this.#sink(data, written)
    return true
  }

  #written: (() => void) | undefined
  #writtenData: Uint8Array | undefined

  /**
   * Run `send` (which pushes `data` through the library, e.g. a piece message) and call `written`
   * once the socket is done with `data` — at once if `send` did not push it (a cancelled request).
   */
  pushWithCallback(data: Uint8Array, written: (() => void) | undefined, send: () => void): void {
    if (written === undefined) return send()
    this.#written = written
    this.#writtenData = data
    try {
      send()
    } finally {
      if (this.#writtenData === data) {
        this.#written = this.#writtenData = undefined
        written()
      }
    }
  }

  /** Called once with a reason when the peer breaks the protocol; the wire stops parsing. */
  onProtocolError: (reason: string) => void = () => {}
  #failed = false
  #sawFirstByte = false
  /** When bytes last arrived from the peer (ms). */
  lastReceivedAt = Date.now()

  /**
   * Frame incoming bytes without the library's habit of concatenating the whole pending buffer
   * with every new chunk (a fresh zero-filled allocation per TCP read). Messages inside one chunk
   * are parsed as views; only a message that spans chunks is gathered, into a buffer of exactly
   * its size. Message-stream encryption is never enabled here, so its resync path is not needed.
   */
  override _write(data: Uint8Array, cb: (err: Error | null) => void): void {
    this.receive(data, false)
    cb(null)
  }

  /** A piece message gathered across reads, reused (its block is copied by the listener at once). */
  #scratch: Buffer | undefined
  /** The unparsed tail of a transient read, kept until the next read. */
  #carry: Buffer | undefined

  /**
   * Parse bytes from the socket. `transient`: `data` is a view of a buffer refilled by the next
   * read, so whatever outlives this call is copied — every message but a piece payload (the
   * library keeps views of bitfields and handshakes) and the unparsed tail.
   */
  receive(data: Uint8Array, transient: boolean): void {
    const self = this as unknown as WireInternals
    this.lastReceivedAt = Date.now()
    if (!this.#sawFirstByte && data.length > 0) {
      this.#sawFirstByte = true
      // BEP 3 opens with pstrlen 19; anything else (an encrypted MSE handshake, HTTP, noise) is
      // not ours, and waiting for the handshake timeout only delays a client that falls back
      if (data[0] !== 19) {
        return this.#fail(`first byte ${data[0]} is not a BitTorrent handshake`)
      }
    }
    self._bufferSize += data.length
    self._buffer.push(data)
    while (self._bufferSize >= self._parserSize && !this.#failed) {
      const need = self._parserSize
      if (need === 0) {
        self._parser(EMPTY)
        continue
      }
      const first = self._buffer[0]!
      // a piece payload is handed to a listener that copies it synchronously: a view will do
      const viewOk = !transient || self._parser === this._onMessageLength || (self._parser === this._onMessage && first[0] === 7)
      let msg: Uint8Array
      if (first.length >= need) {
        msg = viewOk ? first.subarray(0, need) : Buffer.from(first.subarray(0, need))
        if (first.length === need) self._buffer.shift()
        else self._buffer[0] = first.subarray(need)
      } else {
        if (transient && viewOk) {
          if (this.#scratch === undefined || this.#scratch.length < need) this.#scratch = Buffer.allocUnsafe(Math.max(need, SCRATCH_BYTES))
          msg = this.#scratch.subarray(0, need)
        } else {
          msg = Buffer.allocUnsafe(need)
        }
        let filled = 0
        while (filled < need) {
          const chunk = self._buffer[0]!
          const take = Math.min(chunk.length, need - filled)
          msg.set(take === chunk.length ? chunk : chunk.subarray(0, take), filled)
          filled += take
          if (take === chunk.length) self._buffer.shift()
          else self._buffer[0] = chunk.subarray(take)
        }
      }
      self._bufferSize -= need
      self._parser(msg)
    }
    if (transient && self._bufferSize > 0 && !this.#failed) this.#keepTail(self)
  }

  /** Copy the unparsed tail out of the transient buffer (into the carry buffer when it fits). */
  #keepTail(self: WireInternals): void {
    const size = self._bufferSize
    const carry = this.#carry
    // the old carry may be part of the tail (a read smaller than the missing rest): then a fresh one
    const fresh = carry === undefined || carry.length < size || self._buffer.some((b) => b.buffer === carry.buffer)
    const out = fresh ? Buffer.allocUnsafe(Math.max(size, SCRATCH_BYTES)) : carry
    let at = 0
    for (const b of self._buffer) {
      out.set(b, at)
      at += b.length
    }
    this.#carry = out
    self._buffer.length = 0
    self._buffer.push(out.subarray(0, size))
  }

  /**
   * The library answers a first byte other than 19 (an encrypted handshake, BEP 8/MSE, or junk)
   * with `end()`, which an attached socket never sees: the peer then sat until the handshake
   * timeout. libtorrent tries encryption first on every outgoing connection and falls back to
   * plaintext only when we close, so this cost every libtorrent download from us 10 s.
   */
  _parseHandshake(): void {
    this._parse(1, (buffer) => {
      if (buffer[0] !== 19) return this.#fail(`handshake starts with byte ${buffer[0]}, not 19 (encrypted or not BitTorrent)`)
      this._parse(19 + 48, (handshake) => {
        if (Buffer.from(handshake.buffer, handshake.byteOffset, 19).toString('latin1') !== 'BitTorrent protocol') {
          return this.#fail('handshake does not name the BitTorrent protocol')
        }
        ;(this as unknown as { _onHandshakeBuffer(b: Uint8Array): void })._onHandshakeBuffer(handshake)
      })
    })
  }

  /** The library formats a debug string for every message; we log at the session level instead. */
  _debug(): void {}

  /**
   * A block in, without the library's per-block extras: a search of its own request list (we
   * never use it: the connection tracks requests), a `throughput` meter that reads the clock and
   * allocates per call, and a 'download' event nobody hears (the connection's RateMeter counts).
   */
  _onPiece(index: number, begin: number, data: Uint8Array): void {
    this.downloaded += data.length
    this.emit('piece', index, begin, data)
  }

  /** A block out (BEP 3 piece message), likewise without the library's meter and event. */
  override piece(index: number, begin: number, data: Uint8Array): void {
    ;(this as unknown as { _message(id: number, numbers: number[], data: Uint8Array): void })._message(7, [index, begin], data)
    this.uploaded += data.length
  }

  override _onMessageLength(buffer: Uint8Array): void {
    const length = u32(buffer, 0)
    if (length > MAX_MESSAGE_BYTES) return this.#fail(`message of ${length} bytes exceeds the limit`)
    super._onMessageLength(buffer)
  }

  override _onMessage(buffer: Uint8Array): void {
    if (this.#failed) return
    const id = buffer[0]!
    const fixed = FIXED[id]
    if (fixed !== undefined && buffer.length !== fixed) {
      return this.#fail(`message id ${id} has length ${buffer.length}, expected ${fixed}`)
    }
    const min = MIN[id]
    if (min !== undefined && buffer.length < min) {
      return this.#fail(`message id ${id} has length ${buffer.length}, expected at least ${min}`)
    }
    try {
      if (!this.#dispatchUnsigned(id, buffer)) super._onMessage(buffer)
    } catch (err) {
      this.#fail(`message id ${id} could not be handled: ${(err as Error).message}`)
    }
  }

  /**
   * The library reads every 32-bit field as a signed int (`b[0] << 24 | ...`), so an offset or
   * length with the top bit set arrives negative and slips past `begin + length <= size` checks
   * (a request at begin 0xFFFFC000 read as -16384). Messages carrying such fields are decoded
   * here as unsigned and handed to the library's handlers; the rest go through its parser.
   */
  #dispatchUnsigned(id: number, b: Uint8Array): boolean {
    const self = this as unknown as UnsignedHandlers
    switch (id) {
      case 4: case 6: case 7: case 8: case 13: case 16: case 17:
        break
      default:
        return false
    }
    this._parse(4, this._onMessageLength) // what the library's _onMessage does first
    if (id === 4) self._onHave(u32(b, 1))
    else if (id === 6) this.#onRequest(u32(b, 1), u32(b, 5), u32(b, 9))
    else if (id === 7) self._onPiece(u32(b, 1), u32(b, 5), b.subarray(9))
    else if (id === 8) self._onCancel(u32(b, 1), u32(b, 5), u32(b, 9))
    else if (id === 13) self._onSuggest(u32(b, 1))
    else if (id === 16) self._onReject(u32(b, 1), u32(b, 5), u32(b, 9))
    else self._onAllowedFast(u32(b, 1)) // the library keeps at most 100
    return true
  }

  /**
   * A request, without the library's bookkeeping: it keeps every pending request in an array and
   * scans it per answer, so a flood of 100,000 requests cost seconds of CPU. The connection keeps
   * pending requests in a map (bounded by our `reqq`); `respond` sends the block or a BEP 6 reject.
   * A request while we choke is rejected at once (BEP 6), as the library does.
   */
  #onRequest(index: number, begin: number, length: number): void {
    const reject = () => {
      if (this.hasFast && !this.destroyed) this._message(0x10, [index, begin, length], null)
    }
    if (this.amChoking) return reject()
    const respond = (err: Error | null, data?: Uint8Array) => {
      if (err !== null || data === undefined) return reject()
      if (!this.destroyed) this.piece(index, begin, data)
    }
    this.emit('request', index, begin, length, respond)
  }

  /** Stop parsing for good and report; the owner closes the socket. */
  #fail(reason: string): void {
    if (this.#failed) return
    this.#failed = true
    // swallow the rest of the stream: nothing after a broken frame can be trusted
    this._parse(Number.MAX_SAFE_INTEGER, () => {})
    this.onProtocolError(reason)
  }
}
