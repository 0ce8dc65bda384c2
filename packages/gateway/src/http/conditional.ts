/**
 * Conditional requests (RFC 9110 §13): evaluated in the order of §13.2.2 — If-Match, then
 * If-Unmodified-Since (only without If-Match), then If-None-Match, then If-Modified-Since (GET/HEAD
 * only without If-None-Match); If-Range decides whether a Range applies.
 */

export interface Validators {
  /** Strong entity tag, quoted (`"abc"`). */
  etag: string
  /** Last modification, ms since the epoch, when known. */
  lastModifiedMs?: number
}

export type ConditionResult = 'proceed' | 'not-modified' | 'precondition-failed'

type Headers = Record<string, string | string[] | undefined>

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v.join(', ') : v)

/** Entity tags in a list header; `*` is returned as itself. */
function tags(value: string): string[] {
  return value.split(',').map((t) => t.trim()).filter((t) => t.length > 0)
}

const strongMatch = (a: string, b: string): boolean => !a.startsWith('W/') && !b.startsWith('W/') && a === b
const weakMatch = (a: string, b: string): boolean => a.replace(/^W\//, '') === b.replace(/^W\//, '')

function parseDate(v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const t = Date.parse(v)
  return Number.isNaN(t) ? undefined : t
}

/**
 * @example
 * evaluateConditions({ 'if-none-match': '"x"' }, 'GET', { etag: '"x"' }) // 'not-modified'
 */
export function evaluateConditions(headers: Headers, method: string, v: Validators): ConditionResult {
  const ifMatch = one(headers['if-match'])
  if (ifMatch !== undefined) {
    const list = tags(ifMatch)
    if (!list.includes('*') && !list.some((t) => strongMatch(t, v.etag))) return 'precondition-failed'
  } else {
    const since = parseDate(one(headers['if-unmodified-since']))
    // without a modification date the condition cannot be evaluated and is ignored (§13.1.4)
    if (since !== undefined && v.lastModifiedMs !== undefined && Math.floor(v.lastModifiedMs / 1000) > Math.floor(since / 1000)) return 'precondition-failed'
  }
  const ifNoneMatch = one(headers['if-none-match'])
  const safe = method === 'GET' || method === 'HEAD'
  if (ifNoneMatch !== undefined) {
    const list = tags(ifNoneMatch)
    if (list.includes('*') || list.some((t) => weakMatch(t, v.etag))) return safe ? 'not-modified' : 'precondition-failed'
  } else if (safe) {
    const since = parseDate(one(headers['if-modified-since']))
    if (since !== undefined && v.lastModifiedMs !== undefined && Math.floor(v.lastModifiedMs / 1000) <= Math.floor(since / 1000)) return 'not-modified'
  }
  return 'proceed'
}

/**
 * True when a Range header should be honoured: no If-Range, or one naming the current
 * representation (a strong tag, or an HTTP date equal to Last-Modified) (§13.1.5).
 */
export function rangeApplies(headers: Headers, v: Validators): boolean {
  const ifRange = one(headers['if-range'])?.trim()
  if (ifRange === undefined) return true
  if (ifRange.startsWith('"') || ifRange.startsWith('W/')) return strongMatch(ifRange, v.etag)
  const t = parseDate(ifRange)
  return t !== undefined && v.lastModifiedMs !== undefined && Math.floor(t / 1000) === Math.floor(v.lastModifiedMs / 1000)
}
