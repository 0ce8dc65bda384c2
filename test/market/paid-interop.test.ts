/**
 * Interop under the free policy: a plain BitTorrent client (libtorrent, /usr/bin/python3) has no
 * `bitcdn_pay`, so a paid seller serves it only when its free policy allows: with it, libtorrent
 * downloads and verifies everything; without it, libtorrent stays choked and gets no data.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { tokenUnits } from '@bitcdn/core'
import { startPayChain, type PayChain } from '../pay/helpers.js'
import { filledStore, makeTorrent, testData } from '../swarm/swarm-helpers.js'
import { requireTools, startLibtorrent } from '../interop/helpers/clients.js'
import { stopAll } from '../interop/helpers/processes.js'
import { market, MiB } from './market-helpers.js'

let chain: PayChain
let mk: ReturnType<typeof market>

beforeAll(async () => {
  requireTools(['libtorrent'])
  chain = await startPayChain()
  mk = market(chain)
})
afterEach(async () => {
  await stopAll()
  await mk.cleanup()
})
afterAll(async () => {
  await chain?.anvil.stop()
})

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe('paid seller and plain BitTorrent clients', () => {
  it('libtorrent downloads from a seller whose free policy allows it', async () => {
    const data = testData(2 * MiB, 'lt-free')
    const m = await makeTorrent(data, { name: 'free.bin', pieceLength: 64 * 1024 })
    const s = await mk.seller(chain.accounts[1]!, m, await filledStore(m, data), { pricePerGiB: tokenUnits(1_000_000n), free: (ih) => ih === m.infoHash })
    const dir = await mk.tempDir('bitcdn-lt-')
    writeFileSync(join(dir, 'free.torrent'), m.torrentFile)
    const lt = await startLibtorrent('get', { torrent: join(dir, 'free.torrent'), dir: join(dir, 'out'), peers: [s.addr], extra: ['--timeout', '90'] })
    const exit = await lt.proc.exited
    expect(lt.proc.stdout()).toContain('"event": "done"')
    expect(exit.code).toBe(0)
    expect(sha(readFileSync(join(dir, 'out', 'free.bin')))).toBe(sha(data))
    expect(s.seller.stats().freeBytes).toBeGreaterThanOrEqual(m.length)
    expect(s.seller.stats().paidBytes).toBe(0)
  })

  it('libtorrent gets no data (choked) from a seller whose free policy does not allow it', async () => {
    const data = testData(2 * MiB, 'lt-paid')
    const m = await makeTorrent(data, { name: 'paid.bin', pieceLength: 64 * 1024 })
    const s = await mk.seller(chain.accounts[2]!, m, await filledStore(m, data), { pricePerGiB: tokenUnits(1_000_000n) })
    const dir = await mk.tempDir('bitcdn-lt-')
    writeFileSync(join(dir, 'paid.torrent'), m.torrentFile)
    const lt = await startLibtorrent('get', { torrent: join(dir, 'paid.torrent'), dir: join(dir, 'out'), peers: [s.addr], extra: ['--timeout', '8'] })
    const exit = await lt.proc.exited
    const out = lt.proc.stdout()
    expect(exit.code).not.toBe(0)
    expect(out).toMatch(/timed out after 8s at 0\.0%/)
    // it was connected all along, and never received a payload byte
    const progress = out.split('\n').filter((l) => l.includes('"event": "progress"')).map((l) => JSON.parse(l) as { peers: number; downloaded: number })
    expect(progress.some((p) => p.peers > 0)).toBe(true)
    expect(progress.every((p) => p.downloaded === 0)).toBe(true)
    expect(s.seller.stats().freeBytes + s.seller.stats().paidBytes).toBe(0)
    expect(existsSync(join(dir, 'out', 'paid.bin')) ? readFileSync(join(dir, 'out', 'paid.bin')).some((b) => b !== 0) : false).toBe(false)
  })
})
