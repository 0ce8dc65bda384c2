import { describe, expect, it } from 'vitest'
import { evaluateConditions, rangeApplies } from './conditional.js'

const v = { etag: '"abc"', lastModifiedMs: Date.parse('2026-01-01T00:00:00Z') }

describe('conditional requests (RFC 9110 §13)', () => {
  it('If-Match needs a strong match or *, else 412', () => {
    expect(evaluateConditions({ 'if-match': '"abc"' }, 'GET', v)).toBe('proceed')
    expect(evaluateConditions({ 'if-match': '"x", "abc"' }, 'GET', v)).toBe('proceed')
    expect(evaluateConditions({ 'if-match': '*' }, 'GET', v)).toBe('proceed')
    expect(evaluateConditions({ 'if-match': 'W/"abc"' }, 'GET', v)).toBe('precondition-failed')
    expect(evaluateConditions({ 'if-match': '"x"' }, 'GET', v)).toBe('precondition-failed')
  })

  it('If-Unmodified-Since fails for a later modification, and is ignored under If-Match', () => {
    expect(evaluateConditions({ 'if-unmodified-since': 'Wed, 31 Dec 2025 00:00:00 GMT' }, 'GET', v)).toBe('precondition-failed')
    expect(evaluateConditions({ 'if-unmodified-since': 'Fri, 02 Jan 2026 00:00:00 GMT' }, 'GET', v)).toBe('proceed')
    expect(evaluateConditions({ 'if-match': '"abc"', 'if-unmodified-since': 'Wed, 31 Dec 2025 00:00:00 GMT' }, 'GET', v)).toBe('proceed')
    expect(evaluateConditions({ 'if-unmodified-since': 'Wed, 31 Dec 2025 00:00:00 GMT' }, 'GET', { etag: '"abc"' })).toBe('proceed')
  })

  it('If-None-Match matches weakly: 304 for GET/HEAD, and wins over If-Modified-Since', () => {
    expect(evaluateConditions({ 'if-none-match': 'W/"abc"' }, 'GET', v)).toBe('not-modified')
    expect(evaluateConditions({ 'if-none-match': '"abc"' }, 'HEAD', v)).toBe('not-modified')
    expect(evaluateConditions({ 'if-none-match': '"x"', 'if-modified-since': 'Fri, 02 Jan 2026 00:00:00 GMT' }, 'GET', v)).toBe('proceed')
    expect(evaluateConditions({ 'if-modified-since': 'Fri, 02 Jan 2026 00:00:00 GMT' }, 'GET', v)).toBe('not-modified')
    expect(evaluateConditions({ 'if-modified-since': 'Wed, 31 Dec 2025 00:00:00 GMT' }, 'GET', v)).toBe('proceed')
  })

  it('If-Range keeps the range only for the current strong tag or exact date', () => {
    expect(rangeApplies({}, v)).toBe(true)
    expect(rangeApplies({ 'if-range': '"abc"' }, v)).toBe(true)
    expect(rangeApplies({ 'if-range': '"old"' }, v)).toBe(false)
    expect(rangeApplies({ 'if-range': 'W/"abc"' }, v)).toBe(false)
    expect(rangeApplies({ 'if-range': 'Thu, 01 Jan 2026 00:00:00 GMT' }, v)).toBe(true)
    expect(rangeApplies({ 'if-range': 'Fri, 02 Jan 2026 00:00:00 GMT' }, v)).toBe(false)
  })
})
