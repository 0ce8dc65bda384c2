// A dialled peer is retried with backoff: `get --peer` started before its seeder listens (a
// refused first connect) still downloads once the seeder comes up, and a seeder that dies
// mid-download and comes back on the same port is dialled again; the result verifies.
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { requireTools, runCli, startCli } from '../interop/helpers/clients.js'
import { removeDir, sha256Tree, tempDir, writeRandomFiles } from '../interop/helpers/data.js'
import { stopAll } from '../interop/helpers/processes.js'
import { freePort, sleep } from './hostile-fixture.js'

const MiB = 1024 * 1024
let dir: string
let torrent: string

beforeAll(async () => {
  requireTools(['cli'])
  dir = tempDir('peer-retry-')
  writeRandomFiles(join(dir, 'src'), { 'data.bin': 6 * MiB })
  torrent = join(dir, 'data.torrent')
  const r = await runCli(['create', join(dir, 'src', 'data.bin'), '--piece-length', '256KiB', '-o', torrent])
  expect(r.code).toBe(0)
})
afterAll(async () => {
  await stopAll()
  removeDir(dir)
})

const seed = (port: number) => startCli(['seed', torrent, '--dir', join(dir, 'src'), '--port', String(port), '--upload-limit', '1MiB'])

it('a refused first connect and a dropped connection are retried until the download completes', async () => {
  const port = await freePort()
  const out = join(dir, 'dl')
  const get = startCli(['get', torrent, '-o', out, '--peer', `127.0.0.1:${port}`, '--timeout', '60'])
  await get.waitFor(/could not connect to 127\.0\.0\.1:\d+: connect ECONNREFUSED/)
  await sleep(1500)
  const first = seed(port)
  await first.waitFor(/^listening\s/m)
  await get.waitFor(/^progress (?!0\.0%)\d+\.\d%/m)
  first.child.kill('SIGKILL') // a drop mid-download
  await first.exited
  await sleep(1000)
  const second = seed(port)
  await second.waitFor(/^listening\s/m)
  const exit = await get.exited
  expect(get.stderr()).not.toMatch(/^bitcdn:/m)
  expect(exit.code).toBe(0)
  expect(sha256Tree(out)).toEqual(sha256Tree(join(dir, 'src')))
}, 120_000)
