/**
 * Paths a download may write: never through a symlink below the download directory. A careful
 * client (libtorrent, transmission) refuses `out/t/a.bin -> ../../victim` and a symlinked
 * subdirectory that leads outside, since either would let whoever prepared the directory (or a
 * torrent naming paths inside it) overwrite files elsewhere. The directory itself may be a
 * symlink: that one the user chose.
 */
import { lstatSync } from 'node:fs'
import { lstat } from 'node:fs/promises'
import { relative, sep, join } from 'node:path'
import { BitcdnError } from '@bitcdn/core'
import { ContentErrorCode } from '../errors.js'
import { errnoCode } from '../io-error.js'

/** The error for a path whose last component or a parent below `root` is a symlink. */
export function unsafePath(path: string, what: string): BitcdnError {
  return new BitcdnError(ContentErrorCode.unsafePath, `refusing to write through the symlink ${what} (for ${path}): downloads never follow symlinks inside the output directory (BITCDN_ERR_UNSAFE_PATH)`, {
    details: { path, symlink: what },
  })
}

/**
 * Throw `BITCDN_ERR_UNSAFE_PATH` if any directory between `root` (exclusive) and `path`
 * (exclusive) is a symlink. Components that do not exist yet are fine: they will be made as real
 * directories. The last component is opened with O_NOFOLLOW by the caller. Resolves true when
 * every parent exists (a caller may then remember the directory as checked).
 * @example
 * await assertNoSymlinkedParent('/dl', '/dl/site/media/a.bin')
 */
export async function assertNoSymlinkedParent(root: string, path: string): Promise<boolean> {
  const parts = relative(root, path).split(sep)
  let dir = root
  for (const part of parts.slice(0, -1)) {
    dir = join(dir, part)
    let st
    try {
      st = await lstat(dir)
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false // the rest is created by us
      throw err
    }
    if (st.isSymbolicLink()) throw unsafePath(path, dir)
  }
  return true
}

/** `assertNoSymlinkedParent` with synchronous calls, for the file store's small-span fast path. */
export function assertNoSymlinkedParentSync(root: string, path: string): boolean {
  const parts = relative(root, path).split(sep)
  let dir = root
  for (const part of parts.slice(0, -1)) {
    dir = join(dir, part)
    let st
    try {
      st = lstatSync(dir)
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false // the rest is created by us
      throw err
    }
    if (st.isSymbolicLink()) throw unsafePath(path, dir)
  }
  return true
}
