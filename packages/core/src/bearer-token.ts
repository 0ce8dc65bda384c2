/**
 * Bearer-token check for admin APIs (the node's, the gateway's): constant-time comparison of
 * SHA-256 digests (equal lengths, so timing says nothing about the token).
 */
import { createHash, timingSafeEqual } from 'node:crypto'

const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

/**
 * A checker for `Authorization: Bearer <token>` headers.
 * @example const ok = bearerChecker(token)(req.headers.authorization)
 */
export function bearerChecker(token: string): (header: string | undefined) => boolean {
  if (token.length < 16) throw new RangeError('admin token must be at least 16 characters')
  const want = digest(token)
  return (header) => {
    const m = /^Bearer (\S+)$/.exec(header ?? '')
    return m !== null && timingSafeEqual(digest(m[1]!), want)
  }
}
