/**
 * The hub store compliance suite, run against both engines: SQLite (a real file) and PostgreSQL
 * (a real Debian server started for the test). Same behaviour from both, or the hub would act
 * differently once an operator scales out.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts'
import { openPgHubStore, openSqliteHubStore, signRegistration, type HubStore } from '@bitcdn/hub'
import { registration } from './fixtures.js'
import { postgresBin, startPostgres, type ThrowawayPostgres } from '../../bench/lib/postgres.js'

function compliance(name: string, open: () => Promise<HubStore>) {
  describe(`hub store: ${name}`, () => {
    let store: HubStore
    beforeAll(async () => {
      store = await open()
      await store.migrate()
      await store.migrate() // idempotent
    })
    afterAll(() => store.close())

    it('inserts, updates only with a newer timestamp, and reports a replay as stale', async () => {
      const acct = privateKeyToAccount(generatePrivateKey())
      const t = Date.now()
      const a = await signRegistration(acct, registration(acct.address, { timestamp: t }))
      const b = await signRegistration(acct, registration(acct.address, { timestamp: t + 1, pricePerGiB: '20000' }))
      expect(await store.upsertNode(a.fields, a.signature, t)).toBe('inserted')
      expect(await store.upsertNode(b.fields, b.signature, t + 5)).toBe('updated')
      expect(await store.upsertNode(a.fields, a.signature, t + 6)).toBe('stale')
      expect(await store.upsertNode(b.fields, b.signature, t + 7)).toBe('stale')
      const rec = await store.getNode(acct.address)
      expect(rec?.fields.pricePerGiB).toBe('20000')
      expect(rec?.firstSeen).toBe(t)
      expect(rec?.lastSeen).toBe(t + 5)
    })

    it('lists only nodes seen since a time, ordered, limited', async () => {
      const t = 1_000_000_000_000
      const accts = [0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey()))
      for (const [i, a] of accts.entries()) {
        const r = await signRegistration(a, registration(a.address, { timestamp: t + i }))
        await store.upsertNode(r.fields, r.signature, t + i * 1000)
      }
      const listed = (await store.listNodes(t + 1000, 100)).map((n) => n.fields.payee).filter((p) => accts.some((a) => a.address === p))
      expect(listed.sort()).toEqual([accts[1]!.address, accts[2]!.address].sort())
      expect((await store.listNodes(0, 1)).length).toBe(1)
    })

    it('keeps the newest probe', async () => {
      const payee = privateKeyToAccount(generatePrivateKey()).address
      const base = { payee, reachable: true, handshake: true, paid: false, servedPiece: false, latencyMs: 3, detail: '' }
      await store.putProbe({ ...base, at: 20 })
      await store.putProbe({ ...base, at: 10, reachable: false })
      expect((await store.getProbe(payee))?.reachable).toBe(true)
      await store.putProbe({ ...base, at: 30, reachable: false, detail: 'refused' })
      expect(await store.getProbe(payee)).toMatchObject({ reachable: false, detail: 'refused', at: 30 })
    })

    it('samples: the first writer of a bucket wins and ranges are inclusive', async () => {
      await store.putSample({ metric: 'nodesOnline', at: 5000, value: '3' })
      await store.putSample({ metric: 'nodesOnline', at: 5000, value: '9' })
      await store.putSample({ metric: 'nodesOnline', at: 10000, value: '4' })
      await store.putSample({ metric: 'claimed', at: 10000, value: '123456789012345678901234567890' })
      expect(await store.samples('nodesOnline', 5000, 10000, 10)).toEqual([
        { metric: 'nodesOnline', at: 5000, value: '3' },
        { metric: 'nodesOnline', at: 10000, value: '4' },
      ])
      expect((await store.samples('claimed', 0, 20000, 10))[0]?.value).toBe('123456789012345678901234567890')
    })
  })
}

const dir = mkdtempSync(join(tmpdir(), 'bitcdn-hubstore-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
compliance('sqlite', async () => openSqliteHubStore(join(dir, 'hub.sqlite')))

// PostgreSQL must be present where the hub's tests run (.ci/run installs it); elsewhere say so
const havePg = postgresBin() !== undefined
if (!havePg) console.warn('skipping the PostgreSQL hub store suite: PostgreSQL is not installed (apt-get install postgresql)')
describe.skipIf(!havePg)('postgres', () => {
  let pgServer: ThrowawayPostgres
  let url: string
  beforeAll(async () => {
    pgServer = await startPostgres()
    url = await pgServer.createDatabase('hubstore')
  })
  afterAll(() => pgServer?.stop())
  compliance('postgres', async () => openPgHubStore(url))
  it('an unreachable database is one line with BITCDN_ERR_HUB_STORE', async () => {
    const s = openPgHubStore('postgres://bitcdn:secret@127.0.0.1:1/none')
    await expect(s.migrate()).rejects.toMatchObject({ code: 'BITCDN_ERR_HUB_STORE', message: expect.stringMatching(/^cannot reach hub database postgres:\/\/bitcdn:\*\*\*@127\.0\.0\.1:1\/none: /) })
    await s.close()
  })
})
