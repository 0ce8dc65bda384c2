/**
 * A hub stops while browsers still hold it open: a live statistics stream (SSE, the network page)
 * ends at stop instead of holding the HTTP server's close() — and the process — open forever (the
 * devnet's Ctrl-C hang).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { createHub, openSqliteHubStore } from '@bitcdn/hub'

it('stops promptly while a Server-Sent Events client is connected, ending its stream', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bitcdn-hub-stop-'))
  const hub = await createHub({ hubId: 'test', port: 0, trackerPort: 0, probeIntervalMs: 0 }, { store: openSqliteHubStore(join(dir, 'hub.sqlite')) })
  await hub.start()
  const res = await fetch(`${hub.url}/api/v1/stats/live`)
  const reader = res.body!.getReader()
  expect(new TextDecoder().decode((await reader.read()).value)).toContain('event: stats')
  const ended = (async () => {
    for (;;) if ((await reader.read()).done) return 'ended'
  })()
  const stopped = await Promise.race([hub.stop().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still open after 3 s'), 3000))])
  expect(stopped).toBe('stopped')
  expect(await ended).toBe('ended')
  await rm(dir, { recursive: true, force: true })
})
