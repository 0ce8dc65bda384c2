import { describe, expect, it } from 'vitest'
import { parseRange } from './range.js'

describe('parseRange (RFC 9110 §14)', () => {
  it('reads single, open-ended and suffix ranges, clamped to the size', () => {
    expect(parseRange('bytes=0-99', 1000)).toEqual({ kind: 'partial', start: 0, end: 99 })
    expect(parseRange('bytes=990-', 1000)).toEqual({ kind: 'partial', start: 990, end: 999 })
    expect(parseRange('bytes=-10', 1000)).toEqual({ kind: 'partial', start: 990, end: 999 })
    expect(parseRange('bytes=-5000', 1000)).toEqual({ kind: 'partial', start: 0, end: 999 })
    expect(parseRange('bytes=500-5000', 1000)).toEqual({ kind: 'partial', start: 500, end: 999 })
    expect(parseRange(' Bytes = 1-2', 1000)).toEqual({ kind: 'partial', start: 1, end: 2 })
  })

  it('answers unsatisfiable sets with 416 and ignores malformed headers or other units', () => {
    expect(parseRange('bytes=1000-', 1000)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRange('bytes=-0', 1000)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRange('bytes=0-0', 0)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRange('bytes=5-1', 1000)).toEqual({ kind: 'full' })
    expect(parseRange('bytes=abc', 1000)).toEqual({ kind: 'full' })
    expect(parseRange('items=0-1', 1000)).toEqual({ kind: 'full' })
    expect(parseRange(undefined, 1000)).toEqual({ kind: 'full' })
  })

  it('answers several satisfiable ranges with the whole representation', () => {
    expect(parseRange('bytes=0-1,5-6', 1000)).toEqual({ kind: 'full' })
    // one satisfiable among unsatisfiable ones is just that one
    expect(parseRange('bytes=0-1,5000-6000', 1000)).toEqual({ kind: 'partial', start: 0, end: 1 })
  })
})
