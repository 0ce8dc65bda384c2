/**
 * `bitcdn get --recheck`: after a download, read every piece back from disk and check it against
 * the torrent's SHA-1s. The swarm verifies each piece before it stores it; this also proves what
 * reached the disk, for users who archive or re-serve what they fetched.
 */
import { BitcdnError } from '@bitcdn/core'
import { checkPieces, createFileStore, type Metainfo } from '@bitcdn/content'
import { CliErrorCode } from './errors.js'
import { createStatusLine } from './status-line.js'

/**
 * Rechecks the files of `metainfo` under `dir`.
 * @throws BitcdnError `BITCDN_ERR_VERIFY_FAILED` naming how many pieces differ; storage errors.
 * @example await recheckOnDisk(metainfo, './downloads')
 */
export async function recheckOnDisk(metainfo: Metainfo, dir: string): Promise<void> {
  const store = createFileStore(metainfo, { dir, readOnly: true })
  const status = createStatusLine(process.stderr)
  let shown = -1
  try {
    const have = await checkPieces(store, metainfo, {
      onProgress(done, total) {
        const pct = Math.floor((100 * done) / total)
        if (pct !== shown) status.update(`rechecking ${(shown = pct)}%`)
      },
    })
    const bad = have.filter((ok) => !ok).length
    if (bad > 0) {
      throw new BitcdnError(CliErrorCode.verifyFailed, `recheck failed: ${bad} of ${metainfo.pieceCount} pieces on disk do not match the torrent (in ${dir})`, {
        details: { badPieces: bad, pieceCount: metainfo.pieceCount, dir },
      })
    }
  } finally {
    status.clear()
    await store.close()
  }
}
