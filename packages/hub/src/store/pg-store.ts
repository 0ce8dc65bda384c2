/**
 * The hub store on PostgreSQL (`pg`): several hub instances share one database, so a node
 * registered through one hub is listed by all and their statistics agree. Migrations take an
 * advisory lock, so hubs starting together do not race on `CREATE TABLE`.
 */
import pg from 'pg'
import { hubError } from '../errors.js'
import { SCHEMA, UPSERT_CATALOGUE, UPSERT_NODE, type HubStore, type ProbeRecord } from './hub-store.js'
import { catalogueFromRow, nodeFromRow, result, type CatalogueRow, type NodeRow } from './sqlite-store.js'

/** Any 64-bit number; the hub's migration lock. */
const MIGRATE_LOCK = 0x6269_7463_646e

/**
 * Open a PostgreSQL hub store (a pool; nothing connects until the first query).
 * @example const store = openPgHubStore('postgres://bitcdn@127.0.0.1:5432/bitcdn')
 */
export function openPgHubStore(url: string, opts: { max?: number } = {}): HubStore {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10 })
  // an idle client's error (server restart) must not become an unhandled 'error' that ends the process
  pool.on('error', () => {})
  const where = redact(url)
  const query = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => {
    try {
      return await pool.query<R>(sql, params)
    } catch (cause) {
      throw hubError('store', `hub database ${where}: ${(cause as Error).message}`, { url: where }, cause)
    }
  }
  /** Existed-before and the conditional write in one transaction, so the answer is exact. */
  const upsert = async (exists: string, existsParams: unknown[], sql: string, params: unknown[]) => {
    let client: pg.PoolClient
    try {
      client = await pool.connect()
    } catch (cause) {
      throw hubError('store', `hub database ${where}: ${(cause as Error).message}`, { url: where }, cause)
    }
    try {
      await client.query('BEGIN')
      const had = (await client.query(exists, existsParams)).rowCount ?? 0
      const r = await client.query(sql, params)
      await client.query('COMMIT')
      return result(r.rowCount ?? 0, had > 0)
    } catch (cause) {
      await client.query('ROLLBACK').catch(() => {})
      throw hubError('store', `hub database ${where}: ${(cause as Error).message}`, { url: where }, cause)
    } finally {
      client.release()
    }
  }
  return {
    engine: 'postgres',
    async migrate() {
      let client: pg.PoolClient
      try {
        client = await pool.connect()
      } catch (cause) {
        throw hubError('store', `cannot reach hub database ${where}: ${(cause as Error).message}`, { url: where }, cause)
      }
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK])
        for (const s of SCHEMA) await client.query(s)
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK]).catch(() => {})
        client.release()
      }
    },
    upsertNode(fields, signature, receivedAt) {
      return upsert('SELECT 1 FROM nodes WHERE payee = $1', [fields.payee], UPSERT_NODE, [fields.payee, JSON.stringify(fields), signature, fields.timestamp, receivedAt, receivedAt])
    },
    async getNode(payee) {
      const r = await query<NodeRow>('SELECT * FROM nodes WHERE payee = $1', [payee])
      return r.rows[0] && nodeFromRow(r.rows[0])
    },
    async listNodes(seenSince, limit) {
      const r = await query<NodeRow>('SELECT * FROM nodes WHERE last_seen >= $1 ORDER BY payee LIMIT $2', [seenSince, limit])
      return r.rows.map(nodeFromRow)
    },
    async putProbe(probe) {
      await query(
        'INSERT INTO probes (payee, probe, at) VALUES ($1, $2, $3) ON CONFLICT (payee) DO UPDATE SET probe = excluded.probe, at = excluded.at WHERE probes.at <= excluded.at',
        [probe.payee, JSON.stringify(probe), probe.at],
      )
    },
    async getProbe(payee) {
      const r = await query<{ probe: string }>('SELECT probe FROM probes WHERE payee = $1', [payee])
      return r.rows[0] && (JSON.parse(r.rows[0].probe) as ProbeRecord)
    },
    upsertCatalogue(fields, signature, receivedAt) {
      return upsert(
        'SELECT 1 FROM catalogue WHERE publisher = $1 AND info_hash = $2',
        [fields.publisher, fields.infoHash],
        UPSERT_CATALOGUE,
        [fields.publisher, fields.infoHash, JSON.stringify(fields), signature, fields.timestamp, receivedAt],
      )
    },
    async listCatalogue(limit, offset) {
      const r = await query<CatalogueRow>('SELECT * FROM catalogue ORDER BY received_at DESC, info_hash LIMIT $1 OFFSET $2', [limit, offset])
      return r.rows.map(catalogueFromRow)
    },
    async putSample(sample) {
      await query('INSERT INTO samples (metric, at, value) VALUES ($1, $2, $3) ON CONFLICT (metric, at) DO NOTHING', [sample.metric, sample.at, sample.value])
    },
    async samples(metric, from, to, limit) {
      const r = await query<{ metric: string; at: string; value: string }>(
        'SELECT metric, at, value FROM samples WHERE metric = $1 AND at >= $2 AND at <= $3 ORDER BY at LIMIT $4',
        [metric, from, to, limit],
      )
      return r.rows.map((x) => ({ metric: x.metric, at: Number(x.at), value: x.value }))
    },
    async close() {
      await pool.end()
    },
  }
}

/** The URL without its password, for messages and logs. */
function redact(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return 'postgres://(unparseable URL)'
  }
}
