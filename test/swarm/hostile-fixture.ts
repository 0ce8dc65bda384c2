/**
 * What the attack tests share: a real `bitcdn seed` process serving random data, a free port for a
 * `bitcdn get` to listen on, and sampling a process's resident memory while an attack runs.
 */
import { join } from 'node:path'
import { expect } from 'vitest'
import { runCli, startCliSeeder } from '../interop/helpers/clients.js'
import { tempDir, writeRandomFiles } from '../interop/helpers/data.js'
import type { TestProcess } from '../interop/helpers/processes.js'
import { processRss } from './hostile-peer.js'

export interface SeedFixture {
  dir: string
  /** The data's directory (`data.bin` inside). */
  src: string
  torrent: string
  infoHash: string
  seeder: { proc: TestProcess; port: number }
}

/** Random `data.bin` of `length` bytes, its .torrent, and a `bitcdn seed` serving it. */
export async function seedFixture(prefix: string, length: number, pieceLength: string): Promise<SeedFixture> {
  const dir = tempDir(prefix)
  const src = join(dir, 'src')
  writeRandomFiles(src, { 'data.bin': length })
  const torrent = join(dir, 'data.torrent')
  const r = await runCli(['create', join(src, 'data.bin'), '--piece-length', pieceLength, '-o', torrent])
  expect(r.code).toBe(0)
  const infoHash = r.stdout.match(/^info-hash\s+([0-9a-f]{40})$/m)![1]!
  const seeder = await startCliSeeder([torrent, '--dir', src])
  return { dir, src, torrent, infoHash, seeder }
}

export { freePort } from '../../bench/lib/process.js'

/** Samples a process's RSS every 100 ms until stopped; `max` is the highest seen. */
export function sampleRss(pid: number): { stop(): number; readonly max: number } {
  let max = processRss(pid).rss
  const timer = setInterval(() => {
    try {
      const now = processRss(pid).rss
      if (Number.isFinite(now)) max = Math.max(max, now) // a zombie has no VmRSS
    } catch {
      // the process is gone: the test's liveness checks say so
    }
  }, 100)
  return {
    get max() {
      return max
    },
    stop() {
      clearInterval(timer)
      return max
    },
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
