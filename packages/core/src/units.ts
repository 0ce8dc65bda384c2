/**
 * Branded units. Mixing a piece index with a byte count, or token base units with a float, is a
 * bug the compiler should catch. Brands cost nothing at run time.
 */

declare const brand: unique symbol
type Brand<T, B extends string> = T & { readonly [brand]: B }

/** A count of bytes. */
export type Bytes = Brand<number, 'Bytes'>
/** The zero-based index of a piece in a torrent. */
export type PieceIndex = Brand<number, 'PieceIndex'>
/** Token base units (USDC/USDT have 6 decimals: 1 USDC = 1_000_000n). Never a float. */
export type TokenUnits = Brand<bigint, 'TokenUnits'>

/** @example const n = bytes(16384) */
export const bytes = (n: number): Bytes => n as Bytes
/** @example const p = pieceIndex(0) */
export const pieceIndex = (n: number): PieceIndex => n as PieceIndex
/** @example const price = tokenUnits(5_000n) // 0.005 USDC */
export const tokenUnits = (n: bigint): TokenUnits => n as TokenUnits

export const KiB = 1024
export const MiB = 1024 * KiB
export const GiB = 1024 * MiB

/**
 * Human-readable byte count, binary units.
 * @example formatBytes(1536) // '1.5 KiB'
 */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`
}
