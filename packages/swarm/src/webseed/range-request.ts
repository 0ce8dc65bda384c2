/**
 * One HTTP range request to a web seed (RFC 9110 §14), streamed: bytes are handed to `onData` as
 * they arrive, so a 16 MiB range never sits whole in memory. Answers are checked strictly, since
 * the bytes are only hash-verified a whole piece later and a wrong offset would waste it:
 * a 206 must carry exactly the range asked for and the file size we expect; a 200 (the origin
 * ignores `Range`) is read from the start and skipped forward only within `maxSkipBytes`.
 */
import http from 'node:http'
import https from 'node:https'
import { BitcdnError } from '@bitcdn/core'
import { webSeedError } from './errors.js'

export interface RangeRequest {
  url: string
  /** First byte wanted, within the file. */
  start: number
  /** One past the last byte wanted. */
  end: number
  /** The file's size per the torrent: the origin must agree. */
  fileLength: number
  agent?: http.Agent
  /** Abort when no byte arrives for this long, in ms. */
  idleTimeoutMs: number
  /** How far into a file a 200 answer may be read and thrown away to reach `start`, in bytes. */
  maxSkipBytes: number
  /** Redirects followed before giving up. @default 5 */
  maxRedirects?: number
  signal?: AbortSignal
  /** Bytes in order; `fileOffset` is where `chunk` starts within the file. */
  onData(fileOffset: number, chunk: Buffer): void
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/

/**
 * Fetch `[start, end)` of a file, streaming. Resolves once every byte was delivered.
 * @throws BitcdnError `BITCDN_ERR_WEBSEED_UNREACHABLE` (network, timeout),
 *   `BITCDN_ERR_WEBSEED_TLS` (untrusted or invalid certificate, failed TLS handshake),
 *   `BITCDN_ERR_WEBSEED_HTTP_STATUS`, `BITCDN_ERR_WEBSEED_BAD_RESPONSE`,
 *   `BITCDN_ERR_WEBSEED_RANGES_UNSUPPORTED`; or `signal.reason` when aborted.
 * @example
 * await fetchRange({ url, start: 0, end: 65536, fileLength, idleTimeoutMs: 30_000,
 *   maxSkipBytes: 0, onData: (off, chunk) => sink.write(off, chunk) })
 */
export function fetchRange(r: RangeRequest): Promise<void> {
  return fetchOnce(r, r.url, r.maxRedirects ?? 5)
}

function fetchOnce(r: RangeRequest, url: string, redirectsLeft: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const u = new URL(url)
    const mod = u.protocol === 'https:' ? https : http
    let settled = false
    const settle = (err?: unknown): void => {
      if (settled) return
      settled = true
      r.signal?.removeEventListener('abort', onAbort)
      if (err === undefined) resolve()
      else reject(err)
    }
    const details = { url, start: r.start, end: r.end }

    const req = mod.request(u, {
      method: 'GET',
      // a redirect to another origin must not reuse this origin's agent
      agent: url === r.url ? r.agent : undefined,
      headers: {
        range: `bytes=${r.start}-${r.end - 1}`,
        // compressed bodies would make byte offsets meaningless
        'accept-encoding': 'identity',
        'user-agent': 'BitCDN/0.1 (web seed; BEP 19)',
      },
    })
    const onAbort = (): void => {
      req.destroy()
      settle(r.signal?.reason ?? new Error('aborted'))
    }
    if (r.signal?.aborted) return onAbort()
    r.signal?.addEventListener('abort', onAbort, { once: true })

    req.setTimeout(r.idleTimeoutMs, () => {
      req.destroy()
      settle(webSeedError('unreachable', `web seed sent nothing for ${r.idleTimeoutMs} ms: ${url}`, details))
    })
    req.on('error', (err) => {
      const code = (err as NodeJS.ErrnoException).code
      if (u.protocol === 'https:' && isTlsError(code)) {
        settle(webSeedError('tls', `web seed TLS handshake failed (${code}): ${url}: ${err.message}`, { ...details, tlsCode: code }, err))
        return
      }
      settle(webSeedError('unreachable', `web seed unreachable: ${url}: ${err.message}`, details, err))
    })

    req.on('response', (res) => {
      const status = res.statusCode ?? 0
      const fail = (err: BitcdnError): void => {
        // Drain small error bodies so the keep-alive socket can be reused; destroy otherwise.
        if (status >= 400 && Number(res.headers['content-length'] ?? Infinity) <= 64 * 1024) res.resume()
        else req.destroy()
        settle(err)
      }

      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume()
        if (redirectsLeft <= 0) return fail(webSeedError('httpStatus', `web seed redirected too often: ${url}`, { ...details, status }))
        let next: URL
        try {
          next = new URL(res.headers.location, u)
        } catch (cause) {
          return fail(webSeedError('badResponse', `web seed redirected to an invalid URL: ${url}`, details, cause))
        }
        if (next.protocol !== 'http:' && next.protocol !== 'https:') {
          return fail(webSeedError('badResponse', `web seed redirected to a non-http URL: ${next.href}`, details))
        }
        fetchOnce(r, next.href, redirectsLeft - 1).then(() => settle(), settle)
        return
      }
      const encoding = res.headers['content-encoding']
      if (encoding !== undefined && encoding !== 'identity') {
        return fail(webSeedError('badResponse', `web seed sent a ${encoding}-encoded body: ${url}`, details))
      }

      // `skip` bytes are thrown away before `start`; `fileOffset` tracks the first byte of the next chunk
      let skip: number
      if (status === 206) {
        const m = CONTENT_RANGE.exec(String(res.headers['content-range'] ?? ''))
        const total = m?.[3] === '*' ? r.fileLength : Number(m?.[3])
        if (!m || Number(m[1]) !== r.start || Number(m[2]) !== r.end - 1 || total !== r.fileLength) {
          return fail(
            webSeedError('badResponse', `web seed answered the wrong range: asked bytes ${r.start}-${r.end - 1}/${r.fileLength}, got '${res.headers['content-range'] ?? ''}': ${url}`, { ...details, contentRange: res.headers['content-range'] }),
          )
        }
        skip = 0
      } else if (status === 200) {
        const length = res.headers['content-length']
        if (length !== undefined && Number(length) !== r.fileLength) {
          return fail(webSeedError('badResponse', `web seed file is ${length} bytes, the torrent says ${r.fileLength}: ${url}`, { ...details, contentLength: Number(length) }))
        }
        if (r.start > r.maxSkipBytes) {
          return fail(webSeedError('rangesUnsupported', `web seed ignores Range requests and byte ${r.start} is too far into the file: ${url}`, details))
        }
        skip = r.start
      } else {
        const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(res.headers['retry-after']) : undefined
        return fail(webSeedError('httpStatus', `web seed answered HTTP ${status}: ${url}`, { ...details, status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) }))
      }

      let fileOffset = r.start
      res.on('data', (chunk: Buffer) => {
        if (settled) return
        if (skip > 0) {
          if (chunk.length <= skip) {
            skip -= chunk.length
            return
          }
          chunk = chunk.subarray(skip)
          skip = 0
        }
        const want = r.end - fileOffset
        if (chunk.length > want) chunk = chunk.subarray(0, want)
        if (chunk.length > 0) {
          const at = fileOffset
          fileOffset += chunk.length
          r.onData(at, chunk)
        }
        if (fileOffset >= r.end) {
          // a 200 goes on to the end of the file: stop reading (the socket is not reusable)
          if (status === 200 && r.end < r.fileLength) req.destroy()
          settle()
        }
      })
      res.on('end', () => {
        if (fileOffset < r.end) {
          settle(webSeedError('badResponse', `web seed body ended after ${fileOffset - r.start} of ${r.end - r.start} bytes: ${url}`, details))
        } else settle()
      })
      res.on('error', (err) => {
        settle(webSeedError('unreachable', `web seed connection lost: ${url}: ${err.message}`, details, err))
      })
      res.on('aborted', () => {
        settle(webSeedError('unreachable', `web seed connection reset: ${url}`, details))
      })
    })
    req.end()
  })
}

/**
 * `Retry-After` (RFC 9110 §10.2.3) in ms: delay-seconds or an HTTP date; undefined if absent or bad.
 * @example parseRetryAfter('120') // 120000
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/**
 * True for Node/OpenSSL error codes of a failed TLS handshake or certificate check
 * (`DEPTH_ZERO_SELF_SIGNED_CERT`, `CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`, `ERR_SSL_*`…).
 * @example isTlsError('SELF_SIGNED_CERT_IN_CHAIN') // true
 */
export function isTlsError(code: string | undefined): boolean {
  if (code === undefined) return false
  return code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || /CERT|_SIGNED|ISSUER|VERIFY|CRL|SIGNATURE/.test(code)
}
