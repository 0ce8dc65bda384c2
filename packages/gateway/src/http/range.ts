/**
 * The `Range` header (RFC 9110 §14.1.2) for one representation of `size` bytes. Single ranges
 * (`a-b`, open-ended `a-`, suffix `-n`) are served as 206; several ranges are answered with the
 * whole representation (a 200, which §14.2 allows: a server may ignore `Range`); a syntactically
 * valid set with nothing satisfiable is a 416.
 */

export type RangeResult =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' }

const SPEC = /^(\d*)-(\d*)$/

/**
 * @example
 * parseRange('bytes=0-99', 1000) // { kind: 'partial', start: 0, end: 99 }
 * parseRange('bytes=-10', 1000)  // { kind: 'partial', start: 990, end: 999 }
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'full' }
  const eq = header.indexOf('=')
  // an unknown unit or a malformed header is ignored (§14.2), not an error
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'full' }
  const specs = header.slice(eq + 1).split(',').map((s) => s.trim()).filter((s) => s.length > 0)
  if (specs.length === 0 || specs.length > 100) return { kind: 'full' }
  const satisfiable: Array<{ start: number; end: number }> = []
  for (const spec of specs) {
    const m = SPEC.exec(spec)
    if (m === null || (m[1] === '' && m[2] === '')) return { kind: 'full' }
    if (m[1] === '') {
      const n = Number(m[2])
      if (n === 0 || size === 0) continue
      satisfiable.push({ start: Math.max(0, size - n), end: size - 1 })
      continue
    }
    const start = Number(m[1])
    const end = m[2] === '' ? size - 1 : Number(m[2])
    if (m[2] !== '' && end < start) return { kind: 'full' }
    if (start >= size) continue
    satisfiable.push({ start, end: Math.min(end, size - 1) })
  }
  if (satisfiable.length === 0) return { kind: 'unsatisfiable' }
  if (satisfiable.length > 1) return { kind: 'full' }
  return { kind: 'partial', ...satisfiable[0]! }
}
