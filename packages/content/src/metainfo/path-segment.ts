/**
 * Safety rules for names and path segments that end up as file names on disk. A torrent is
 * untrusted input: a segment like "..", an empty segment or an embedded separator would let it
 * write outside the download directory (path traversal), so such torrents are refused outright
 * rather than "cleaned", which would silently change where data lands.
 */

/**
 * Why `segment` is unsafe as one component of a relative path, or undefined if it is safe.
 * @example
 * unsafeSegmentReason('..') // 'is ".." (path traversal)'
 */
export function unsafeSegmentReason(segment: string): string | undefined {
  if (segment.length === 0) return 'is empty'
  if (segment === '.' || segment === '..') return `is "${segment}" (path traversal)`
  if (segment.includes('/')) return 'contains "/"'
  // A backslash is a separator on Windows: the same torrent must be safe on every platform.
  if (segment.includes('\\')) return 'contains "\\"'
  if (segment.includes('\0')) return 'contains a NUL byte'
  return undefined
}
