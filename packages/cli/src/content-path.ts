/**
 * Checks a path the user named before any work starts, so a typo fails with one clear line
 * (`BITCDN_ERR_FILE_NOT_FOUND`, the content layer's code for it) instead of a raw ENOENT later.
 */
import { stat } from 'node:fs/promises'
import type { Stats } from 'node:fs'
import { BitcdnError } from '@bitcdn/core'

/**
 * Stats `path`, failing with BITCDN_ERR_FILE_NOT_FOUND when it does not exist.
 * @example const st = await statExisting('./site', 'content')
 */
export async function statExisting(path: string, what: string): Promise<Stats> {
  try {
    return await stat(path)
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT' || (err as { code?: unknown }).code === 'ENOTDIR') {
      throw new BitcdnError('BITCDN_ERR_FILE_NOT_FOUND', `${what} not found: ${path}`, { details: { path }, cause: err })
    }
    throw err
  }
}
