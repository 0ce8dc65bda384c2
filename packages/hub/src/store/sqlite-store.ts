/**
 * The hub store on SQLite (better-sqlite3, WAL): the embedded default for one hub.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { hubError } from '../errors.js'
import { SCHEMA, UPSERT_CATALOGUE, UPSERT_NODE, type CatalogueRecord, type HubStore, type NodeRecord, type ProbeRecord, type Sample, type UpsertResult } from './hub-store.js'

/** `$n` → `?`: one SQL text for both engines (placeholders are used once each, in order). */
const sqlite = (sql: string) => sql.replace(/\$\d+/g, '?')

/**
 * Open (creating) a SQLite hub store at `path` (`:memory:` for tests).
 * @throws BitcdnError BITCDN_ERR_HUB_STORE when the file cannot be opened
 * @example const store = openSqliteHubStore(join(home, 'hub', 'hub.sqlite'))
 */
export function openSqliteHubStore(path: string): HubStore {
  let db: Database.Database
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    db = new Database(path)
    db.pragma('journal_mode = WAL')
    db.pragma('busy_timeout = 5000')
  } catch (cause) {
    throw hubError('store', `cannot open hub database ${path}: ${(cause as Error).message}`, { path }, cause)
  }
  const st = (sql: string) => db.prepare(sqlite(sql))
  let prepared: ReturnType<typeof prepare> | undefined
  const prepare = () => ({
    upsertNode: st(UPSERT_NODE),
    getNode: st('SELECT * FROM nodes WHERE payee = $1'),
    listNodes: st('SELECT * FROM nodes WHERE last_seen >= $1 ORDER BY payee LIMIT $2'),
    putProbe: st('INSERT INTO probes (payee, probe, at) VALUES ($1, $2, $3) ON CONFLICT (payee) DO UPDATE SET probe = excluded.probe, at = excluded.at WHERE probes.at <= excluded.at'),
    getProbe: st('SELECT probe FROM probes WHERE payee = $1'),
    upsertCatalogue: st(UPSERT_CATALOGUE),
    listCatalogue: st('SELECT * FROM catalogue ORDER BY received_at DESC, info_hash LIMIT $1 OFFSET $2'),
    putSample: st('INSERT INTO samples (metric, at, value) VALUES ($1, $2, $3) ON CONFLICT (metric, at) DO NOTHING'),
    samples: st('SELECT metric, at, value FROM samples WHERE metric = $1 AND at >= $2 AND at <= $3 ORDER BY at LIMIT $4'),
  })
  const q = () => (prepared ??= prepare())
  return {
    engine: 'sqlite',
    async migrate() {
      db.transaction(() => {
        for (const s of SCHEMA) db.exec(s)
      })()
      prepared = prepare()
    },
    async upsertNode(fields, signature, receivedAt) {
      const before = q().getNode.get(fields.payee)
      const r = q().upsertNode.run(fields.payee, JSON.stringify(fields), signature, fields.timestamp, receivedAt, receivedAt)
      return result(r.changes, before !== undefined)
    },
    async getNode(payee) {
      const row = q().getNode.get(payee) as NodeRow | undefined
      return row && nodeFromRow(row)
    },
    async listNodes(seenSince, limit) {
      return (q().listNodes.all(seenSince, limit) as NodeRow[]).map(nodeFromRow)
    },
    async putProbe(probe) {
      q().putProbe.run(probe.payee, JSON.stringify(probe), probe.at)
    },
    async getProbe(payee) {
      const row = q().getProbe.get(payee) as { probe: string } | undefined
      return row && (JSON.parse(row.probe) as ProbeRecord)
    },
    async upsertCatalogue(fields, signature, receivedAt) {
      const had = db.prepare('SELECT 1 FROM catalogue WHERE publisher = ? AND info_hash = ?').get(fields.publisher, fields.infoHash)
      const r = q().upsertCatalogue.run(fields.publisher, fields.infoHash, JSON.stringify(fields), signature, fields.timestamp, receivedAt)
      return result(r.changes, had !== undefined)
    },
    async listCatalogue(limit, offset) {
      return (q().listCatalogue.all(limit, offset) as CatalogueRow[]).map(catalogueFromRow)
    },
    async putSample(sample) {
      q().putSample.run(sample.metric, sample.at, sample.value)
    },
    async samples(metric, from, to, limit) {
      return (q().samples.all(metric, from, to, limit) as SampleRow[]).map((r) => ({ metric: r.metric, at: Number(r.at), value: r.value }))
    },
    async close() {
      db.close()
    },
  }
}

export interface NodeRow {
  payee: string
  fields: string
  signature: string
  ts: number | string
  first_seen: number | string
  last_seen: number | string
}
export interface CatalogueRow {
  fields: string
  signature: string
  received_at: number | string
}
interface SampleRow {
  metric: string
  at: number | string
  value: string
}

export function result(changes: number, existed: boolean): UpsertResult {
  if (changes === 0) return 'stale'
  return existed ? 'updated' : 'inserted'
}

export function nodeFromRow(row: NodeRow): NodeRecord {
  return { fields: JSON.parse(row.fields), signature: row.signature, firstSeen: Number(row.first_seen), lastSeen: Number(row.last_seen) }
}

export function catalogueFromRow(row: CatalogueRow): CatalogueRecord {
  return { fields: JSON.parse(row.fields), signature: row.signature, receivedAt: Number(row.received_at) }
}

export type { Sample }
