// Benchmark input: a file of random bytes, written once per size and reused across runs (the
// write goes to a .partial name first, so an interrupted run never leaves a short file behind).
import { randomFillSync } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'

const MiB = 1024 * 1024

/** Make `file` hold `sizeMiB` MiB of random bytes unless it already does; true when it was (re)written. */
export function ensureRandomFile(file, sizeMiB) {
  if (existsSync(file) && statSync(file).size === sizeMiB * MiB) return false
  console.log(`generating ${sizeMiB} MiB of random data (once) ...`)
  mkdirSync(dirname(file), { recursive: true })
  const fd = openSync(`${file}.partial`, 'w')
  const chunk = Buffer.allocUnsafe(16 * MiB)
  for (let left = sizeMiB * MiB; left > 0; left -= chunk.length) {
    randomFillSync(chunk)
    writeSync(fd, chunk, 0, Math.min(chunk.length, left))
  }
  closeSync(fd)
  renameSync(`${file}.partial`, file)
  return true
}
