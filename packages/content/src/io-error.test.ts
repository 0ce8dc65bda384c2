import { BitcdnError } from '@bitcdn/core'
import { describe, expect, it } from 'vitest'
import { toIoError } from './io-error.js'

const sysErr = (code: string) => Object.assign(new Error(`${code}: boom`), { code })

describe('toIoError', () => {
  it.each([
    ['ENOSPC', 'BITCDN_ERR_DISK_FULL'],
    ['EDQUOT', 'BITCDN_ERR_DISK_FULL'],
    ['ENOENT', 'BITCDN_ERR_FILE_NOT_FOUND'],
    ['EACCES', 'BITCDN_ERR_STORAGE_IO'],
    ['EROFS', 'BITCDN_ERR_STORAGE_IO'],
    ['EIO', 'BITCDN_ERR_STORAGE_IO'],
  ])('maps %s to %s, keeping the cause and the path', (errno, code) => {
    const cause = sysErr(errno)
    const err = toIoError(cause, 'write', '/data/x')
    expect(err).toMatchObject({ code, cause, details: { path: '/data/x', errno } })
    expect(err.message).toContain('/data/x')
  })
  it('passes BitCDN errors through', () => {
    const e = new BitcdnError('BITCDN_ERR_X', 'x')
    expect(toIoError(e, 'read', '/p')).toBe(e)
  })
})
