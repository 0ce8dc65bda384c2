/**
 * Signed URLs (CDN token authentication): `?expires=<unix s>&scope=<path prefix>&sig=<base64url>`
 * where `sig = HMAC-SHA256(key, scope + "\n" + expires)`. A token is valid until `expires` for
 * every path under `scope`, so one token can cover a whole torrent (`/t/<infohash>/`).
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { gatewayError } from './errors.js'

/**
 * @example
 * const q = signUrl(key, '/t/abc.../', Math.floor(Date.now() / 1000) + 3600)
 * fetch(`${base}/t/abc.../video.mp4?${q}`)
 */
export function signUrl(key: string, scope: string, expiresS: number): string {
  const sig = createHmac('sha256', key).update(`${scope}\n${expiresS}`).digest('base64url')
  return new URLSearchParams({ expires: String(expiresS), scope, sig }).toString()
}

/**
 * @throws BitcdnError `BITCDN_ERR_GATEWAY_TOKEN` when missing, malformed, expired, out of scope or forged.
 */
export function checkSignedUrl(key: string, url: string, nowMs: number): void {
  const q = url.indexOf('?')
  const path = q < 0 ? url : url.slice(0, q)
  const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1))
  const expires = params.get('expires')
  const scope = params.get('scope')
  const sig = params.get('sig')
  if (expires === null || scope === null || sig === null || !/^\d{1,12}$/.test(expires)) throw gatewayError('tokenInvalid', 'a signed URL token (expires, scope, sig) is required')
  if (Number(expires) * 1000 < nowMs) throw gatewayError('tokenInvalid', `the URL token expired at ${new Date(Number(expires) * 1000).toISOString()}`)
  let decodedPath: string
  try {
    decodedPath = decodeURIComponent(path)
  } catch {
    throw gatewayError('tokenInvalid', 'the URL path is not valid percent-encoding')
  }
  if (!decodedPath.startsWith(scope) || scope.includes('..')) throw gatewayError('tokenInvalid', `the URL token covers ${scope}, not ${decodedPath}`)
  const want = createHmac('sha256', key).update(`${scope}\n${expires}`).digest()
  const got = Buffer.from(sig, 'base64url')
  if (got.length !== want.length || !timingSafeEqual(got, want)) throw gatewayError('tokenInvalid', 'the URL token signature does not match')
}
