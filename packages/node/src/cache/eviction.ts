/**
 * Which cached content to evict to fit the storage quota: pure, no I/O. Pinned content and
 * content seeded in place are never evicted. Among the rest the least valuable goes first: least
 * earned per byte stored, then least served per byte, then served longest ago.
 */

/** What eviction needs of one torrent. */
export interface EvictionCandidate {
  infoHash: string
  bytes: number
  pinned: boolean
  inPlace: boolean
  bytesServed: number
  earnedUnits: bigint
  lastServedAtMs: number
}

/** Bytes a torrent counts against the quota (in-place data is not the node's to count). */
export function storedBytes(c: Pick<EvictionCandidate, 'bytes' | 'inPlace'>): number {
  return c.inPlace ? 0 : c.bytes
}

/**
 * Orders candidates most evictable first. Ratios are compared by cross-multiplying (bigint),
 * so no float rounding decides who goes.
 * @example byValue(a, b) < 0 // a is worth less per byte than b
 */
export function byValue(a: EvictionCandidate, b: EvictionCandidate): number {
  const ab = BigInt(Math.max(a.bytes, 1))
  const bb = BigInt(Math.max(b.bytes, 1))
  const earned = a.earnedUnits * bb - b.earnedUnits * ab
  if (earned !== 0n) return earned < 0n ? -1 : 1
  const served = BigInt(a.bytesServed) * bb - BigInt(b.bytesServed) * ab
  if (served !== 0n) return served < 0n ? -1 : 1
  return a.lastServedAtMs - b.lastServedAtMs
}

/**
 * The torrents to evict so that `incomingBytes` more fit in `quotaBytes`, least valuable first;
 * `undefined` when even evicting every cached torrent would not make room.
 * @example
 * planEviction(rows, 50 * 2 ** 30, metainfo.length) // ['ab12…'] or undefined
 */
export function planEviction(all: readonly EvictionCandidate[], quotaBytes: number, incomingBytes = 0): string[] | undefined {
  let used = all.reduce((sum, c) => sum + storedBytes(c), 0) + incomingBytes
  if (used <= quotaBytes) return []
  const victims: string[] = []
  for (const c of all.filter((x) => !x.pinned && !x.inPlace).sort(byValue)) {
    victims.push(c.infoHash)
    used -= c.bytes
    if (used <= quotaBytes) return victims
  }
  return undefined
}
