/**
 * The `created by` field BitCDN writes into the torrents it makes, so a torrent's origin is
 * visible to other clients and to us when debugging.
 */
import { createRequire } from 'node:module'

const pkg = createRequire(import.meta.url)('../package.json') as { version: string }

/** `bitcdn/<version>`. @example createTorrent(path, { createdBy: CREATED_BY }) */
export const CREATED_BY = `bitcdn/${pkg.version}`
