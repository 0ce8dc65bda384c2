/**
 * Interop through the node's free policy: libtorrent and aria2c download from a `bitcdn node`
 * the content its free policy allows (a `--free` pin: sponsored), and are refused — choked, no
 * data — for content it does not allow (no paying buyer is involved, so nothing else is served).
 * aria2c finds the node through a BitCDN tracker; libtorrent is given its address.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aria2Args, requireTools, startLibtorrent } from '../interop/helpers/clients.js'
import { removeDir, sha256Tree, tempDir, writeRandomFiles } from '../interop/helpers/data.js'
import { runProcess, stopAll } from '../interop/helpers/processes.js'
import { admin, freePort, metric, runBitcdn, startBitcdn, startNodeProcess, type RunningNodeProcess } from './helpers.js'

const MiB = 1024 * 1024
const SPONSORED = 2 * MiB + 77
let dir: string
let home: string
let node: RunningNodeProcess

/** Bytes of a downloaded file on disk that hold data (0 when absent). */
const bytesOnDisk = (p: string): number => (existsSync(p) ? statSync(p).blocks * 512 : 0)

beforeAll(async () => {
  requireTools(['cli', 'libtorrent', 'aria2c'])
  dir = tempDir('node-interop-')
  home = join(dir, 'home')
  mkdirSync(home)
  writeRandomFiles(join(dir, 'src'), { 'sponsored.bin': SPONSORED, 'private.bin': 2 * MiB })
  const tracker = startBitcdn(home, ['tracker', '--port', String(await freePort()), '--no-udp'])
  const announce = (await tracker.waitFor(/^announce\s+(http:\/\/\S+)$/m))[1]!
  const init = await runBitcdn(home, ['node', 'init', '--scrypt-n', '1024', '--listen-host', '127.0.0.1', '--port', '0', '--admin-port', String(await freePort())])
  expect(init.code).toBe(0)
  for (const name of ['sponsored', 'private']) {
    const c = await runBitcdn(home, ['create', join(dir, 'src', `${name}.bin`), '--piece-length', '64KiB', '--tracker', announce, '-o', join(dir, `${name}.torrent`)])
    expect(c.code).toBe(0)
  }
  node = await startNodeProcess(home)
  expect((await runBitcdn(home, ['node', 'pin', join(dir, 'sponsored.torrent'), '--dir', join(dir, 'src'), '--free'])).code).toBe(0)
  expect((await runBitcdn(home, ['node', 'pin', join(dir, 'private.torrent'), '--dir', join(dir, 'src')])).code).toBe(0)
}, 240_000)
afterAll(async () => {
  await stopAll()
  removeDir(dir)
})

describe('standard clients and the node’s free policy', () => {
  // the refusals each wait out their client's 20 s timeout, so they run beside the downloads
  // (they once took 40 s of this file one after the other). The two sponsored downloads run one
  // after the other: side by side, libtorrent and aria2c find each other through the tracker and
  // trade pieces, and the node serves less than the two copies counted below. The count of served
  // bytes runs after all of them.
  it.concurrent('libtorrent, then aria2c (finding the node through the tracker), download sponsored (free) content from the node', async ({ expect }) => {
    const lt = await startLibtorrent('get', { torrent: join(dir, 'sponsored.torrent'), dir: join(dir, 'lt'), peers: [`127.0.0.1:${node.port}`], extra: ['--timeout', '90'] })
    const exit = await lt.proc.exited
    expect(lt.proc.stdout()).toContain('"event": "done"')
    expect(exit.code).toBe(0)
    expect(sha256Tree(join(dir, 'lt', 'sponsored.bin'))).toEqual(sha256Tree(join(dir, 'src', 'sponsored.bin')))

    const r = await runProcess('aria2c', [...aria2Args(join(dir, 'aria2')), join(dir, 'sponsored.torrent')], { timeoutMs: 120_000 })
    expect(r.stdout).toMatch(/\|OK\s+\|/)
    expect(r.code).toBe(0)
    expect(sha256Tree(join(dir, 'aria2', 'sponsored.bin'))).toEqual(sha256Tree(join(dir, 'src', 'sponsored.bin')))
  })

  it.concurrent('libtorrent gets no data of content the free policy does not allow', async ({ expect }) => {
    const lt = await startLibtorrent('get', { torrent: join(dir, 'private.torrent'), dir: join(dir, 'lt-private'), peers: [`127.0.0.1:${node.port}`], extra: ['--timeout', '20'] })
    const exit = await lt.proc.exited
    expect(exit.code).not.toBe(0)
    expect(lt.proc.stdout()).toMatch(/"timed out after 20s at 0\.0%"/)
    expect(lt.proc.stdout()).not.toContain('"event": "done"')
    expect(bytesOnDisk(join(dir, 'lt-private', 'private.bin'))).toBe(0)
  })

  it.concurrent('aria2c gets no data of it either', async ({ expect }) => {
    const args = aria2Args(join(dir, 'aria2-private')).map((a) => (a.startsWith('--bt-stop-timeout') ? '--bt-stop-timeout=20' : a))
    const r = await runProcess('aria2c', [...args, join(dir, 'private.torrent')], { timeoutMs: 120_000 })
    expect(r.code).not.toBe(0)
    expect(r.stdout).not.toMatch(/\|OK\s+\|/)
    expect(bytesOnDisk(join(dir, 'aria2-private', 'private.bin'))).toBe(0)
  })

  it('the node counted free bytes for the sponsored content only', async () => {
    await new Promise((r) => setTimeout(r, 1500)) // one metrics tick
    const s = (await (await admin(home, node.adminUrl, '/status')).json()) as { torrents: { name: string; bytesServed: number }[] }
    const served = Object.fromEntries(s.torrents.map((t) => [t.name, t.bytesServed]))
    expect(served['sponsored.bin']).toBeGreaterThanOrEqual(2 * SPONSORED)
    expect(served['private.bin']).toBe(0)
    const text = await (await admin(home, node.adminUrl, '/metrics')).text()
    expect(metric(text, 'bitcdn_bytes_served_total', '{kind="free"}')).toBe(served['sponsored.bin'])
  })
})
