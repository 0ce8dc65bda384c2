/**
 * `bitcdn node` as an operator runs it, as real processes on a temp BITCDN_HOME (no chain: the
 * free policy serves): init → start → pin a torrent → `bitcdn get` downloads it through the
 * tracker → status and metrics show the bytes served. The node is started before its tracker and
 * is found once the tracker comes up. The admin API refuses requests without the token; config
 * errors are one line naming the field; SIGTERM exits cleanly and a restart resumes seeding.
 */
import { readFileSync, statSync, writeFileSync, mkdirSync, existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireTools } from '../interop/helpers/clients.js'
import { removeDir, sha256Tree, tempDir, writeRandomFiles } from '../interop/helpers/data.js'
import { stopAll, type TestProcess } from '../interop/helpers/processes.js'
import { admin, freePort, metric, runBitcdn, startBitcdn, startNodeProcess, until, type RunningNodeProcess } from './helpers.js'

const MiB = 1024 * 1024
let dir: string
let home: string
let adminPort: number
let trackerPort: number
let node: RunningNodeProcess
let infoHash: string

beforeAll(() => {
  requireTools(['cli'])
  dir = tempDir('node-daemon-')
  home = join(dir, 'home')
  mkdirSync(home)
  writeRandomFiles(join(dir, 'src'), { 'site/index.html': 20_000, 'site/video.bin': 3 * MiB + 5 })
})
afterAll(async () => {
  await stopAll()
  removeDir(dir)
})

