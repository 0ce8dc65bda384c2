import { describe, expect, it } from 'vitest'
import { apiError, BitcdnApiError } from './errors.js'

describe('apiError', () => {
  it('carries the server code, status and operation', () => {
    const e = apiError('hub', 'GET /api/v1/nodes/{payee}', 404, { code: 'BITCDN_ERR_HUB_NODE_UNKNOWN', message: 'no node' })
    expect(e).toBeInstanceOf(BitcdnApiError)
    expect([e.code, e.status, e.api, e.operation, e.message]).toEqual(['BITCDN_ERR_HUB_NODE_UNKNOWN', 404, 'hub', 'GET /api/v1/nodes/{payee}', 'hub: no node'])
  })

  it('a body without a BITCDN code (a proxy page, a bare 416) is BITCDN_ERR_SDK_HTTP_STATUS', () => {
    expect(apiError('gateway', 'GET /t/{infohash}', 416, undefined).code).toBe('BITCDN_ERR_SDK_HTTP_STATUS')
    expect(apiError('gateway', 'GET /t/{infohash}', 502, '<html>bad gateway</html>').message).toBe('gateway: gateway answered 502 to GET /t/{infohash}')
  })

  it('a hostile code or a huge message is not passed through as is', () => {
    expect(apiError('hub', 'GET /api/v1/info', 500, { code: 'rm -rf; BITCDN_ERR_X', message: 'm' }).code).toBe('BITCDN_ERR_SDK_HTTP_STATUS')
    expect(apiError('hub', 'GET /api/v1/info', 500, { code: 'BITCDN_ERR_X', message: 'y'.repeat(10_000) }).message.length).toBeLessThan(520)
  })
})
