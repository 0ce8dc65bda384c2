import { InvalidArgumentError } from 'commander'
import { describe, expect, it } from 'vitest'
import { parseBytes, parsePeer, parsePort, parseSecondsToMs, parseUrl, repeatable } from './option-parsers.js'

describe('option parsers', () => {
  it('accepts ports 0-65535 and nothing else', () => {
    expect(parsePort('0')).toBe(0)
    expect(parsePort('6881')).toBe(6881)
    for (const bad of ['abc', '', '-1', '65536', '1.5']) expect(() => parsePort(bad)).toThrow(InvalidArgumentError)
  })

  it('reads byte counts with binary suffixes', () => {
    expect(parseBytes('262144')).toBe(262_144)
    expect(parseBytes('256KiB')).toBe(262_144)
    expect(parseBytes('1M')).toBe(1024 * 1024)
    expect(parseBytes('2gib')).toBe(2 * 1024 ** 3)
    for (const bad of ['big', '0', '1.5MiB', '-4']) expect(() => parseBytes(bad)).toThrow(InvalidArgumentError)
  })

  it('takes seconds and returns milliseconds', () => {
    expect(parseSecondsToMs('2.5')).toBe(2500)
    expect(() => parseSecondsToMs('0')).toThrow(InvalidArgumentError)
  })

  it('accepts tracker and web seed URLs of the protocols BitTorrent uses', () => {
    expect(parseUrl('udp://127.0.0.1:8000')).toBe('udp://127.0.0.1:8000')
    expect(parseUrl('https://cdn.example.com/files/')).toBe('https://cdn.example.com/files/')
    for (const bad of ['not a url', 'ftp://x/y', '127.0.0.1:8000']) expect(() => parseUrl(bad)).toThrow(InvalidArgumentError)
  })

  it('accepts host:port peers, IPv6 in brackets', () => {
    expect(parsePeer('127.0.0.1:6881')).toBe('127.0.0.1:6881')
    expect(parsePeer('[::1]:6881')).toBe('[::1]:6881')
    for (const bad of ['nohost', '127.0.0.1', '127.0.0.1:99999', ':6881']) expect(() => parsePeer(bad)).toThrow(InvalidArgumentError)
  })

  it('collects a repeated flag into an array', () => {
    const collect = repeatable(parsePort)
    expect(collect('2', collect('1', undefined))).toEqual([1, 2])
  })
})
