/**
 * SHA-1 of finished pieces (BEP 3) off the event loop: one worker thread per process hashes
 * pieces whose ArrayBuffer is transferred to it and back, so nothing is copied. At line rate
 * hashing was a third of the downloader's loop; with it on the second core the loop only parses,
 * assembles and writes. The CPU per byte is the same (a few µs of messaging per piece more); what
 * changes is that the loop is free sooner. (Not SharedArrayBuffer: V8 copies into shared memory
 * with a relaxed, word-at-a-time memmove, and assembling blocks into it cost more than the hash.)
 *
 * Small pieces, and buffers that are views of a larger ArrayBuffer, are hashed inline: for them a
 * round trip costs more than the hash, or the buffer cannot be moved. If the worker cannot start,
 * pieces are hashed inline; if it dies with pieces on it, those bytes are gone (`lost`).
 */
import { createHash } from 'node:crypto'
import { Worker } from 'node:worker_threads'

/** Pieces smaller than this are hashed on the loop (a round trip is ~20 µs; 64 KiB hash ~40 µs). */
export const WORKER_MIN_BYTES = 128 * 1024

// CommonJS source for `eval`: no file to locate beside the compiled module (tests run the .ts)
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { createHash } = require('node:crypto')
parentPort.on('message', (m) => {
  const digest = createHash('sha1').update(new Uint8Array(m.buffer)).digest()
  parentPort.postMessage({ id: m.id, digest: new Uint8Array(digest.buffer, digest.byteOffset, 20), buffer: m.buffer }, [m.buffer])
})
`

/**
 * The piece's SHA-1 and its bytes, in `data` — a new Buffer over the same memory when it went to
 * the worker (the one passed in is detached then). `lost`: the worker died holding the piece; its
 * bytes must be fetched again, and nobody is to blame.
 */
export type HashResult = { digest: Buffer; data: Buffer; lost?: undefined } | { lost: true; digest?: undefined; data?: undefined }

interface Pending {
  resolve: (r: HashResult) => void
}

/** Inline SHA-1, the reference the worker must match. */
const sha1Inline = (data: Uint8Array): Buffer => createHash('sha1').update(data).digest()

/**
 * @example
 * const hasher = sharedPieceHasher()
 * const { digest, data } = await hasher.sha1(piece) // piece: from allocPieceBuffer
 */
export class PieceHasher {
  #worker: Worker | undefined
  /** False once the worker failed: hash inline from then on. */
  #usable = true
  #nextId = 1
  readonly #pending = new Map<number, Pending>()

  /** SHA-1 of `data` (see `HashResult`); never rejects. */
  sha1(data: Buffer): Promise<HashResult> {
    const ab = data.buffer
    const movable = data.byteOffset === 0 && data.byteLength === ab.byteLength && ab instanceof ArrayBuffer
    if (!this.#usable || data.length < WORKER_MIN_BYTES || !movable) return Promise.resolve({ digest: sha1Inline(data), data })
    const worker = this.#start()
    if (worker === undefined) return Promise.resolve({ digest: sha1Inline(data), data })
    const id = this.#nextId++
    return new Promise<HashResult>((resolve) => {
      this.#pending.set(id, { resolve })
      // keep the process up while a piece is being hashed; idle, the worker holds nothing open
      if (this.#pending.size === 1) worker.ref()
      worker.postMessage({ id, buffer: ab }, [ab])
    })
  }

  /** Hashes in flight (tests, metrics). */
  get pending(): number {
    return this.#pending.size
  }

  /** Stop the worker (pieces still on it are `lost`). */
  async close(): Promise<void> {
    const w = this.#worker
    this.#worker = undefined
    this.#drain()
    if (w !== undefined) await w.terminate()
  }

  #start(): Worker | undefined {
    if (this.#worker !== undefined) return this.#worker
    let w: Worker
    try {
      w = new Worker(WORKER_SOURCE, { eval: true })
    } catch {
      this.#usable = false
      return undefined
    }
    w.unref()
    w.on('message', (m: { id: number; digest: Uint8Array; buffer: ArrayBuffer }) => {
      const p = this.#pending.get(m.id)
      if (p === undefined) return
      this.#pending.delete(m.id)
      if (this.#pending.size === 0) w.unref()
      p.resolve({ digest: Buffer.from(m.digest.buffer, m.digest.byteOffset, m.digest.byteLength), data: Buffer.from(m.buffer) })
    })
    const dead = () => {
      if (this.#worker !== w) return
      this.#worker = undefined
      this.#usable = false
      this.#drain()
    }
    w.on('error', dead)
    w.on('exit', dead)
    this.#worker = w
    return w
  }

  /** Pieces still on a dead or stopped worker: their memory went with it. */
  #drain(): void {
    const left = [...this.#pending.values()]
    this.#pending.clear()
    for (const p of left) p.resolve({ lost: true })
  }
}

let shared: PieceHasher | undefined

/**
 * The process-wide hasher: one worker serves every torrent (this machine class has 2 cores; a
 * second worker would only compete with the loop and the disk threads).
 * @example
 * const r = await sharedPieceHasher().sha1(piece)
 * const ok = r.digest?.equals(expected) === true
 */
export function sharedPieceHasher(): PieceHasher {
  shared ??= new PieceHasher()
  return shared
}

/**
 * A piece buffer the hasher can move to its worker: an ArrayBuffer of its own, exactly this size.
 * @example
 * const data = allocPieceBuffer(pieceLength)
 */
export function allocPieceBuffer(size: number): Buffer {
  return Buffer.allocUnsafeSlow(size)
}
