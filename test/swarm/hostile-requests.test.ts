// Attack: wire fields out of range. A raw TCP peer sends request messages no client would — a begin
// with the top bit set (read as negative by a signed parser), a length of 2^32 - 1, length 0, an
// index past the end, a begin + length past the piece — to a real `bitcdn seed` process and to a
// real `bitcdn get` in the middle of its download. Each must close (or reject) only that peer,
// never answer with data, and never end the process; the legitimate download then completes.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireTools, runCli, startCli } from '../interop/helpers/clients.js'
import { removeDir, sha256Tree } from '../interop/helpers/data.js'
import { stopAll } from '../interop/helpers/processes.js'
import { blockMessage, frame, HostilePeer, pieceItHas } from './hostile-peer.js'
import { freePort, seedFixture, type SeedFixture } from './hostile-fixture.js'

const KiB = 1024
const MiB = 1024 * KiB
const PIECE = 256 * KiB
const LENGTH = 6 * MiB
const PIECES = LENGTH / PIECE
let f: SeedFixture

beforeAll(async () => {
  requireTools(['cli'])
  f = await seedFixture('hostile-requests-', LENGTH, '256KiB')
})
afterAll(async () => {
  await stopAll()
  removeDir(f?.dir)
})

/** The hostile requests, each with what a signed or careless parser would do with it. */
const attacks: Array<{ name: string; request: (piece: number) => Buffer }> = [
  { name: 'huge begin 0xFFFFC000 (negative when read signed)', request: (i) => blockMessage(6, i, 0xffffc000, 16 * KiB) },
  { name: 'huge begin 0x80000000', request: (i) => blockMessage(6, i, 0x80000000, 16 * KiB) },
  { name: 'huge length 0xFFFFFFFF', request: (i) => blockMessage(6, i, 0, 0xffffffff) },
  { name: 'length 0', request: (i) => blockMessage(6, i, 0, 0) },
  { name: 'length over 128 KiB', request: (i) => blockMessage(6, i, 0, 128 * KiB + 1) },
  { name: 'begin + length past the end of the piece', request: (i) => blockMessage(6, i, PIECE - 8 * KiB, 16 * KiB) },
  { name: 'index past the end', request: () => blockMessage(6, PIECES, 0, 16 * KiB) },
  { name: 'index 0xFFFFFFFF', request: () => blockMessage(6, 0xffffffff, 0, 16 * KiB) },
]

/** Open a hostile connection, get unchoked, send `bad`; resolves when the remote closed or rejected it. */
async function attack(port: number, bad: (piece: number) => Buffer): Promise<HostilePeer> {
  const p = new HostilePeer(port)
  await p.open(f.infoHash)
  const piece = pieceItHas(p)
  p.write(frame(2)) // interested
  await p.until(() => p.got(1), 'unchoke')
  p.write(bad(piece))
  // a good request after it: answered only if the bad one was silently accepted
  p.write(blockMessage(6, piece, 0, 16 * KiB))
  await p.until(() => p.closed || p.got(16), 'a close or a reject')
  p.destroy()
  await stillServing(port)
  return p
}

/** The process behind `port` is alive and answers a fresh handshake. */
async function stillServing(port: number): Promise<void> {
  const probe = new HostilePeer(port)
  await probe.open(f.infoHash)
  probe.destroy()
}

describe('attack: out-of-range request fields against a seeder', () => {
  for (const a of attacks) {
    it(`${a.name}: the seeder closes that peer, sends no data and stays up`, async () => {
      const p = await attack(f.seeder.port, a.request)
      expect(p.got(7)).toBe(false)
      expect(p.pieceBytes).toBe(0)
      expect(f.seeder.proc.child.exitCode).toBeNull()
    })
  }

  it('after every attack the seeder still serves a legitimate download byte for byte', async () => {
    const out = join(f.dir, 'dl-after-attacks')
    const r = await runCli(['get', f.torrent, '-o', out, '--peer', `127.0.0.1:${f.seeder.port}`])
    expect(r.code).toBe(0)
    expect(sha256Tree(out)).toEqual(sha256Tree(f.src))
    expect(f.seeder.proc.child.exitCode).toBeNull()
    expect(f.seeder.proc.stderr()).not.toMatch(/storage failed|outside piece/)
  })
})

describe('attack: out-of-range request fields against a downloader', () => {
  it('a downloader mid-download closes each hostile peer and still completes verified', async () => {
    const port = await freePort()
    const out = join(f.dir, 'dl-attacked')
    // slow enough to be attacked while it runs (~6 s for 6 MiB)
    const get = startCli(['get', f.torrent, '-o', out, '--peer', `127.0.0.1:${f.seeder.port}`, '--port', String(port), '--download-limit', '1MiB'])
    await get.waitFor(/^progress (?!0\.0%)\d+\.\d%/m)
    for (const a of attacks) {
      const p = await attack(port, a.request)
      expect(p.got(7), a.name).toBe(false)
      expect(get.child.exitCode, a.name).toBeNull()
    }
    const exit = await get.exited
    expect(get.stderr()).not.toMatch(/storage failed|outside piece/)
    expect(exit.code).toBe(0)
    expect(sha256Tree(out)).toEqual(sha256Tree(f.src))
  })
})