describe('bitcdn node (free policy, no chain)', () => {
  it('init writes the key, a commented config and a 0600 admin token', async () => {
    adminPort = await freePort()
    trackerPort = await freePort()
    const r = await runBitcdn(home, [
      'node', 'init', '--scrypt-n', '1024', '--listen-host', '127.0.0.1', '--port', '0', '--admin-port', String(adminPort), '--free', '--quota', '64MiB',
      '--tracker', `http://127.0.0.1:${trackerPort}/announce`,
    ])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^node address\s+0x[0-9a-fA-F]{40}$/m)
    expect(statSync(join(home, 'node', 'admin-token')).mode & 0o777).toBe(0o600)
    expect(statSync(join(home, 'keys', 'node.json')).mode & 0o777).toBe(0o600)
    // --scrypt-n sets the key's encryption cost (tests use a cheap one: every node start decrypts it)
    expect(JSON.parse(readFileSync(join(home, 'keys', 'node.json'), 'utf8')).crypto.kdfparams.n).toBe(1024)
    const config = readFileSync(join(home, 'node', 'config.toml'), 'utf8')
    expect(config).toMatch(/^# Price of one GiB/m)
    expect(config).toContain(`port = ${adminPort}`)
    // a second init never overwrites
    const again = await runBitcdn(home, ['node', 'init', '--scrypt-n', '1024'])
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/^bitcdn: .*config\.toml already exists.*\n$/)
  })

  it('status and pin work offline on the state files when the node is not running, and say so', async () => {
    const c = await runBitcdn(home, ['create', join(dir, 'src', 'site'), '--piece-length', '64KiB', '-o', join(dir, 'site.torrent')])
    expect(c.code).toBe(0)
    infoHash = c.stdout.match(/^info-hash\s+([0-9a-f]{40})$/m)![1]!
    const s = await runBitcdn(home, ['node', 'status'])
    expect(s.code).toBe(0)
    expect(s.stdout).toMatch(/^node\s+not running/m)
    const p = await runBitcdn(home, ['node', 'pin', join(dir, 'site.torrent'), '--dir', join(dir, 'src')])
    expect(p.code).toBe(0)
    expect(p.stdout).toContain(`pinned ${infoHash}`)
    expect(p.stderr).toMatch(/node not running: recorded in its state/)
  })

  it('a node started before its tracker is found once the tracker comes up; bitcdn get downloads from it', async () => {
    node = await startNodeProcess(home)
    // the node's first announce fails: nothing listens on the tracker port yet
    await node.proc.waitFor(/"msg":"node started"/)
    await new Promise((r) => setTimeout(r, 1500))
    const tracker: TestProcess = startBitcdn(home, ['tracker', '--port', String(trackerPort), '--no-udp'])
    await tracker.waitFor(/^announce\s+http/m)
    // only the tracker names the node: no --peer
    const r = await runBitcdn(dir, ['get', join(dir, 'site.torrent'), '-o', join(dir, 'dl'), '--tracker', `http://127.0.0.1:${trackerPort}/announce`, '--timeout', '90'], 150_000)
    expect(r.stderr).not.toMatch(/^bitcdn:/m)
    expect(r.code).toBe(0)
    expect(sha256Tree(join(dir, 'dl', 'site'))).toEqual(sha256Tree(join(dir, 'src', 'site')))
  })

  it('status and /metrics show the bytes served (free)', async () => {
    const total = 20_000 + 3 * MiB + 5
    await until('bytes served in status', async () => {
      const s = await runBitcdn(home, ['node', 'status', '--json'])
      const j = JSON.parse(s.stdout) as { running: boolean; bytesServed: { free: number; paid: number }; torrents: { infoHash: string; bytesServed: number }[] }
      return j.running && j.bytesServed.free >= total && j.torrents[0]!.bytesServed >= total
    })
    const text = await (await admin(home, node.adminUrl, '/metrics')).text()
    expect(metric(text, 'bitcdn_bytes_served_total', '{kind="free"}')).toBeGreaterThanOrEqual(total)
    expect(metric(text, 'bitcdn_bytes_served_total', '{kind="paid"}')).toBe(0)
    expect(metric(text, 'bitcdn_pieces', '{state="verified"}')).toBeGreaterThan(0)
    const human = await runBitcdn(home, ['node', 'status'])
    expect(human.stdout).toMatch(/^node\s+running, admin http:\/\/127\.0\.0\.1:\d+$/m)
    expect(human.stdout).toContain(`${infoHash}  pinned in-place`)
  })

  it('the admin API refuses requests without the token or with a wrong one', async () => {
    for (const token of [null, 'wrong-token-wrong-token']) {
      for (const [method, path] of [['GET', '/status'], ['GET', '/metrics'], ['POST', '/cashout'], ['DELETE', `/pins/${infoHash}`]] as const) {
        const res = await admin(home, node.adminUrl, path, { method, token })
        expect(res.status).toBe(401)
        expect(((await res.json()) as { code: string }).code).toBe('BITCDN_ERR_ADMIN_UNAUTHORIZED')
      }
    }
    // still pinned: the refused DELETE did nothing
    const s = (await (await admin(home, node.adminUrl, '/status')).json()) as { torrents: { pinned: boolean }[] }
    expect(s.torrents[0]!.pinned).toBe(true)
  })

  it('SIGTERM exits cleanly (code 0, lock released); a restart resumes seeding the pinned content', async () => {
    node.proc.child.kill('SIGTERM')
    const e = await node.proc.exited
    expect(e.code).toBe(0)
    expect(node.proc.stdout()).toMatch(/"msg":"node stopped"/)
    expect(existsSync(join(home, 'node', 'node.pid'))).toBe(false)
    // every stdout line is one JSON object (pino)
    for (const line of node.proc.stdout().trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow()

    node = await startNodeProcess(home)
    await until('the pinned torrent seeding again', async () => {
      const s = (await (await admin(home, node.adminUrl, '/status')).json()) as { torrents: { infoHash: string; done?: boolean }[] }
      return s.torrents.some((t) => t.infoHash === infoHash && t.done === true)
    })
    const r = await runBitcdn(dir, ['get', join(dir, 'site.torrent'), '-o', join(dir, 'dl2'), '--peer', `127.0.0.1:${node.port}`, '--timeout', '60'])
    expect(r.code).toBe(0)
    expect(sha256Tree(join(dir, 'dl2', 'site'))).toEqual(sha256Tree(join(dir, 'src', 'site')))
    await node.proc.stop()
  })

  // the last two use homes of their own (no running node, no shared file), so they run side by side
  it.concurrent('a bad config is one line naming the field, and the node does not start', async ({ expect }) => {
    const bad = join(dir, 'bad-home')
    mkdirSync(bad)
    const init = await runBitcdn(bad, ['node', 'init', '--scrypt-n', '1024', '--admin-port', String(await freePort())])
    expect(init.code).toBe(0)
    const file = join(bad, 'node', 'config.toml')
    const good = readFileSync(file, 'utf8')
    const cases: [string, string, RegExp][] = [
      [good.replace('per_gib = "0.50"', 'per_gib = "half a dollar"'), 'INVALID', /price\.per_gib/],
      [good.replace('storage_quota = "50GiB"', 'storage_quota = "lots"'), 'INVALID', /storage_quota/],
      [good.replace('max_age_hours = 24', 'max_age_hourz = 24'), 'INVALID', /unknown field cashout\.max_age_hourz/],
      [good.replace('[admin]', '[admin'), 'SYNTAX', /line \d+/],
    ]
    for (const [text, code, field] of cases) {
      writeFileSync(file, text)
      const r = await runBitcdn(bad, ['node', 'start'])
      expect(r.code).toBe(1)
      expect(r.stdout).toBe('')
      expect(r.stderr).toMatch(new RegExp(`^bitcdn: BITCDN_ERR_CONFIG_${code}: config \\S+config\\.toml.*\\n$`))
      expect(r.stderr).toMatch(field)
    }
  })

  it.concurrent('a peer port or admin port already taken is one coded line naming the config setting that moves it', async ({ expect }) => {
    const taken = createServer().listen(0, '127.0.0.1')
    await new Promise((resolve) => taken.once('listening', resolve))
    const port = (taken.address() as { port: number }).port
    try {
      for (const [flag, setting] of [['--port', 'listen.port'], ['--admin-port', 'admin.port']] as const) {
        const h = join(dir, `busy-${setting}`)
        mkdirSync(h)
        const other = flag === '--port' ? ['--admin-port', String(await freePort())] : ['--port', '0']
        expect((await runBitcdn(h, ['node', 'init', '--scrypt-n', '1024', flag, String(port), ...other])).code).toBe(0)
        const r = await runBitcdn(h, ['node', 'start'], 30_000)
        expect(r.code).toBe(1)
        expect(r.stderr).toMatch(new RegExp(`^bitcdn: BITCDN_ERR_PORT_IN_USE: (peer|admin) port ${port} on 127\\.0\\.0\\.1 is in use; change ${setting.replace('.', '\\.')} in \\S+config\\.toml\\n$`, 'm'))
        expect(r.stderr).not.toMatch(/\n\s+at /)
      }
    } finally {
      taken.close()
    }
  })
})
