import { describe, expect, it } from 'vitest'
import { lookupSourceOf, sourceBudgets } from './peer-source.js'

describe('lookupSourceOf (whose new-payer lookup budget a connection spends)', () => {
  it('an IPv4 connection spends its address, however it is written', () => {
    expect(lookupSourceOf('203.0.113.7:6881')).toBe('203.0.113.7')
    // a dual-stack listener sees IPv4 peers mapped into IPv6: the same source
    expect(lookupSourceOf('::ffff:203.0.113.7:51413')).toBe('203.0.113.7')
    expect(lookupSourceOf('[::ffff:203.0.113.7]:51413')).toBe('203.0.113.7')
    expect(lookupSourceOf('0:0:0:0:0:ffff:cb00:7107:1')).toBe('203.0.113.7')
    expect(lookupSourceOf('127.0.0.2:40000')).not.toBe(lookupSourceOf('127.0.0.1:40000'))
  })

  it('every address of one IPv6 /64 spends one budget; another /64 its own', () => {
    const one = ['2001:db8:1:2::1:6881', '2001:db8:1:2:ffff:ffff:ffff:ffff:6881', '[2001:0db8:0001:0002:abcd::9]:1', '2001:db8:1:2::203.0.113.7:5', 'fe80::1%eth0:6881']
    expect(new Set(one.slice(0, 4).map(lookupSourceOf))).toEqual(new Set(['2001:db8:1:2::/64']))
    expect(lookupSourceOf(one[4]!)).toBe('fe80:0:0:0::/64')
    expect(lookupSourceOf('2001:db8:1:3::1:6881')).toBe('2001:db8:1:3::/64')
    expect(lookupSourceOf('::1:6881')).toBe('0:0:0:0::/64')
  })

  it('an id that is no address is its own source (never throws)', () => {
    expect(lookupSourceOf('unknown:0')).toBe('unknown')
    expect(lookupSourceOf('')).toBe('')
    expect(lookupSourceOf('::::::::::')).toBe(':::::::::')
  })
})

describe('sourceBudgets', () => {
  it('gives each source its burst (one /64 shares one), and forgets the oldest source past the bound', () => {
    const b = sourceBudgets({ burst: 2, ratePerSecond: 0.001, maxSources: 2 })
    expect([b.take('2001:db8:1:2::1:6881'), b.take('2001:db8:1:2::9:6881'), b.take('2001:db8:1:2::7:1')]).toEqual([true, true, false])
    expect(b.take('203.0.113.7:1')).toBe(true)
    // a third source pushes out the first, which then starts afresh
    expect(b.take('198.51.100.1:1')).toBe(true)
    expect(b.take('2001:db8:1:2::1:6881')).toBe(true)
  })
})
