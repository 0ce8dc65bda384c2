// Spawning `node` on a TypeScript file of this repo (see ts-hooks.mjs).
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'

const REGISTER = join(import.meta.dirname, 'ts-register.mjs')

/** Start `node` running `script` (a .ts file) with `args`; stdin, stdout and stderr are piped. */
export function spawnTs(script: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ['--conditions=source', '--import', REGISTER, script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
}
