/**
 * Errors of the SDK. An API's error answer (`{ code, message }`) becomes a `BitcdnApiError` that
 * carries the server's own `BITCDN_ERR_*` code, its HTTP status and the operation; the SDK's own
 * codes cover what the server could not say (unreachable, an error status without a code, a body
 * that is not what its OpenAPI document promises, bad arguments). Documented under `## sdk` in
 * docs/errors.md.
 */
import { BitcdnError, errorFactory } from '@bitcdn/core'

export const SdkErrorCode = {
  /** The server did not answer (refused, reset, DNS, timeout, aborted). */
  unreachable: 'BITCDN_ERR_SDK_UNREACHABLE',
  /** An error status whose body carries no BITCDN_ERR_* code (a proxy's page, a bare 416). */
  httpStatus: 'BITCDN_ERR_SDK_HTTP_STATUS',
  /** A success answer whose body is not what the API's document says. */
  badResponse: 'BITCDN_ERR_SDK_BAD_RESPONSE',
  /** An argument the SDK refuses before asking any server. */
  invalidArgument: 'BITCDN_ERR_SDK_INVALID_ARGUMENT',
  /** A paid download made no progress for its stall timeout. */
  downloadStalled: 'BITCDN_ERR_SDK_DOWNLOAD_STALLED',
} as const

export type SdkErrorCode = (typeof SdkErrorCode)[keyof typeof SdkErrorCode]

/** @example throw sdkError('invalidArgument', 'infoHash must be 40 hex digits') */
export const sdkError = errorFactory(SdkErrorCode)

/** Which API answered. */
export type ApiName = 'hub' | 'gateway' | 'node-admin'

/**
 * An error answer of a BitCDN API: `code` is the server's `BITCDN_ERR_*` code (or
 * `BITCDN_ERR_SDK_HTTP_STATUS` when it sent none), `status` its HTTP status.
 * @example
 * try { await hub.node(addr) } catch (err) { if (hasCode(err, 'BITCDN_ERR_HUB_NODE_UNKNOWN')) ... }
 */
export class BitcdnApiError extends BitcdnError {
  override readonly name = 'BitcdnApiError'
  readonly status: number
  readonly api: ApiName
  /** `GET /api/v1/nodes/{payee}` */
  readonly operation: string

  constructor(code: string, message: string, init: { status: number; api: ApiName; operation: string }) {
    super(code, message, { details: { status: init.status, api: init.api, operation: init.operation } })
    this.status = init.status
    this.api = init.api
    this.operation = init.operation
  }
}

const CODE = /^BITCDN_ERR_[A-Z0-9_]+$/

/**
 * The typed error for an error answer with body `body` (parsed JSON, text or nothing).
 * @example throw apiError('hub', 'GET /api/v1/info', 503, { code: 'BITCDN_ERR_HUB_STORE', message: 'db down' })
 */
export function apiError(api: ApiName, operation: string, status: number, body: unknown): BitcdnApiError {
  const b = (typeof body === 'object' && body !== null ? body : {}) as { code?: unknown; message?: unknown }
  const code = typeof b.code === 'string' && CODE.test(b.code) ? b.code : SdkErrorCode.httpStatus
  const message = typeof b.message === 'string' && b.message !== '' ? b.message.slice(0, 500) : `${api} answered ${status} to ${operation}`
  return new BitcdnApiError(code, `${api}: ${message}`, { status, api, operation })
}
