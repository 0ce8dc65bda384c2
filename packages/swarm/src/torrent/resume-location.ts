/**
 * Where resume journals live: in a state directory of our own, never in the user's data
 * directory (seeding `/data/big.iso` in place must not drop a hidden file into `/data`). The
 * file is named by info-hash and a short hash of the absolute data directory, so the same
 * torrent downloaded into two directories keeps two journals.
 */
import { createHash } from 'node:crypto'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

/**
 * `$BITCDN_HOME/resume`, `BITCDN_HOME` defaulting to `~/.bitcdn`.
 * @example
 * createSwarmClient({ stateDir: defaultStateDir() })
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.BITCDN_HOME !== undefined && env.BITCDN_HOME !== '' ? env.BITCDN_HOME : join(homedir(), '.bitcdn')
  return join(home, 'resume')
}

/**
 * The journal of torrent `infoHash` downloaded into `dataDir`.
 * @example
 * resumeJournalPath('/home/me/.bitcdn/resume', infoHash, './downloads')
 * // → /home/me/.bitcdn/resume/<info-hash>-<8 hex>.resume
 */
export function resumeJournalPath(stateDir: string, infoHash: string, dataDir: string): string {
  const dirHash = createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 8)
  return join(stateDir, `${infoHash.toLowerCase()}-${dirHash}.resume`)
}

/** Where journals lived before: a hidden file in the data directory (migrated, then removed). */
export const legacyJournalPath = (dir: string, infoHash: string): string => join(dir, `.${infoHash}.resume`)
