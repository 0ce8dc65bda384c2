/**
 * Probes a registered node the way a buyer would meet it: a TCP connect to its endpoint, a
 * BitTorrent handshake (BEP 3) for one of the torrents it pins, and its BEP 10 extended handshake,
 * which must offer the paid-delivery extension (`bitcdn_pay`). Each step has a deadline; the
 * result says which step failed and why, in one line. Thresholds are published with the results
 * (`PROBE_THRESHOLDS`).
 */
import { connect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { bdecode, bencodeEncode, isDict } from '@bitcdn/content'
import type { ProbeRecord } from '../store/hub-store.js'

/** What counts as passing, published next to the results. */
export const PROBE_THRESHOLDS = {
  connectTimeoutMs: 3_000,
  handshakeTimeoutMs: 5_000,
  /** The extension a paid node must offer. */
  paidExtension: 'bitcdn_pay',
} as const

const PROTOCOL = Buffer.from('\x13BitTorrent protocol', 'latin1')
/** Largest message we read while waiting for the extended handshake. */
const MAX_MESSAGE = 1 << 20

/**
 * Probe `endpoint` (`host:port`) for `infoHash` (hex). Never throws: failures are in the record.
 * @example const r = await probeNode('0xabc…', '127.0.0.1:6881', infoHash)
 */
export async function probeNode(payee: string, endpoint: string, infoHash: string | undefined, now = Date.now): Promise<ProbeRecord> {
  const at = now()
  const rec: ProbeRecord = { payee, at, reachable: false, handshake: false, paid: false, servedPiece: false, latencyMs: 0, detail: '' }
  const sep = endpoint.lastIndexOf(':')
  const host = endpoint.slice(0, sep).replace(/^\[|\]$/g, '')
  const port = Number(endpoint.slice(sep + 1))
  const started = Date.now()
  let socket: Socket
  try {
    socket = await connectWithin(host, port, PROBE_THRESHOLDS.connectTimeoutMs)
  } catch (err) {
    rec.detail = `connect to ${endpoint} failed: ${(err as Error).message}`
    return rec
  }
  rec.reachable = true
  rec.latencyMs = Date.now() - started
  if (!infoHash) {
    socket.destroy()
    rec.detail = 'no pinned torrent to handshake for'
    return rec
  }
  try {
    const ext = await handshake(socket, infoHash, PROBE_THRESHOLDS.handshakeTimeoutMs, () => (rec.handshake = true))
    rec.paid = ext.includes(PROBE_THRESHOLDS.paidExtension)
    if (!rec.paid) rec.detail = `extended handshake offers ${ext.join(', ') || 'no extensions'}, not ${PROBE_THRESHOLDS.paidExtension}`
  } catch (err) {
    rec.detail = (err as Error).message
  } finally {
    socket.destroy()
  }
  return rec
}

function connectWithin(host: string, port: number, ms: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port })
    const timer = setTimeout(() => {
      s.destroy()
      reject(new Error(`no answer within ${ms} ms`))
    }, ms)
    s.once('connect', () => {
      clearTimeout(timer)
      resolve(s)
    })
    s.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
  })
}

/** Handshake, then wait for the extended handshake; resolves to the extension names it offers. */
function handshake(socket: Socket, infoHash: string, ms: number, onHandshake: () => void): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const reserved = Buffer.alloc(8)
    reserved[5] = 0x10 // BEP 10
    const peerId = Buffer.concat([Buffer.from('-BQ0100-probe'), randomBytes(7)])
    socket.write(Buffer.concat([PROTOCOL, reserved, Buffer.from(infoHash, 'hex'), peerId]))
    const ourExt = bencodeEncode({ m: {}, v: 'bitcdn-hub-probe' })
    const extMsg = Buffer.alloc(6)
    extMsg.writeUInt32BE(2 + ourExt.length, 0)
    extMsg[4] = 20
    extMsg[5] = 0
    let buf = Buffer.alloc(0)
    let gotHandshake = false
    const timer = setTimeout(() => fail(`no ${gotHandshake ? 'extended handshake' : 'handshake'} within ${ms} ms`), ms)
    const fail = (why: string) => {
      clearTimeout(timer)
      socket.removeAllListeners('data')
      reject(new Error(why))
    }
    socket.on('error', (err) => fail(`connection error: ${err.message}`))
    socket.on('close', () => fail(gotHandshake ? 'closed before its extended handshake' : 'closed during the handshake'))
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      if (!gotHandshake) {
        if (buf.length < 68) return
        if (!buf.subarray(0, 20).equals(PROTOCOL)) return fail('answered something other than a BitTorrent handshake')
        if (buf.subarray(28, 48).toString('hex') !== infoHash) return fail('handshake names another info-hash')
        if ((buf[25]! & 0x10) === 0) return fail('handshake does not offer BEP 10 extensions')
        gotHandshake = true
        onHandshake()
        socket.write(Buffer.concat([extMsg, ourExt]))
        buf = buf.subarray(68)
      }
      while (buf.length >= 4) {
        const len = buf.readUInt32BE(0)
        if (len > MAX_MESSAGE) return fail(`message of ${len} bytes`)
        if (buf.length < 4 + len) return
        const id = buf[4]
        if (len >= 2 && id === 20 && buf[5] === 0) {
          clearTimeout(timer)
          socket.removeAllListeners('data')
          socket.removeAllListeners('close')
          try {
            // strict decoding: the node is untrusted, and its handshake must be one whole dictionary
            const { value } = bdecode(buf.subarray(6, 4 + len))
            const m = isDict(value) ? value['m'] : undefined
            return resolve(isDict(m) ? Object.keys(m) : [])
          } catch {
            return reject(new Error('extended handshake is not valid bencode'))
          }
        }
        buf = buf.subarray(4 + len)
      }
    })
  })
}
