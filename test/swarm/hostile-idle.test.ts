// Attack: hold a node's slots with sockets that do nothing, or speak something else. 50 peers that
// handshake, say "interested" and then nothing used to fill the per-torrent limit so that no
// download could start; 500 silent sockets; a first byte other than 19 (an encrypted handshake,
// once held ~10 s); garbage after a valid handshake. Against a real `bitcdn seed` and a real
// `bitcdn get` mid-download: legitimate peers (from the same address) still get their data, only
// the offending socket is closed, and resident memory grows by less than MEMORY_BOUND.
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireTools, runCli, startCli } from '../interop/helpers/clients.js'
import { removeDir, sha256Tree } from '../interop/helpers/data.js'
import { stopAll } from '../interop/helpers/processes.js'
import { frame, HostilePeer } from './hostile-peer.js'
import { freePort, sampleRss, seedFixture, sleep, type SeedFixture } from './hostile-fixture.js'

const MiB = 1024 * 1024
const MEMORY_BOUND = 200 * MiB
let f: SeedFixture

beforeAll(async () => {
  requireTools(['cli'])
  f = await seedFixture('hostile-idle-', 8 * MiB, '256KiB')
})
afterAll(async () => {
  await stopAll()
  removeDir(f?.dir)
})

/** `n` peers that handshake, say interested, then idle (each answers nothing, reads everything). */
async function idlePeers(port: number, n: number): Promise<HostilePeer[]> {
  const peers: HostilePeer[] = []
  for (let i = 0; i < n; i++) {
    const p = new HostilePeer(port)
    peers.push(p)
    // beyond the limit the node refuses or evicts: that is the point, not an error
    await p.open(f.infoHash, false).then(() => p.write(frame(2)), () => {})
  }
  return peers
}

/** `n` sockets that connect and never send a byte. */
async function silentSockets(port: number, n: number): Promise<Socket[]> {
  const out: Socket[] = []
  for (let i = 0; i < n; i++) {
    const s = connect({ host: '127.0.0.1', port })
    s.on('error', () => {})
    out.push(s)
  }
  await sleep(500)
  return out
}

async function legitGet(name: string): Promise<void> {
  const out = join(f.dir, name)
  const r = await runCli(['get', f.torrent, '-o', out, '--peer', `127.0.0.1:${f.seeder.port}`, '--timeout', '60'])
  expect(r.stderr).not.toMatch(/^bitcdn:/m)
  expect(r.code).toBe(0)
  expect(sha256Tree(out)).toEqual(sha256Tree(f.src))
}

describe('attack: idle sockets against a seeder', () => {
  it('50 peers that handshake, say interested and then nothing do not lock out a download from the same address', async () => {
    const peers = await idlePeers(f.seeder.port, 50)
    expect(peers.filter((p) => !p.closed).length).toBeGreaterThanOrEqual(45) // they did take the slots
    await sleep(6000) // idle long enough to be evictable (5 s)
    await legitGet('dl-50-idle')
    for (const p of peers) p.destroy()
  }, 120_000)

  it('500 idle peers and 500 silent sockets: the seeder stays under the memory bound and serves a download', async () => {
    const before = sampleRss(f.seeder.proc.child.pid!).stop()
    const rss = sampleRss(f.seeder.proc.child.pid!)
    const silent = await silentSockets(f.seeder.port, 500)
    const peers = await idlePeers(f.seeder.port, 500)
    await sleep(6000)
    await legitGet('dl-500-idle')
    const max = rss.stop()
    console.log(`seeder RSS before ${(before / MiB).toFixed(0)} MiB, peak ${(max / MiB).toFixed(0)} MiB`)
    expect(max - before).toBeLessThan(MEMORY_BOUND)
    for (const p of peers) p.destroy()
    for (const s of silent) s.destroy()
  }, 180_000)

  it('a first byte other than 19 (an encrypted handshake) is closed at once, not after the handshake timeout', async () => {
    const p = new HostilePeer(f.seeder.port)
    await p.connected()
    const t0 = Date.now()
    p.write(Buffer.alloc(96, 0x8f)) // an MSE public key is 96 random bytes
    await p.whenClosed
    // the handshake timeout is 10 s; "at once" is well under it even on a loaded machine
    expect(Date.now() - t0).toBeLessThan(3000)
  })

  it('garbage after a valid handshake closes only that peer; another peer on the same torrent is untouched', async () => {
    const bystander = new HostilePeer(f.seeder.port)
    await bystander.open(f.infoHash)
    const p = new HostilePeer(f.seeder.port)
    await p.open(f.infoHash)
    p.write(Buffer.alloc(4096, 0xff)) // a length prefix of 4 GiB, then more noise
    await p.whenClosed
    await sleep(300)
    expect(bystander.closed).toBe(false)
    bystander.destroy()
    await legitGet('dl-after-garbage')
  })
})

describe('attack: idle sockets and garbage against a downloader', () => {
  it('a downloader mid-download, flooded by 50 then 500 idle peers, 500 silent sockets, a non-BitTorrent socket and garbage, completes verified', async () => {
    const port = await freePort()
    const out = join(f.dir, 'dl-attacked')
    // rate-limited so the attack lands mid-download: 8 MiB at 1 MiB/s is 8 s; the attack is over
    // ~2 s after the start with this file running alone, 3–5 s at load 7 (asserted below);
    // 512 KiB/s made this test 17 s of the file's 44, 256 KiB/s 35 s of 70
    const get = startCli(['get', f.torrent, '-o', out, '--peer', `127.0.0.1:${f.seeder.port}`, '--port', String(port), '--download-limit', '1MiB'])
    await get.waitFor(/^progress (?!0\.0%)\d+\.\d%/m)
    const before = sampleRss(get.child.pid!).stop()
    const rss = sampleRss(get.child.pid!)
    const peers = await idlePeers(port, 50)
    const silent = await silentSockets(port, 500)
    peers.push(...(await idlePeers(port, 500)))
    const noise = new HostilePeer(port)
    await noise.connected()
    noise.write(Buffer.alloc(96, 0x8f))
    await noise.whenClosed
    const garbage = new HostilePeer(port)
    await garbage.open(f.infoHash).catch(() => {}) // the downloader may be full: then it refused us, fine
    garbage.write(Buffer.alloc(4096, 0xff))
    await garbage.whenClosed
    expect(get.child.exitCode, 'the whole attack ran while the download was under way').toBeNull()
    const exit = await get.exited
    const max = rss.stop()
    console.log(`downloader RSS before ${(before / MiB).toFixed(0)} MiB, peak ${(max / MiB).toFixed(0)} MiB`)
    expect(exit.code).toBe(0)
    expect(sha256Tree(out)).toEqual(sha256Tree(f.src))
    expect(max - before).toBeLessThan(MEMORY_BOUND)
    for (const p of peers) p.destroy()
    for (const s of silent) s.destroy()
  }, 180_000)
})
