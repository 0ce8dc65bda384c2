/**
 * The `bitcdn_pay` extension on one connection (a `wire.use()` BEP 10 extension, libtorrent's
 * `peer_plugin`): decodes each message and hands it to the seller or buyer handler. Whatever a peer
 * sends — garbage, a wrong version, an oversized message, a message out of order — and whatever the
 * handler throws or rejects with, ends the same way: this connection closes with a logged reason;
 * the process and the other connections go on.
 */
import type { BitcdnError, Logger } from '@bitcdn/core'
import type { HardenedWire } from '@bitcdn/swarm'
import { marketError } from '../errors.js'
import { decodePayMessage, encodePayMessage, encodeRefuse, PAY_EXTENSION_NAME, RefuseReason, type PayMessage } from './codec.js'

/** The side of a connection a handler talks through. */
export interface PayChannel {
  /** The connection id (`host:port`). */
  readonly id: string
  /** True once the peer's extended handshake listed `bitcdn_pay`. */
  readonly open: boolean
  /** True once closed (no message is handled after). */
  readonly closed: boolean
  send(msg: PayMessage): void
  /**
   * Tell the peer why (a `refuse` message, in `version` — the peer's own when it speaks another),
   * log the reason, close the connection.
   */
  close(err: BitcdnError, reason?: RefuseReason, version?: number): void
}

export interface PayChannelHandler {
  /** The peer speaks `bitcdn_pay`. */
  onOpen(ch: PayChannel): void
  /** One decoded message; a throw or a rejection closes the connection. */
  onMessage(msg: PayMessage, ch: PayChannel): void | Promise<void>
}

/** What the channel needs of the wire (bittorrent-protocol's `Wire`; a `HardenedWire` is one). */
interface ExtensibleWire {
  use(ext: unknown): void
  extended(ext: string, payload: Uint8Array): void
}

/** What the channel needs of the connection. */
export interface PayConnection {
  readonly id: string
  destroy(err?: Error): void
}

/**
 * Register the extension on `wire` (before its extension handshake goes out).
 * @example
 * extendWire: (wire, conn) => attachPayChannel(wire, conn, handler, log)
 */
export function attachPayChannel(hardened: HardenedWire, conn: PayConnection, handler: PayChannelHandler, log: Logger): PayChannel {
  const wire = hardened as unknown as ExtensibleWire
  let open = false
  let closed = false
  const ch: PayChannel = {
    id: conn.id,
    get open() {
      return open
    },
    get closed() {
      return closed
    },
    send(msg) {
      if (closed || !open) return
      try {
        wire.extended(PAY_EXTENSION_NAME, encodePayMessage(msg))
      } catch (err) {
        ch.close(err as BitcdnError)
      }
    },
    close(err, reason = RefuseReason.protocol, version) {
      if (closed) return
      if (open) {
        try {
          wire.extended(PAY_EXTENSION_NAME, encodeRefuse({ type: 'refuse', reason, text: err.message }, version))
        } catch {
          // the socket may be gone already; the close below is what matters
        }
      }
      closed = true
      log.warn({ peer: conn.id, code: err.code, err: err.message }, 'bitcdn_pay: closing connection')
      // let the refuse message reach the socket before the close
      setImmediate(() => conn.destroy(err))
    },
  }
  const fail = (err: unknown) => {
    const code = (err as { code?: unknown } | undefined)?.code
    const e = typeof code === 'string' && code.startsWith('BITCDN_ERR_') ? (err as BitcdnError) : marketError('messageInvalid', `bitcdn_pay handler failed: ${(err as Error)?.message ?? String(err)}`)
    ch.close(e)
  }
  class BitcdnPay {
    onExtendedHandshake(): void {
      if (open || closed) return
      open = true
      try {
        handler.onOpen(ch)
      } catch (err) {
        fail(err)
      }
    }
    onMessage(buf: Uint8Array): void {
      if (closed) return
      if (!open) return fail(marketError('messageUnexpected', 'bitcdn_pay message before the extension handshake'))
      let msg: PayMessage
      try {
        msg = decodePayMessage(buf)
      } catch (err) {
        // a peer of another version is told in its own version (a refuse reads the same in all;
        // reason `protocol`, which every version knows)
        if ((err as BitcdnError).code === 'BITCDN_ERR_PAY_VERSION') return ch.close(err as BitcdnError, RefuseReason.protocol, buf[0])
        return fail(err)
      }
      try {
        const r = handler.onMessage(msg, ch)
        if (r !== undefined) r.catch(fail)
      } catch (err) {
        fail(err)
      }
    }
  }
  ;(BitcdnPay.prototype as unknown as { name: string }).name = PAY_EXTENSION_NAME
  wire.use(BitcdnPay)
  return ch
}
