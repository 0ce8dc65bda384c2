/**
 * BEP 19 URL rules: where each file of a torrent lives on a web seed.
 *
 * - single-file torrent: the URL is the file itself, unless it ends with '/', then the torrent
 *   name is appended;
 * - multi-file torrent: URL + '/' (added if missing, as libtorrent does) + name + '/' + path,
 *   each path segment percent-encoded.
 */
import type { Metainfo } from '@bitcdn/content'
import { webSeedError } from './errors.js'

/**
 * True when the torrent is a single-file torrent (its one file is not inside a directory named
 * after the torrent). `Metainfo` has no flag for it; multi-file paths start with `name/`.
 */
export function isSingleFile(metainfo: Pick<Metainfo, 'files' | 'name'>): boolean {
  return metainfo.files.length === 1 && metainfo.files[0]?.path === metainfo.name
}

/**
 * Parse and check a web-seed URL.
 * @throws BitcdnError `BITCDN_ERR_WEBSEED_URL_INVALID` when not an absolute http(s) URL.
 * @example
 * const u = parseWebSeedUrl('https://cdn.example.com/files/')
 */
export function parseWebSeedUrl(url: string): URL {
  let u: URL
  try {
    u = new URL(url)
  } catch (cause) {
    throw webSeedError('urlInvalid', `web seed URL is not a valid URL: ${url}`, { url }, cause)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw webSeedError('urlInvalid', `web seed URL must be http or https: ${url}`, { url })
  }
  return u
}

/**
 * The URL of every file of the torrent on this web seed, in `metainfo.files` order.
 * @throws BitcdnError `BITCDN_ERR_WEBSEED_URL_INVALID` for a URL that is not http(s).
 * @example
 * webSeedFileUrls('http://o/d/', meta) // ['http://o/d/movie%20one/a.mkv', ...]
 */
export function webSeedFileUrls(url: string, metainfo: Pick<Metainfo, 'files' | 'name'>): string[] {
  const base = parseWebSeedUrl(url).href
  if (isSingleFile(metainfo)) {
    return [base.endsWith('/') ? base + encodePath(metainfo.name) : base]
  }
  const dir = base.endsWith('/') ? base : `${base}/`
  // multi-file paths already start with the torrent name
  return metainfo.files.map((f) => dir + encodePath(f.path))
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/')
}
