/**
 * One node process per state folder: a pid file created exclusively. A stale file (its process is
 * gone, e.g. after SIGKILL) is taken over, so a crashed node restarts without help.
 */
import { readFile, rm, writeFile } from 'node:fs/promises'
import { nodeError } from './errors.js'

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes the lock; resolves to its release.
 * @throws BitcdnError BITCDN_ERR_NODE_LOCKED when a live process holds it
 * @example const release = await acquireNodeLock(paths.lock); ...; await release()
 */
export async function acquireNodeLock(file: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 })
      return async () => {
        await rm(file, { force: true })
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim())
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw nodeError('locked', `another node (pid ${pid}) is running on this state (${file})`, { pid, file })
      }
      await rm(file, { force: true })
    }
  }
  throw nodeError('locked', `cannot take the node lock ${file}`, { file })
}
