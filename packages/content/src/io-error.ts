/**
 * Turning Node's system errors into BitCDN errors a user can act on. Storage and the journal both
 * touch the disk; they must report a full disk the same way.
 */
import { BitcdnError } from '@bitcdn/core'
import { ContentErrorCode } from './errors.js'

/**
 * The `code` of a Node system error (ENOSPC, EACCES, …), if any.
 * @example
 * if (errnoCode(err) === 'ENOENT') return undefined
 */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * Map a failed file operation to `BITCDN_ERR_DISK_FULL` (ENOSPC, EDQUOT),
 * `BITCDN_ERR_FILE_NOT_FOUND` (ENOENT) or `BITCDN_ERR_STORAGE_IO` (anything else), keeping the
 * original as `cause`. BitCDN errors pass through unchanged.
 * @example
 * await handle.write(buf, 0, n, pos).catch((err) => { throw toIoError(err, 'write', path) })
 */
export function toIoError(err: unknown, op: string, path: string): BitcdnError {
  if (err instanceof BitcdnError) return err
  const code = errnoCode(err)
  const details = { path, op, errno: code }
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new BitcdnError(ContentErrorCode.diskFull, `disk full: cannot ${op} ${path}`, { cause: err, details })
  }
  if (code === 'ENOENT') {
    return new BitcdnError(ContentErrorCode.fileNotFound, `file not found: ${path}`, { cause: err, details })
  }
  const reason = err instanceof Error ? err.message : String(err)
  return new BitcdnError(ContentErrorCode.storageIo, `storage error: cannot ${op} ${path}: ${reason}`, { cause: err, details })
}
