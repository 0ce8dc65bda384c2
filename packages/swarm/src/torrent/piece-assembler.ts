/**
 * Blocks → pieces. Each piece in progress gets one buffer of its final size (an ArrayBuffer of its
 * own, so it can move to the hash worker), blocks are copied in at their offset (one copy, no
 * Buffer.concat), and the sender of every block is remembered so a
 * piece that fails its hash can name who sent the bad bytes.
 */
import { allocPieceBuffer } from './piece-hasher.js'

const POOL_MAX = 32

export interface AssemblingPiece {
  index: number
  data: Buffer
  /** Connection id that sent each block (undefined while missing). */
  sources: (string | undefined)[]
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

  /** Copy a block in; returns the piece it belongs to. */
  add(index: number, begin: number, block: Uint8Array, source: string, pieceSize: number): AssemblingPiece {
    let piece = this.#pieces.get(index)
    if (piece === undefined) {
      piece = {
        index,
        data: (pieceSize === this.#pieceLength ? this.#pool.pop() : undefined) ?? allocPieceBuffer(pieceSize),
        sources: new Array<string | undefined>(Math.ceil(pieceSize / this.#blockSize)),
      }
      this.#pieces.set(index, piece)
    }
    piece.data.set(block, begin)
    piece.sources[begin / this.#blockSize] = source
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
