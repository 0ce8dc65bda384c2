import { describe, expect, it } from 'vitest'
import { PiecePicker, BLOCK_SIZE } from './piece-picker.js'

/**
 * Build a picker from libtorrent-style strings: `availability` has one digit per piece;
 * `have` marks pieces we already have with '1'. Pieces are 4 blocks of 16 KiB.
 */
function setup(availability: string, opts: { have?: string; priority?: string } = {}): PiecePicker {
  const n = availability.length
  let seed = 1
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647)
  const picker = new PiecePicker({ pieceCount: n, pieceLength: 4 * BLOCK_SIZE, length: n * 4 * BLOCK_SIZE, random })
  for (let i = 0; i < n; i++) for (let k = 0; k < Number(availability[i]); k++) picker.incAvailability(i)
  if (opts.have) for (let i = 0; i < n; i++) if (opts.have[i] === '1') picker.setHave(i)
  if (opts.priority) for (let i = 0; i < n; i++) picker.setPriority(i, Number(opts.priority[i]))
  return picker
}

const all = (id = 'p') => ({ id, has: () => true })
const only = (pieces: number[], id = 'p') => ({ id, has: (i: number) => pieces.includes(i) })
const pieces = (refs: { index: number }[]) => [...new Set(refs.map((r) => r.index))]

