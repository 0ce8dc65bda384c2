/**
 * Guards `bitcdn get` against a resume journal that no longer describes the files: the swarm
 * trusts its journal (`.<info-hash>.resume` in the download directory) without looking at the
 * files, so a file truncated or deleted since would be reported complete. libtorrent checks file
 * sizes against its resume data for the same reason; so do we, before the session opens the
 * journal, and drop a journal the files contradict so the session rechecks what is there.
 */
import { rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Metainfo } from '@bitcdn/content'

/**
 * Deletes the torrent's resume journal in `dir` if any file it covers is missing or of the wrong
 * size. Returns true if it did.
 * @example if (await dropStaleResume(metainfo, dir)) console.error('files changed; rechecking')
 */
export async function dropStaleResume(metainfo: Metainfo, dir: string): Promise<boolean> {
  const journal = join(dir, `.${metainfo.infoHash}.resume`)
  if (!(await stat(journal).catch(() => undefined))) return false
  for (const file of metainfo.files) {
    if (file.padding) continue
    const st = await stat(join(dir, ...file.path.split('/'))).catch(() => undefined)
    if (st?.size !== file.length) {
      await rm(journal, { force: true })
      return true
    }
  }
  return false
}
