import { describe, expect, it } from 'vitest'
import { parseConfig } from './load.js'
import { renderConfigTemplate } from './template.js'

const file = '/home/op/.bitcdn/node/config.toml'
const template = renderConfigTemplate({ dataDir: '/srv/bitcdn' })

function codeAndMessage(text: string): { code: string; message: string } {
  try {
    parseConfig(text, file)
  } catch (err) {
    return { code: (err as { code: string }).code, message: (err as Error).message }
  }
  throw new Error('expected a config error')
}

describe('node config', () => {
  it('the template init writes parses to the documented defaults', () => {
    const c = parseConfig(template, file)
    expect(c.dataDir).toBe('/srv/bitcdn')
    expect(c.storageQuotaBytes).toBe(50 * 1024 ** 3)
    expect(c.price.perGiBUnits).toBe(500_000n)
    expect(c.price.softAllowanceUnits).toBe(10_000n)
    expect(c.price.forgiveUnpaidAfterMs).toBe(86_400_000)
    expect(c.free).toEqual({ enabled: false, infoHashes: [] })
    expect(c.cashout.thresholdUnits).toBe(5_000_000n)
    expect(c.cashout.maxAgeMs).toBe(86_400_000)
    expect(c.cashout.gasPriceCapWei).toBeUndefined()
    expect(c.admin).toEqual({ host: '127.0.0.1', port: 8790 })
  })

  it('a bad amount is one line naming the field', () => {
    const e = codeAndMessage(template.replace('per_gib = "0.50"', 'per_gib = "cheap"'))
    expect(e.code).toBe('BITCDN_ERR_CONFIG_INVALID')
    expect(e.message).toContain('price.per_gib')
    expect(e.message).not.toContain('\n')
  })

  it('a typo in a key is an error, not a silent default', () => {
    const e = codeAndMessage(template.replace('max_age_hours', 'max_age_hour'))
    expect(e.code).toBe('BITCDN_ERR_CONFIG_INVALID')
    expect(e.message).toContain('cashout.max_age_hour')
  })

  it('a missing required field is named', () => {
    const e = codeAndMessage(template.replace(/^port = 8790$/m, ''))
    expect(e.code).toBe('BITCDN_ERR_CONFIG_INVALID')
    expect(e.message).toContain('admin.port: missing')
  })

  it('broken TOML gives the line', () => {
    const e = codeAndMessage(template.replace('[listen]', '[listen'))
    expect(e.code).toBe('BITCDN_ERR_CONFIG_SYNTAX')
    expect(e.message).toMatch(/line \d+/)
    expect(e.message).not.toContain('\n')
  })

  it('sizes and amounts take units and decimals exactly', () => {
    const c = parseConfig(template.replace('storage_quota = "50GiB"', 'storage_quota = "512MiB"').replace('per_gib = "0.50"', 'per_gib = "0.000001"'), file)
    expect(c.storageQuotaBytes).toBe(512 * 1024 ** 2)
    expect(c.price.perGiBUnits).toBe(1n)
    expect(codeAndMessage(template.replace('per_gib = "0.50"', 'per_gib = "0.0000001"')).message).toContain('price.per_gib')
  })

  it('the forgiveness period takes hours, 0 or "off" (never), and refuses anything else naming the field', () => {
    const set = (v: string) => template.replace('forgive_unpaid_after_hours = 24', `forgive_unpaid_after_hours = ${v}`)
    expect(parseConfig(set('1.5'), file).price.forgiveUnpaidAfterMs).toBe(5_400_000)
    expect(parseConfig(set('0'), file).price.forgiveUnpaidAfterMs).toBe(0)
    expect(parseConfig(set('"off"'), file).price.forgiveUnpaidAfterMs).toBe(0)
    expect(parseConfig(template.replace(/^forgive_unpaid_after_hours = 24\n/m, ''), file).price.forgiveUnpaidAfterMs).toBe(86_400_000) // absent: the default
    for (const bad of ['-1', '"never"', '"24h"', '100000', 'inf']) {
      const e = codeAndMessage(set(bad))
      expect(e.code, bad).toBe('BITCDN_ERR_CONFIG_INVALID')
      expect(e.message, bad).toContain('price.forgive_unpaid_after_hours')
      expect(e.message, bad).not.toContain('\n')
    }
  })

  it('relative paths are taken from the config file’s folder', () => {
    const c = parseConfig(template.replace('"/srv/bitcdn"', '"data"'), file)
    expect(c.dataDir).toBe('/home/op/.bitcdn/node/data')
  })
})
