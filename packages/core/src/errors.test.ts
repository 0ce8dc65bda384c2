import { describe, expect, it } from 'vitest'
import { BitcdnError, describeError, errorFactory, hasCode } from './errors.js'

describe('BitcdnError', () => {
  it('carries a stable code, details and cause that callers can check', () => {
    const cause = new Error('ENOENT')
    const err = new BitcdnError('BITCDN_ERR_X', 'file missing', { cause, details: { path: '/a' } })
    expect(hasCode(err, 'BITCDN_ERR_X')).toBe(true)
    expect(hasCode(err, 'BITCDN_ERR_Y')).toBe(false)
    expect(err.cause).toBe(cause)
    expect(err.details).toEqual({ path: '/a' })
    expect(describeError(err)).toBe('file missing')
    expect(err.docsPath).toBe('docs/errors.md#bitcdn_err_x')
  })
  it('describes non-errors as strings', () => {
    expect(describeError(42)).toBe('42')
    expect(hasCode(null, 'X')).toBe(false)
  })
})

describe('errorFactory', () => {
  it('builds errors whose code comes from the package table by key', () => {
    const make = errorFactory({ stopped: 'BITCDN_ERR_EXAMPLE_STOPPED' } as const)
    const cause = new Error('socket closed')
    const err = make('stopped', 'the client was stopped', { port: 1 }, cause)
    expect(err).toBeInstanceOf(BitcdnError)
    expect(err.code).toBe('BITCDN_ERR_EXAMPLE_STOPPED')
    expect(err.details).toEqual({ port: 1 })
    expect(err.cause).toBe(cause)
  })
})
