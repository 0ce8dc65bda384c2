/**
 * The few lines every command prints about a torrent it made or serves, one `key value` pair per
 * line so scripts can pick out the info-hash or magnet with `awk '$1=="magnet"{print $2}'`.
 */
import { formatBytes } from '@bitcdn/core'
import type { Metainfo } from '@bitcdn/content'

/**
 * Prints name, size, info-hash, magnet link and any extra `key value` lines.
 * @example printTorrentSummary(process.stdout, metainfo, { torrent: 'site.torrent' })
 */
export function printTorrentSummary(
  out: { write(text: string): unknown },
  metainfo: Metainfo,
  extra: Record<string, string> = {},
): void {
  const files = metainfo.files.length === 1 ? '1 file' : `${metainfo.files.length} files`
  const lines: [string, string][] = [
    ['name', metainfo.name],
    ['size', `${formatBytes(metainfo.length)} (${metainfo.length} bytes, ${files}, ${metainfo.pieceCount} pieces of ${formatBytes(metainfo.pieceLength)})`],
    ['info-hash', metainfo.infoHash],
    ['magnet', metainfo.magnetURI],
    ...Object.entries(extra),
  ]
  for (const [k, v] of lines) out.write(`${k.padEnd(10)} ${v}\n`)
}
