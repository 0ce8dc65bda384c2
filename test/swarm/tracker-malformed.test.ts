// Attack: malformed announces against a real `bitcdn tracker` process. Each HTTP one is answered
// with a bencoded `failure reason`; UDP junk gets no answer; the operator sees one line per
// distinct problem and never a stack trace; the tracker then answers a valid announce.
import dgram from 'node:dgram'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { requireTools, startCli } from '../interop/helpers/clients.js'
import { stopAll, type TestProcess } from '../interop/helpers/processes.js'
import { sleep } from './hostile-fixture.js'

let tracker: TestProcess
let http: string
let udpPort: number

beforeAll(async () => {
  requireTools(['cli'])
  tracker = startCli(['tracker', '--port', '0'])
  http = (await tracker.waitFor(/^announce\s+(http:\S+)$/m))[1]!.replace(/\/announce$/, '')
  udpPort = Number((await tracker.waitFor(/^announce\s+udp:\/\/[^:]+:(\d+)$/m))[1])
})
afterAll(() => stopAll())

const hash = 'a'.repeat(20)
const malformed = [
  '/announce',
  '/announce?info_hash=abc&peer_id=' + 'b'.repeat(20) + '&port=1',
  `/announce?info_hash=${hash}&info_hash=${hash}&peer_id=${'b'.repeat(20)}&port=1`,
  `/announce?info_hash=%zz%zz&peer_id=${'b'.repeat(20)}&port=1`,
  `/announce?info_hash=${hash}&peer_id=short&port=1`,
  `/announce?info_hash=${hash}&peer_id=${'b'.repeat(20)}&port=99999999`,
  `/announce?info_hash=${hash}&peer_id=${'b'.repeat(20)}&port=abc`,
  `/announce?info_hash=${hash}&peer_id=${'b'.repeat(20)}&port=1&event=bogus`,
  '/scrape?info_hash=abc',
  '/%',
]

it('malformed HTTP announces get a bencoded failure reason; malformed UDP packets are dropped; one line each, no stack trace', async () => {
  for (const path of malformed) {
    const res = await fetch(http + path)
    const body = await res.text()
    expect(body, path).toMatch(/^d14:failure reason\d+:.+e$/)
  }
  const sock = dgram.createSocket('udp4')
  const replies: Buffer[] = []
  sock.on('message', (m) => replies.push(m))
  const bad = [Buffer.from('hello'), Buffer.alloc(16, 0xff), Buffer.concat([Buffer.alloc(8), Buffer.from([0, 0, 0, 1]), Buffer.alloc(86)])]
  for (const b of bad) await new Promise<void>((r) => sock.send(b, udpPort, '127.0.0.1', () => r()))
  await sleep(500)
  sock.close()
  expect(replies).toEqual([])
  const err = tracker.stderr()
  expect(err).toMatch(/^warning: refused a tracker request: invalid info_hash$/m)
  expect(err).toMatch(/^warning: refused a tracker request: invalid port$/m)
  expect(err).not.toMatch(/^\s+at /m)
  // one line per distinct message in the window, not one per request
  expect(err.match(/invalid info_hash$/gm)!.length).toBe(1)
  // and it is still a tracker
  const ok = await (await fetch(`${http}/announce?info_hash=${hash}&peer_id=${'c'.repeat(20)}&port=6881`)).text()
  expect(ok).toMatch(/^d8:completei\d+e10:incompletei\d+e8:intervali\d+e5:peers/)
  expect(tracker.child.exitCode).toBeNull()
})