describe('PiecePicker', () => {
  it('picks the rarest piece first', () => {
    const p = setup('2223333')
    expect(pieces(p.pick(all(), { max: 4 }))).toHaveLength(1)
    expect(pieces(p.pick(all('q'), { max: 8 })).every((i) => i < 3)).toBe(true)
  })

  it('breaks availability ties at random but picks every piece exactly once', () => {
    const p = setup('1111111')
    const seen = pieces(p.pick(all(), { max: 28, endgame: false }))
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(pieces(setup('1111111').pick(all(), { max: 4 }))[0]).not.toBe(undefined)
  })

  it('finishes a started piece before starting another', () => {
    const p = setup('1111')
    const first = p.pick(all('a'), { max: 2 })
    expect(pieces(p.pick(all('a'), { max: 2 }))).toEqual(pieces(first))
  })

  it('leaves a piece to the peer that started it while other pieces remain', () => {
    const p = setup('11')
    const a = p.pick(all('a'), { max: 2 })
    const b = p.pick(all('b'), { max: 4 })
    expect(pieces(b)).not.toEqual(pieces(a))
    // nothing unstarted is left: b now helps finish a's piece
    expect(pieces(p.pick(all('b'), { max: 8, endgame: false }))).toEqual(pieces(a))
  })

  it('shares urgent pieces between peers at once', () => {
    const p = setup('11', { priority: '71' })
    const a = p.pick(all('a'), { max: 2 })
    expect(pieces(p.pick(all('b'), { max: 2 }))).toEqual(pieces(a))
  })

  it('only picks pieces the peer has and skips pieces we have', () => {
    const p = setup('1111', { have: '0100' })
    expect(pieces(p.pick(only([1, 2]), { max: 100 }))).toEqual([2])
  })

  it('puts higher priority before rarity and partial pieces, and skips priority 0', () => {
    const p = setup('1119', { priority: '1107' })
    p.pick(all('a'), { max: 1 }) // starts piece 3 (priority 7)
    const refs = p.pick(all('b'), { max: 100, endgame: false })
    expect(refs[0]!.index).toBe(3)
    expect(pieces(refs)).not.toContain(2)
    expect(p.pick(all('c'), { max: 100, endgame: false })).toHaveLength(0)
  })

  it('enters endgame when everything is requested and hands duplicates to a second peer', () => {
    const p = setup('22')
    const a = p.pick(all('a'), { max: 100 })
    expect(a).toHaveLength(8)
    expect(p.inEndgame).toBe(true)
    const b = p.pick(all('b'), { max: 100, endgameMax: 100 })
    expect(b).toHaveLength(8)
    expect(p.pick(all('c'), { max: 100, endgameMax: 100 })).toHaveLength(0) // two requesters are enough
    const r = p.received(0, 0, 'b')
    expect(r).toEqual({ accepted: true, others: ['a'], pieceComplete: false })
    expect(p.received(0, 0, 'a').accepted).toBe(false)
  })

  it('hands out endgame duplicates in small rounds (default 4) so seeders send little twice', () => {
    const p = setup('22')
    p.pick(all('a'), { max: 100 })
    expect(p.pick(all('b'), { max: 100 })).toHaveLength(4)
    expect(p.pick(all('b'), { max: 100 })).toHaveLength(4)
    expect(p.pick(all('b'), { max: 100 })).toHaveLength(0)
  })

  it('reports a complete piece and becomes done after setHave', () => {
    const p = setup('1')
    const refs = p.pick(all(), { max: 10 })
    const results = refs.map((r) => p.received(r.index, r.begin, 'p'))
    expect(results.at(-1)!.pieceComplete).toBe(true)
    p.setHave(0)
    expect(p.isDone).toBe(true)
    expect(p.isSeed).toBe(true)
  })

  it('returns a released peer\'s blocks to the pool', () => {
    const p = setup('11')
    p.pick(all('a'), { max: 8 })
    expect(p.pick(all('b'), { max: 8, endgame: false })).toHaveLength(0)
    p.releasePeer('a')
    expect(p.pick(all('b'), { max: 8 })).toHaveLength(8)
  })

  it('refetches a failed piece whole from one peer, avoiding the suspects', () => {
    const p = setup('3')
    for (const r of p.pick(all('bad'), { max: 4 })) p.received(r.index, r.begin, 'bad')
    p.pieceFailed(0, ['bad'])
    expect(p.pick(all('bad'), { max: 4 })).toHaveLength(0)
    expect(p.pick(all('good'), { max: 2 })).toHaveLength(2)
    expect(p.pick(all('other'), { max: 4 })).toHaveLength(0) // whole piece from one peer
    expect(p.pick(all('good'), { max: 4 })).toHaveLength(2)
  })

  it('handles a short last piece and validates block refs', () => {
    const p = new PiecePicker({ pieceCount: 2, pieceLength: 32768, length: 32768 + 100 })
    expect(p.blockCount(1)).toBe(1)
    expect(p.isValidBlock({ index: 1, begin: 0, length: 100 })).toBe(true)
    expect(p.isValidBlock({ index: 1, begin: 0, length: 16384 })).toBe(false)
    expect(p.isValidBlock({ index: 2, begin: 0, length: 100 })).toBe(false)
    expect(p.isValidBlock({ index: 0, begin: 1, length: 16384 })).toBe(false)
  })

  it('counts seeds without touching every piece', () => {
    const p = setup('0120')
    p.addSeed()
    expect(p.availability(0)).toBe(1)
    expect(p.availability(2)).toBe(3)
  })

  it('starts pieces in index order from sequentialFrom, wrapping, skipping what is had or filtered', () => {
    const p = setup('31111111', { have: '00010000' })
    expect(pieces(p.pick(all('w'), { max: 12, sequentialFrom: 2, filter: (i) => i !== 5 }))).toEqual([2, 4, 6])
    expect(pieces(p.pick(all('w'), { max: 100, sequentialFrom: 7, endgame: false }))).toEqual([7, 0, 1, 5])
  })

  it('still serves higher priority first when picking sequentially', () => {
    const p = setup('1111', { priority: '1171' })
    expect(pieces(p.pick(all('w'), { max: 8, sequentialFrom: 0 }))).toEqual([2, 0])
  })

  it('gives a timed-out block to another peer at once, dropping the staller\'s affinity', () => {
    const p = setup('11')
    const a = p.pick(all('a'), { max: 4 })
    const held = a[1]!
    p.timedOut(held.index, held.begin, 'a')
    // b would otherwise leave a's piece alone while the other piece is unstarted
    const b = p.pick(all('b'), { max: 1 })
    expect(b).toEqual([held])
  })

  it('clearHave makes an evicted piece wanted and pickable again (on-demand caches)', () => {
    const p = new PiecePicker({ pieceCount: 3, pieceLength: BLOCK_SIZE, length: 3 * BLOCK_SIZE })
    for (let i = 0; i < 3; i++) p.setPriority(i, 0)
    p.setPriority(1, 7)
    p.setHave(1)
    expect(p.isDone).toBe(true)
    p.clearHave(1)
    expect(p.has(1)).toBe(false)
    expect(p.isDone).toBe(false)
    p.addSeed()
    expect(p.pick({ id: 'a', has: () => true }, { max: 4 }).map((b) => b.index)).toEqual([1])
  })
})
