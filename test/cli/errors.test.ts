// Bad input fails fast with one line on stderr (the error's message, never a stack) and exit 1.
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { freePort } from '../../bench/lib/process.js'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireTools, runCli } from '../interop/helpers/clients.js'
import { removeDir, tempDir, writeRandomFiles } from '../interop/helpers/data.js'
import { stopAll } from '../interop/helpers/processes.js'

let dir: string

beforeAll(() => {
  requireTools(['cli'])
  dir = tempDir('cli-errors-')
  writeFileSync(join(dir, 'garbage.torrent'), 'this is not bencode')
  writeFileSync(join(dir, 'no-info.torrent'), 'd8:announce17:http://x/announce4:infoi1ee')
  writeRandomFiles(dir, { 'content/a.bin': 40_000 })
})
afterAll(async () => {
  await stopAll()
  removeDir(dir)
})


// Every case is its own CLI process on its own inputs and ports (outputs: distinct names, or none
// written: each fails before it downloads), so the cases run side by side (describe.concurrent):
// the ones that wait out a --timeout or a port check no longer wait one after the other.
function expectOneLineError(r: { code: number | null; stderr: string }, message: RegExp): void {
  expect(r.code).toBe(1)
  expect(r.stderr).toMatch(/^bitcdn: BITCDN_ERR_[A-Z0-9_]+: .+\n$/) // one line, with its code
  expect(r.stderr).toMatch(message)
}

describe.concurrent('get', () => {
  it('a .torrent that is not bencode → invalid torrent, exit 1', async () => {
    expectOneLineError(await runCli(['get', 'garbage.torrent', '-o', 'dl'], dir), /invalid torrent/)
  })

  it('a .torrent whose info is not a dictionary → invalid torrent naming the field, exit 1', async () => {
    expectOneLineError(await runCli(['get', 'no-info.torrent', '-o', 'dl'], dir), /invalid torrent.*info/)
  })

  it('a magnet link without a valid btih → bad magnet, exit 1', async () => {
    expectOneLineError(await runCli(['get', 'magnet:?xt=urn:btih:not-a-hash&dn=x', '-o', 'dl'], dir), /magnet/i)
  })

  it('a .torrent path that does not exist → not found, exit 1', async () => {
    expectOneLineError(await runCli(['get', 'missing.torrent', '-o', 'dl'], dir), /missing\.torrent/)
  })

  it('an info-hash with no peer, tracker, web seed or DHT → fails at once naming the flags, exit 1', async () => {
    const r = await runCli(['get', '0123456789abcdef0123456789abcdef01234567', '-o', 'dl'], dir)
    expectOneLineError(r, /no source to download from.*--peer, --tracker, --web-seed or --dht/)
  })

  it('only an unreachable peer → no source within --timeout, exit 1', async () => {
    const port = await freePort()
    const hash = '0123456789abcdef0123456789abcdef01234567'
    const r = await runCli(['get', hash, '-o', 'dl', '--peer', `127.0.0.1:${port}`, '--timeout', '2'], dir)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^bitcdn: BITCDN_ERR_NO_SOURCE: no source delivered any data for 2 s/m)
  })
})

describe.concurrent('get with only a dead tracker', () => {
  it('warns that the tracker is unreachable, then fails with no source, exit 1', async () => {
    const port = await freePort()
    const made = await runCli(['create', 'content', '--tracker', `http://127.0.0.1:${port}/announce`, '-o', 'dead-tracker.torrent'], dir)
    expect(made.code).toBe(0)
    const r = await runCli(['get', 'dead-tracker.torrent', '-o', 'dl-dead', '--timeout', '3'], dir)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(new RegExp(`^warning: .*tracker .*127\\.0\\.0\\.1:${port}.*unreachable`, 'm'))
    expect(r.stderr).toMatch(/^bitcdn: BITCDN_ERR_NO_SOURCE: no source delivered any data for 3 s \(tried 0 peer\(s\), 1 tracker\(s\), 0 web seed\(s\)\)/m)
  })
})

describe.concurrent('create and seed', () => {
  it('create of a missing path → not found, exit 1, no .torrent written', async () => {
    expectOneLineError(await runCli(['create', 'nope', '-o', 'nope.torrent'], dir), /not found: nope/)
  })

  it('seed of a missing path → not found, exit 1', async () => {
    expectOneLineError(await runCli(['seed', 'nope', '--port', '0'], dir), /not found: nope/)
  })

  it('seed of a malformed .torrent → invalid torrent, exit 1', async () => {
    expectOneLineError(await runCli(['seed', 'garbage.torrent', '--port', '0'], dir), /invalid torrent/)
  })

  it('seed or tracker on a port already taken → names the port and --port, exit 1', async () => {
    const taken = createServer().listen(0, '127.0.0.1')
    await new Promise((resolve) => taken.once('listening', resolve))
    const port = String((taken.address() as { port: number }).port)
    try {
      expectOneLineError(await runCli(['seed', 'content', '--port', port], dir), new RegExp(`port ${port} is already in use; pick another with --port`))
      expectOneLineError(await runCli(['tracker', '--port', port, '--no-udp'], dir), new RegExp(`port ${port} is already in use`))
    } finally {
      taken.close()
    }
  })

  it('gateway or hub on a port already taken → names the port and the flag that moves it, exits at once, exit 1', async () => {
    const taken = createServer().listen(0, '127.0.0.1')
    await new Promise((resolve) => taken.once('listening', resolve))
    const port = String((taken.address() as { port: number }).port)
    try {
      // a half-started gateway (its swarm listening) used to keep the process alive after the error
      expectOneLineError(await runCli(['gateway', '--port', port], dir, 20_000), new RegExp(`port ${port} is already in use; pick another with --port$`, 'm'))
      expectOneLineError(await runCli(['gateway', '--port', '0', '--swarm-port', port], dir, 20_000), new RegExp(`port ${port} is already in use; pick another with --swarm-port`))
      expectOneLineError(await runCli(['hub', '--port', '0', '--tracker-port', port, '--no-web'], dir, 20_000), new RegExp(`port ${port} is already in use; pick another with --tracker-port`))
    } finally {
      taken.close()
    }
  })

  it('gateway --account with an unreachable RPC → the same coded line as get --wallet, naming the URL, exit 1', async () => {
    const port = await freePort()
    const deployment = join(dir, 'dead-chain.json')
    writeFileSync(deployment, JSON.stringify({
      chainId: 31337, rpcUrl: `http://127.0.0.1:${port}`, escrow: '0xA51c1fc2f0D1a1b8494Ed1FE312d7C3a78Ed91C0',
      tokens: { USDC: '0x5FbDB2315678afecb367f032d93F642f64180aa3', USDT: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' },
      withdrawDelaySeconds: 60, deployedAtBlock: 1, network: 'local',
    }))
    const r = await runCli(['gateway', '--port', '0', '--account', 'default', '--max-price', '1', '--budget', '1', '--deployment', deployment], dir, 30_000)
    expectOneLineError(r, new RegExp(`^bitcdn: BITCDN_ERR_RPC_UNREACHABLE: cannot reach the chain RPC at http://127\\.0\\.0\\.1:${port} \\(connection refused\\)`))
  })

  it('seed of a .torrent whose data is missing → names the data and --dir, exit 1', async () => {
    const made = await runCli(['create', 'content', '-o', 'content.torrent'], dir)
    expect(made.code).toBe(0)
    const r = await runCli(['seed', 'content.torrent', '--dir', join(dir, 'elsewhere'), '--port', '0'], dir)
    expectOneLineError(r, /data of 'content'.*not found/)
  })
})
