/**
 * Shared fixtures for swarm integration tests: deterministic data, torrents made from it, stores
 * pre-filled with it, and clients that clean up after themselves.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMemoryStore, createTorrent, type Metainfo, type PieceStore } from '@bitcdn/content'
import { createSwarmClient, type SwarmClient, type SwarmClientInit } from '@bitcdn/swarm'

/** Deterministic pseudo-random bytes (fast: SHA-256 in counter mode). */
export function testData(length: number, seed = 'bitcdn'): Buffer {
  const out = Buffer.allocUnsafe(length)
  let off = 0
  for (let i = 0; off < length; i++) {
    const block = createHash('sha256').update(`${seed}:${i}`).digest()
    off += block.copy(out, off)
  }
  return out
}

export async function makeTorrent(data: Buffer, opts: { name?: string; pieceLength?: number } = {}): Promise<Metainfo> {
  return createTorrent(data, { name: opts.name ?? 'data.bin', pieceLength: opts.pieceLength ?? 64 * 1024 })
}

/** A store that already holds every piece of `data`. */
export async function filledStore(m: Metainfo, data: Buffer): Promise<PieceStore> {
  const store = createMemoryStore(m)
  for (let i = 0; i < m.pieceCount; i++) {
    const start = i * m.pieceLength
    await store.put(i, data.subarray(start, Math.min(start + m.pieceLength, m.length)))
  }
  return store
}

/** Read the whole torrent back out of a store. */
export async function readAll(store: PieceStore, m: Metainfo): Promise<Buffer> {
  const parts: Buffer[] = []
  for (let i = 0; i < m.pieceCount; i++) {
    parts.push(await store.get(i, 0, Math.min(m.pieceLength, m.length - i * m.pieceLength)))
  }
  return Buffer.concat(parts)
}

/** Clients and temp dirs made through this are torn down by `cleanup()`. */
export function harness() {
  const clients: SwarmClient[] = []
  const dirs: string[] = []
  // one state dir per harness: clients of one test share resume journals (a restart resumes)
  let stateDir: string | undefined
  return {
    async stateDir(): Promise<string> {
      if (stateDir === undefined) {
        stateDir = await mkdtemp(join(tmpdir(), 'bitcdn-state-'))
        dirs.push(stateDir)
      }
      return stateDir
    },
    async client(init: SwarmClientInit = {}): Promise<SwarmClient> {
      const c = createSwarmClient({ snubTimeoutMs: 3000, stateDir: await this.stateDir(), ...init })
      await c.start()
      clients.push(c)
      return c
    },
    async tempDir(): Promise<string> {
      const d = await mkdtemp(join(tmpdir(), 'bitcdn-swarm-'))
      dirs.push(d)
      return d
    },
    async cleanup(): Promise<void> {
      await Promise.all(clients.splice(0).map((c) => c.stop().catch(() => {})))
      await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
      stateDir = undefined
    },
  }
}

export const addr = (c: SwarmClient) => `127.0.0.1:${c.port}`
