// Must-show: transmission (Debian's transmission-daemon) downloads from a BitCDN seeder and every
// byte verifies. transmission honours the `reqq` we advertise; before it did not get one it queued
// thousands of requests and was disconnected again and again.
//
// transmission 3.00 will not dial 127.0.0.0/8 or ::1 (it counts them as "martian" addresses), and
// it keeps one peer per IP address. So this test runs on the host's first non-loopback IPv4
// address: a BitCDN tracker and seeder listen there, transmission binds there, and transmission
// learns the seeder from the tracker. Nothing leaves the host. Because transmission keeps one peer
// per address, a tracker that hands transmission its own address back (bittorrent-tracker does, in
// random order) makes it dial itself and never the seeder: "connected to 0" for good. Our tracker
// leaves the announcer out of its own peer list.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { requireTools, runCli, startCli } from './helpers/clients.js'
import { removeDir, sha256Tree, tempDir, writeRandomFiles } from './helpers/data.js'
import { runProcess, startProcess, stopAll } from './helpers/processes.js'
import { freePort, sleep } from '../swarm/hostile-fixture.js'

const MiB = 1024 * 1024
let dir: string | undefined

const hasTransmission = (() => {
  try {
    execFileSync('transmission-daemon', ['--version'], { stdio: 'ignore' })
    execFileSync('transmission-remote', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

/** The first IPv4 address of this host that is not loopback. */
function hostAddress(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return undefined
}

beforeAll(() => {
  requireTools(['cli'])
  dir = tempDir('interop-transmission-')
})
afterAll(async () => {
  await stopAll()
  removeDir(dir)
})

it('transmission-daemon downloads a multi-file torrent from a BitCDN seeder and every byte verifies', async (ctx) => {
  if (!hasTransmission) {
    const reason = 'skipped: transmission-daemon / transmission-remote not installed (.ci/run installs them: apt-get install transmission-daemon)'
    console.warn(reason)
    return ctx.skip(reason)
  }
  const ip = hostAddress()
  if (ip === undefined) {
    const reason = 'skipped: no non-loopback IPv4 address on this host (transmission refuses to dial 127.0.0.0/8)'
    console.warn(reason)
    return ctx.skip(reason)
  }
  const d = dir!
  writeRandomFiles(join(d, 'src'), { 'site/video.bin': 12 * MiB + 321, 'site/index.html': 4321, 'site/img/logo.png': 70_000 })

  const tracker = startCli(['tracker', '--host', ip, '--port', '0', '--no-udp'])
  const announce = (await tracker.waitFor(/^announce\s+(http:\/\/\S+)$/m))[1]!
  const torrent = join(d, 'site.torrent')
  expect((await runCli(['create', join(d, 'src', 'site'), '--tracker', announce, '--piece-length', '256KiB', '-o', torrent])).code).toBe(0)
  const seeder = startCli(['seed', torrent, '--dir', join(d, 'src'), '--host', ip, '--port', '0'])
  await seeder.waitFor(/^listening\s/m)

  const rpcPort = await freePort()
  const config = join(d, 'transmission')
  const downloads = join(d, 'dl')
  mkdirSync(config)
  mkdirSync(downloads)
  writeFileSync(
    join(config, 'settings.json'),
    JSON.stringify({
      'rpc-enabled': true,
      'rpc-port': rpcPort,
      'rpc-bind-address': '127.0.0.1',
      'rpc-authentication-required': false,
      'rpc-whitelist-enabled': false,
      'rpc-host-whitelist-enabled': false,
      'peer-port': await freePort(),
      'peer-port-random-on-start': false,
      'bind-address-ipv4': ip,
      'dht-enabled': false,
      'lpd-enabled': false,
      'utp-enabled': false,
      'port-forwarding-enabled': false,
      encryption: 0, // prefer plain BitTorrent (we do not speak MSE; a first byte other than 19 is closed)
      'download-dir': downloads,
      'incomplete-dir-enabled': false,
      'start-added-torrents': true,
      'message-level': 1,
    }),
  )
  startProcess('transmission-daemon', ['-f', '-g', config], { name: 'transmission-daemon' })
  const rpc = `127.0.0.1:${rpcPort}`
  const remote = (...args: string[]) => runProcess('transmission-remote', [rpc, ...args], { timeoutMs: 15_000 })
  // the daemon answers RPC once it is up
  for (let i = 0; (await remote('-l')).code !== 0; i++) {
    if (i > 60) throw new Error('transmission-daemon did not answer RPC within 30 s')
    await sleep(500)
  }
  const added = await remote('-a', torrent)
  expect(added.stdout).toMatch(/success/)

  let info = ''
  for (let i = 0; i < 240 && !/Percent Done: 100%/.test(info); i++) {
    await sleep(500)
    info = (await remote('-t', '1', '-i')).stdout
  }
  expect(info).toMatch(/Percent Done: 100%/)
  // transmission checked every piece itself ("Have: ... verified") and the bytes are ours
  expect(info).toMatch(/Corrupt DL: None/)
  expect(sha256Tree(join(downloads, 'site'))).toEqual(sha256Tree(join(d, 'src', 'site')))
  expect(seeder.stderr()).not.toMatch(/^bitcdn:/m)
}, 180_000)
