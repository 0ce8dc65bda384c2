/**
 * SHA-1 of finished pieces (BEP 3) off the event loop: one worker thread per process hashes
 * pieces held in SharedArrayBuffer memory, so nothing is copied or transferred — the worker reads
 * the very bytes the assembler wrote. At line rate hashing was a third of the downloader's loop;
 * with it on the second core the loop only parses, assembles and writes. The CPU per byte is the
 * same (a few µs of messaging per piece more); what changes is that the loop is free sooner.
 *
 * Small pieces, and buffers that are not shared, are hashed inline: for them a message round trip
 * costs more than the hash. If the worker cannot start or dies, every piece is hashed inline.
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
  const digest = createHash('sha1').update(new Uint8Array(m.buffer, m.offset, m.length)).digest()
  parentPort.postMessage({ id: m.id, digest: new Uint8Array(digest.buffer, digest.byteOffset, 20) })
})
`

interface Pending {
  data: Buffer
  resolve: (digest: Buffer) => void
}

/** Inline SHA-1, the reference the worker must match. */
const sha1Inline = (data: Uint8Array): Buffer => createHash('sha1').update(data).digest()

/**
 * @example
 * const hasher = sharedPieceHasher()
 * const digest = await hasher.sha1(piece) // piece: a Buffer over a SharedArrayBuffer
 */
export class PieceHasher {
  #worker: Worker | undefined
  /** False once the worker failed: hash inline from then on. */
  #usable = true
  #nextId = 1
  readonly #pending = new Map<number, Pending>()

  /** SHA-1 of `data`; never rejects (a dead worker falls back to inline hashing). */
  sha1(data: Buffer): Promise<Buffer> {
    if (!this.#usable || data.length < WORKER_MIN_BYTES || !(data.buffer instanceof SharedArrayBuffer)) {
      return Promise.resolve(sha1Inline(data))
    }
    const worker = this.#start()
    if (worker === undefined) return Promise.resolve(sha1Inline(data))
    const id = this.#nextId++
    return new Promise<Buffer>((resolve) => {
      this.#pending.set(id, { data, resolve })
      // keep the process up while a piece is being hashed; idle, the worker holds nothing open
      if (this.#pending.size === 1) worker.ref()
      worker.postMessage({ id, buffer: data.buffer, offset: data.byteOffset, length: data.length })
    })
  }

  /** Hashes in flight (tests, metrics). */
  get pending(): number {
    return this.#pending.size
  }

  /** Stop the worker (pending hashes finish inline). */
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
    w.on('message', (m: { id: number; digest: Uint8Array }) => {
      const p = this.#pending.get(m.id)
      if (p === undefined) return
      this.#pending.delete(m.id)
      if (this.#pending.size === 0) w.unref()
      p.resolve(Buffer.from(m.digest.buffer, m.digest.byteOffset, m.digest.byteLength))
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

  /** Hash whatever is still pending on this thread (the data is shared, still intact). */
  #drain(): void {
    const left = [...this.#pending.values()]
    this.#pending.clear()
    for (const p of left) p.resolve(sha1Inline(p.data))
  }
}

let shared: PieceHasher | undefined

/**
 * The process-wide hasher: one worker serves every torrent (this machine class has 2 cores; a
 * second worker would only compete with the loop and the disk threads).
 * @example
 * const ok = (await sharedPieceHasher().sha1(piece)).equals(expected)
 */
export function sharedPieceHasher(): PieceHasher {
  shared ??= new PieceHasher()
  return shared
}

/**
 * A piece buffer the hasher can read without a copy: shared memory when the piece is large
 * enough to go to the worker (zero-filled once; pieces are pooled, so that is rare).
 * @example
 * const data = allocPieceBuffer(pieceLength)
 */
export function allocPieceBuffer(size: number): Buffer {
  return size >= WORKER_MIN_BYTES ? Buffer.from(new SharedArrayBuffer(size)) : Buffer.allocUnsafe(size)
}
