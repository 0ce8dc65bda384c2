import { describe, expect, it } from 'vitest'
import { bdecode, BencodeSyntaxError } from './bdecode.js'

const b = (s: string) => Buffer.from(s, 'latin1')

describe('bdecode', () => {
  it('decodes nested values and reports spans of top-level values', () => {
    const input = b('d3:fooi-42e4:infod1:al1:xi0eeee')
    const { value, spans } = bdecode(input)
    expect(value).toEqual({ foo: -42, info: { a: [b('x'), 0] } })
    const [start, end] = spans.get('info')!
    expect(input.subarray(start, end).toString('latin1')).toBe('d1:al1:xi0eee')
  })

  it.each([
    ['trailing data', 'i1ei2e'],
    ['a string running past the end', '5:abc'],
    ['a leading zero', 'i01e'],
    ['negative zero', 'i-0e'],
    ['an empty integer', 'ie'],
    ['an unterminated list', 'l1:a'],
    ['an unterminated dictionary', 'd1:ai1e'],
    ['a non-string key', 'di1ei2ee'],
    ['a duplicate key', 'd1:ai1e1:ai2ee'],
    ['an unknown type byte', 'x'],
    ['empty input', ''],
    ['a float', 'i1.5e'],
    ['an integer beyond 2^53', 'i9007199254740993e'],
  ])('rejects %s', (_, input) => {
    expect(() => bdecode(b(input))).toThrow(BencodeSyntaxError)
  })

  it('rejects nesting deep enough to exhaust the stack instead of crashing', () => {
    expect(() => bdecode(b('l'.repeat(100_000) + 'e'.repeat(100_000)))).toThrow(/nesting too deep/)
  })
})
