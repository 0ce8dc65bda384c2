/**
 * `bitcdn publish` as a publisher runs it, against real servers: a hub (SQLite, its tracker on a
 * real port), a real `bitcdn node start` process on anvil, and an HTTP origin serving the file.
 * The torrent carries the hub's tracker and the origin as web seed; the hub's catalogue lists the
 * entry signed by the publisher's key; the node pins it, fetches it from the origin and verifies
 * it. Failures: an unreachable hub is one line and writes nothing; a node that refuses the pin is
 * one line with its code, exit 1, while the hub still lists the content.
 */
import { createServer, type Server } from 'node:http'
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseTorrentFile } from '@bitcdn/content'
import { createHub, openSqliteHubStore, type Hub } from '@bitcdn/hub'
import { writeDeployment } from '@bitcdn/pay'
import { startPayChain, type PayChain } from '../pay/helpers.js'
import { admin, freePort, runBitcdn, startNodeProcess, until, type RunningNodeProcess } from '../node/helpers.js'
import { testData } from '../swarm/swarm-helpers.js'

describe('bitcdn publish', () => {
  let chain: PayChain
  let hub: Hub
  let origin: Server
  let originUrl: string
  let home: string
  let nodeHome: string
  let node: RunningNodeProcess | undefined
  let work: string
  let publisher: string
  const data = testData(3 * 1024 * 1024 + 123, 'publish')

  beforeAll(async () => {
    chain = await startPayChain()
    home = await mkdtemp(join(tmpdir(), 'bitcdn-publish-'))
    nodeHome = join(home, 'node-home')
    work = join(home, 'work')
    await mkdir(nodeHome, { recursive: true })
    await mkdir(work, { recursive: true })
    await writeFile(join(work, 'clip.bin'), data)
    hub = await createHub(
      { hubId: 'publish-test', port: 0, trackerPort: 0, probeIntervalMs: 0, statsIntervalMs: 60_000, chain: { rpcUrl: chain.anvil.rpcUrl, chainId: chain.deployment.chainId, escrow: chain.deployment.escrow } },
      { store: openSqliteHubStore(join(home, 'hub.sqlite')) },
    )
    await hub.start()
    // the publisher's origin: serves the file (with ranges) as a web seed must
    origin = createServer((req, res) => {
      if (req.url !== '/clip.bin') return res.writeHead(404).end()
      const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
      if (m === null) return res.writeHead(200, { 'content-length': data.length }).end(data)
      const start = Number(m[1])
      const end = m[2] === '' ? data.length - 1 : Math.min(Number(m[2]), data.length - 1)
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${data.length}`, 'content-length': end - start + 1 }).end(data.subarray(start, end + 1))
    })
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r))
    originUrl = `http://127.0.0.1:${(origin.address() as { port: number }).port}/`
    // the publisher's key (an anvil account, imported as any user would)
    const keyFile = join(home, 'publisher.key')
    await writeFile(keyFile, chain.accounts[4]!.privateKey)
    const imp = await runBitcdn(home, ['wallet', 'import', '--key', 'publisher', '--from-file', keyFile, '--scrypt-n', '1024'])
    expect(imp.code).toBe(0)
    publisher = chain.accounts[4]!.address
    // the node: its own BITCDN_HOME on the same chain
    await writeDeployment(join(nodeHome, 'deployment.json'), chain.deployment)
    const init = await runBitcdn(nodeHome, ['node', 'init', '--scrypt-n', '1024', '--port', '0', '--admin-port', String(await freePort()), '--price', '1'])
    expect(init.code).toBe(0)
    node = await startNodeProcess(nodeHome)
  })

  afterAll(async () => {
    await node?.proc.stop()
    await hub?.stop()
    await new Promise((r) => origin?.close(r))
    await chain?.anvil.stop()
    await rm(home, { recursive: true, force: true })
  })

  it('makes the torrent, announces it signed by the key, and the node pins it and fetches it from the origin', async () => {
    const torrentPath = join(work, 'clip.torrent')
    const r = await runBitcdn(home, [
      'publish', join(work, 'clip.bin'),
      '--hub', hub.url,
      '--web-seed', originUrl,
      '--key', 'publisher',
      '--description', 'a test clip',
      '--pin-node', `${node!.adminUrl}=${join(nodeHome, 'node', 'admin-token')}`,
      '-o', torrentPath,
    ])
    expect(r.stderr).not.toMatch(/BITCDN_ERR/)
    expect(r.code).toBe(0)
    const m = parseTorrentFile(await readFile(torrentPath))
    expect(r.stdout).toContain(`info-hash  ${m.infoHash}`)
    expect(r.stdout).toContain(`publisher  ${publisher}`)
    expect(r.stdout).toContain(`announced  to the catalogue of ${hub.url}`)
    expect(r.stdout).toContain(`pinned     on ${node!.adminUrl}`)
    // the hub's tracker and the origin went into the torrent
    expect(m.announce).toEqual(hub.trackers)
    expect(hub.trackers.length).toBeGreaterThan(0)
    expect(m.urlList).toEqual([originUrl])
    // the catalogue lists it, signed by the publisher
    const entries = ((await (await fetch(`${hub.url}/api/v1/catalogue`)).json()) as { entries: { infoHash: string; publisher: string; name: string; description: string; length: string }[] }).entries
    const e = entries.find((x) => x.infoHash === m.infoHash)
    expect(e).toMatchObject({ publisher, name: 'clip.bin', description: 'a test clip', length: String(data.length) })
    // the node pinned it and fetched every piece from the web seed, verified
    await until('the node to finish the pinned content', async () => {
      const s = (await (await admin(nodeHome, node!.adminUrl, '/status')).json()) as { torrents: { infoHash: string; pinned: boolean; done?: boolean }[] }
      return s.torrents.some((t) => t.infoHash === m.infoHash && t.pinned && t.done === true)
    }, 30_000)
  })

  it('without a web seed it says how to seed the content', async () => {
    const r = await runBitcdn(home, ['publish', join(work, 'clip.bin'), '--hub', hub.url, '--key', 'publisher', '--name', 'no-origin.bin', '-o', join(work, 'no-origin.torrent')])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('note: no web seed')
    expect(r.stderr).toContain(`bitcdn seed ${join(work, 'no-origin.torrent')} --dir ${work}`)
    // renamed with --name: seed looks for <dir>/no-origin.bin, and the note says so
    expect(r.stderr).toContain('seed finds the content as <dir>/no-origin.bin')
  })

  it('a second hub that is down is reported and skipped: the first still lists it, the node still pins it, exit 1', async () => {
    const down = `http://127.0.0.1:${await freePort()}`
    const r = await runBitcdn(home, ['publish', join(work, 'clip.bin'), '--hub', hub.url, '--hub', down, '--web-seed', originUrl, '--key', 'publisher', '--name', 'two-hubs.bin', '-o', join(work, 'two-hubs.torrent'), '--pin-node', `${node!.adminUrl}=${join(nodeHome, 'node', 'admin-token')}`])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`announced  to the catalogue of ${hub.url}`)
    expect(r.stdout).toContain(`pinned     on ${node!.adminUrl}`)
    expect(r.stderr).toMatch(new RegExp(`^bitcdn: BITCDN_ERR_SDK_UNREACHABLE: ${down.replace(/[.]/g, '\\.')} left out: hub unreachable`, 'm'))
    const m = parseTorrentFile(await readFile(join(work, 'two-hubs.torrent')))
    const entries = ((await (await fetch(`${hub.url}/api/v1/catalogue`)).json()) as { entries: { infoHash: string }[] }).entries
    expect(entries.map((x) => x.infoHash)).toContain(m.infoHash)
  })

  it('an unreachable hub is one line with its code, and nothing is written', async () => {
    const port = await freePort()
    const out = join(work, 'never.torrent')
    const r = await runBitcdn(home, ['publish', join(work, 'clip.bin'), '--hub', `http://127.0.0.1:${port}`, '--key', 'publisher', '-o', out])
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^bitcdn: BITCDN_ERR_SDK_UNREACHABLE: hub unreachable/)
    expect(existsSync(out)).toBe(false)
  })

  it('a node that refuses the pin (wrong token) is reported with its code and exit 1; the catalogue still lists it', async () => {
    const badToken = join(home, 'bad-token')
    await writeFile(badToken, 'x'.repeat(32))
    const r = await runBitcdn(home, ['publish', join(work, 'clip.bin'), '--hub', hub.url, '--web-seed', originUrl, '--key', 'publisher', '--name', 'refused.bin', '-o', join(work, 'refused.torrent'), '--pin-node', `${node!.adminUrl}=${badToken}`])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(new RegExp(`^bitcdn: BITCDN_ERR_\\w+: ${node!.adminUrl.replace(/[.]/g, '\\.')} did not pin [0-9a-f]{40}: `, 'm'))
    const m = parseTorrentFile(await readFile(join(work, 'refused.torrent')))
    const entries = ((await (await fetch(`${hub.url}/api/v1/catalogue`)).json()) as { entries: { infoHash: string }[] }).entries
    expect(entries.map((x) => x.infoHash)).toContain(m.infoHash)
  })

  it('bad input is a usage error (exit 2) naming the flag', async () => {
    const noHub = await runBitcdn(home, ['publish', join(work, 'clip.bin')])
    expect(noHub.code).toBe(2)
    expect(noHub.stderr).toContain("required option '--hub <url>'")
    const badPin = await runBitcdn(home, ['publish', join(work, 'clip.bin'), '--hub', hub.url, '--pin-node', `${node!.adminUrl}`])
    expect(badPin.code).toBe(2)
    expect(badPin.stderr).toContain('--pin-node')
    const freeAlone = await runBitcdn(home, ['publish', join(work, 'clip.bin'), '--hub', hub.url, '--free'])
    expect(freeAlone.code).toBe(2)
    expect(freeAlone.stderr).toMatch(/^bitcdn: BITCDN_ERR_USAGE: --free .*--pin-node/)
    const noToken = await runBitcdn(home, ['publish', join(work, 'clip.bin'), '--hub', hub.url, '--pin-node', `${node!.adminUrl}=${join(home, 'missing-token')}`])
    expect(noToken.code).toBe(2)
    expect(noToken.stderr).toMatch(/^bitcdn: BITCDN_ERR_USAGE: --pin-node .*cannot read its token file/)
  })
})
