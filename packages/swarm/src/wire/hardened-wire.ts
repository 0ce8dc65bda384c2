/**
 * bittorrent-protocol's `Wire` with its input checked (BEP 3 message layouts, BEP 6, BEP 10). The
 * library trusts the length prefix and the payload sizes; a hostile peer could make it buffer
 * gigabytes or read past a message. Here every message is size-checked before the library parses
 * it, and anything the library throws while parsing closes only this peer.
 */
import Wire from 'bittorrent-protocol'

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

/**
 * A Wire that reports malformed input through `onProtocolError` instead of misparsing it.
 * @example
 * const wire = new HardenedWire()
 * wire.onProtocolError = (reason) => socket.destroy()
 */
export class HardenedWire extends Wire {
  /** Called once with a reason when the peer breaks the protocol; the wire stops parsing. */
  onProtocolError: (reason: string) => void = () => {}
  #failed = false

  override _onMessageLength(buffer: Uint8Array): void {
    const length = ((buffer[0]! << 24) | (buffer[1]! << 16) | (buffer[2]! << 8) | buffer[3]!) >>> 0
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
      super._onMessage(buffer)
    } catch (err) {
      this.#fail(`message id ${id} could not be handled: ${(err as Error).message}`)
    }
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
