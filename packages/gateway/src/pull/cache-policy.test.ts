import { describe, expect, it } from 'vitest'
import { freshnessLifetimeS, isStorable, mustRevalidate, parseCacheControl, varyNames } from './cache-policy.js'

describe('cache policy (RFC 9111)', () => {
  it('parses directives with and without values', () => {
    const d = parseCacheControl('public, max-age=60, s-maxage="120", No-Store')
    expect(d.get('max-age')).toBe('60')
    expect(d.get('s-maxage')).toBe('120')
    expect(d.get('no-store')).toBe(true)
    expect(d.get('public')).toBe(true)
  })

  it('never stores no-store, private, Vary: *, Set-Cookie, non-200 or non-GET responses', () => {
    expect(isStorable('GET', {}, 200, { 'cache-control': 'max-age=60' })).toBe(true)
    expect(isStorable('GET', {}, 200, { 'cache-control': 'no-store' })).toBe(false)
    expect(isStorable('GET', {}, 200, { 'cache-control': 'private, max-age=60' })).toBe(false)
    expect(isStorable('GET', { 'cache-control': 'no-store' }, 200, {})).toBe(false)
    expect(isStorable('GET', {}, 200, { vary: '*' })).toBe(false)
    expect(isStorable('GET', {}, 200, { 'set-cookie': ['a=b'] })).toBe(false)
    expect(isStorable('GET', {}, 206, {})).toBe(false)
    expect(isStorable('POST', {}, 200, {})).toBe(false)
    expect(isStorable('GET', { authorization: 'Bearer x' }, 200, { 'cache-control': 'max-age=60' })).toBe(false)
    expect(isStorable('GET', { authorization: 'Bearer x' }, 200, { 'cache-control': 'public, max-age=60' })).toBe(true)
  })

  it('takes the lifetime from s-maxage, then max-age, Expires, a Last-Modified heuristic; no-cache is 0', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(freshnessLifetimeS({ 'cache-control': 'max-age=60, s-maxage=300' }, now)).toBe(300)
    expect(freshnessLifetimeS({ 'cache-control': 'max-age=60' }, now)).toBe(60)
    expect(freshnessLifetimeS({ 'cache-control': 'no-cache, max-age=60' }, now)).toBe(0)
    expect(freshnessLifetimeS({ date: new Date(now).toUTCString(), expires: new Date(now + 90_000).toUTCString() }, now)).toBe(90)
    expect(freshnessLifetimeS({ date: new Date(now).toUTCString(), 'last-modified': new Date(now - 1_000_000).toUTCString() }, now)).toBe(100)
    expect(freshnessLifetimeS({}, now)).toBe(0)
    expect(mustRevalidate({ 'cache-control': 'max-age=5, must-revalidate' })).toBe(true)
    expect(mustRevalidate({ 'cache-control': 'max-age=5' })).toBe(false)
  })

  it('lists Vary names lowercased and sorted', () => {
    expect(varyNames({ vary: 'Accept-Encoding, Accept-Language' })).toEqual(['accept-encoding', 'accept-language'])
    expect(varyNames({})).toEqual([])
  })
})
