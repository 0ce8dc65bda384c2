/**
 * The one place an openapi-fetch call becomes a value or a typed error: network failures are
 * `BITCDN_ERR_SDK_UNREACHABLE`, error answers `BitcdnApiError` with the server's code.
 */
import { apiError, sdkError, type ApiName } from '../errors.js'

interface Answer {
  data?: unknown
  error?: unknown
  response: Response
}

/**
 * Awaits one openapi-fetch call and returns its data, or throws.
 * @throws BitcdnApiError (the server's code), BitcdnError BITCDN_ERR_SDK_UNREACHABLE
 * @example const info = await call('hub', 'GET /api/v1/info', api.GET('/api/v1/info'))
 */
export async function call<R extends Answer>(api: ApiName, operation: string, pending: Promise<R>): Promise<Exclude<R['data'], undefined>> {
  let r: R
  try {
    r = await pending
  } catch (cause) {
    throw unreachable(api, operation, cause)
  }
  if (!r.response.ok) throw apiError(api, operation, r.response.status, r.error)
  return r.data as Exclude<R['data'], undefined>
}

/**
 * The error for a request that got no answer (the signal's reason when it was aborted).
 * @example throw unreachable('gateway', 'GET /t/{infohash}', err)
 */
export function unreachable(api: ApiName, operation: string, cause: unknown): Error {
  if (cause instanceof Error && (cause.name === 'AbortError' || cause.name === 'TimeoutError')) return cause
  const reason = cause instanceof Error ? ((cause.cause as Error | undefined)?.message ?? cause.message) : String(cause)
  return sdkError('unreachable', `${api} unreachable (${operation}): ${reason}`, { api, operation }, cause)
}
