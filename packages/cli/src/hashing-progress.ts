/**
 * Progress while a torrent is made from content: hashing a large directory takes a while (about
 * a second per GiB on one core), and a silent terminal looks hung.
 */
import { createTorrent, type CreateTorrentOptions, type Metainfo } from '@bitcdn/content'
import { createStatusLine } from './status-line.js'
import { CREATED_BY } from './created-by.js'

/**
 * An `onProgress` callback for `createTorrent` drawing `hashing 42%` on stderr, plus `end()` to
 * erase it once done.
 * @example
 * const hashing = hashingProgress()
 * const m = await createTorrent(path, { onProgress: hashing.onProgress }).finally(hashing.end)
 */
export function hashingProgress(out: { write(text: string): unknown; isTTY?: boolean } = process.stderr): {
  onProgress: (hashedBytes: number, totalBytes: number) => void
  end: () => void
} {
  const status = createStatusLine(out, { quietMs: 5000 })
  let shown = -1
  return {
    onProgress(hashed, total) {
      const pct = total > 0 ? Math.floor((100 * hashed) / total) : 100
      if (pct === shown) return
      shown = pct
      status.update(`hashing ${pct}%`)
    },
    end: () => status.clear(),
  }
}

/**
 * `createTorrent` as the CLI runs it: stamped `created by` BitCDN, with hashing progress on stderr.
 * @example
 * const m = await createTorrentWithProgress('./site', { announce: [tracker] })
 */
export async function createTorrentWithProgress(path: string, opts: CreateTorrentOptions = {}): Promise<Metainfo> {
  const hashing = hashingProgress()
  return createTorrent(path, { ...opts, createdBy: CREATED_BY, onProgress: hashing.onProgress }).finally(hashing.end)
}
