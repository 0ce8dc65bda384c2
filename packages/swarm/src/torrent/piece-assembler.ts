/**
 * Blocks → pieces. Each piece in progress gets one buffer of its final size (an ArrayBuffer of its
 * own, so it can move to the hash worker), blocks are copied in at their offset (one copy, no
 * Buffer.concat), and the sender of every block is remembered so a
 * piece that fails its hash can name who sent the bad bytes. A piece someone waits on can be
 * hashed as its blocks arrive in order, so its SHA-1 is ready the moment its last block is in.
 */
import { createHash, type Hash } from 'node:crypto'
import { allocPieceBuffer } from './piece-hasher.js'

const POOL_MAX = 32

export interface AssemblingPiece {
  index: number
  data: Buffer
  /** Connection id that sent each block (undefined while missing). */
  sources: (string | undefined)[]
  /** SHA-1 of `data[0, hashed)`, when hashed on arrival (see `add`). */
  hash?: Hash
  hashed: number
}

/**
 * @example
 * const piece = assembler.add(index, begin, block, conn.id, pieceSize)
 */
export class PieceAssembler {
  readonly #pieces = new Map<number, AssemblingPiece>()
  readonly #blockSize: number
  /** Spare full-size piece buffers: a fresh 256 KiB+ allocation per piece costs page faults. */
  readonly #pool: Buffer[] = []
  readonly #pieceLength: number

  constructor(blockSize: number, pieceLength: number) {
    this.#blockSize = blockSize
    this.#pieceLength = pieceLength
  }

  /** Give back a piece buffer once the store is done with it. */
  release(data: Buffer): void {
    if (data.length === this.#pieceLength && this.#pool.length < POOL_MAX) this.#pool.push(data)
  }

  /**
   * Copy a block in; returns the piece it belongs to. `hashOnArrival` (read when the piece's first
   * block comes): hash the bytes as they become contiguous from the start, on this thread — the
   * same CPU as the worker, but no 256 KiB hash and round trip after the last block.
   */
  add(index: number, begin: number, block: Uint8Array, source: string, pieceSize: number, hashOnArrival = false): AssemblingPiece {
    let piece = this.#pieces.get(index)
    if (piece === undefined) {
      piece = {
        index,
        data: (pieceSize === this.#pieceLength ? this.#pool.pop() : undefined) ?? allocPieceBuffer(pieceSize),
        sources: new Array<string | undefined>(Math.ceil(pieceSize / this.#blockSize)),
        hash: hashOnArrival ? createHash('sha1') : undefined,
        hashed: 0,
      }
      this.#pieces.set(index, piece)
    }
    piece.data.set(block, begin)
    piece.sources[begin / this.#blockSize] = source
    if (piece.hash !== undefined) {
      // the hash covers the piece buffer (the bytes to be stored), never the block passed in
      const size = piece.data.length
      while (piece.hashed < size && piece.sources[piece.hashed / this.#blockSize] !== undefined) {
        const end = Math.min(size, piece.hashed + this.#blockSize)
        piece.hash.update(piece.data.subarray(piece.hashed, end))
        piece.hashed = end
      }
    }
    return piece
  }

  /** Hand the finished piece over and forget it. */
  take(index: number): AssemblingPiece | undefined {
    const piece = this.#pieces.get(index)
    this.#pieces.delete(index)
    return piece
  }

  get size(): number {
    return this.#pieces.size
  }

  clear(): void {
    this.#pieces.clear()
    this.#pool.length = 0
  }
}

/**
 * Peers whose blocks differ between a failed and the verified version of a piece: they sent
 * corrupt data. A peer whose every block matched is innocent even though the piece failed.
 * @example
 * for (const id of corruptSources(failed, good, blockSize)) ban(id)
 */
export function corruptSources(failed: AssemblingPiece, good: Buffer, blockSize: number): Set<string> {
  const guilty = new Set<string>()
  for (let b = 0; b < failed.sources.length; b++) {
    const source = failed.sources[b]
    if (source === undefined || guilty.has(source)) continue
    const start = b * blockSize
    const end = Math.min(start + blockSize, good.length)
    if (failed.data.compare(good, start, end, start, end) !== 0) guilty.add(source)
  }
  return guilty
}

/**
 * Who delivered the bytes of a (verified) piece: each source connection id with its byte count,
 * in first-block order. The bytes sum to the piece's size. Paid delivery pays exactly these.
 * @example
 * for (const { id, bytes } of pieceSources(piece, 16384)) pay(id, bytes)
 */
export function pieceSources(piece: AssemblingPiece, blockSize: number): { id: string; bytes: number }[] {
  const bytes = new Map<string, number>()
  const size = piece.data.length
  for (let b = 0; b < piece.sources.length; b++) {
    const id = piece.sources[b]
    if (id === undefined) continue
    const len = Math.min(blockSize, size - b * blockSize)
    bytes.set(id, (bytes.get(id) ?? 0) + len)
  }
  return [...bytes].map(([id, n]) => ({ id, bytes: n }))
}
