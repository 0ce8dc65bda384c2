/**
 * The hub's storage behind one small interface, with two engines: SQLite (embedded, the default,
 * one hub) and PostgreSQL (several hub instances on one database when a network outgrows one
 * hub). Both run the same compliance suite (`hub-store-compliance.ts`).
 *
 * Freshness is decided inside the database (`INSERT … ON CONFLICT … DO UPDATE … WHERE old.timestamp
 * < new.timestamp`), so two hub instances racing on the same node can never let an older
 * registration overwrite a newer one, and a replayed registration changes nothing.
 */
import type { RegistrationFields } from '../registry/registration.js'
import type { CatalogueFields } from '../registry/catalogue.js'

/** A registered node as the hub holds it. */
export interface NodeRecord {
  fields: RegistrationFields
  signature: string
  /** When this hub (or a sibling) first accepted a registration of this payee, ms. */
  firstSeen: number
  /** When the newest registration arrived, ms (hub clock). */
  lastSeen: number
}

/** The newest probe of a node. */
export interface ProbeRecord {
  payee: string
  at: number
  /** TCP connect to its endpoint succeeded. */
  reachable: boolean
  /** It answered a BitTorrent handshake for one of its pinned torrents. */
  handshake: boolean
  /** It offers the paid-delivery extension in its extended handshake. */
  paid: boolean
  /** It served a piece of pinned content that verified. */
  servedPiece: boolean
  /** Round trip of the connect, ms. */
  latencyMs: number
  /** Why a check failed, one line. */
  detail: string
}

export interface CatalogueRecord {
  fields: CatalogueFields
  signature: string
  receivedAt: number
}

/** One point of a time series: a metric's value at the start of a sampling bucket. */
export interface Sample {
  metric: string
  at: number
  /** Decimal string (byte and token counts exceed 2^53). */
  value: string
}

/** Outcome of a conditional write. */
export type UpsertResult = 'inserted' | 'updated' | 'stale'

export interface HubStore {
  /** `sqlite` or `postgres`. */
  readonly engine: string
  /** Create or upgrade the schema (idempotent; safe when several hubs start at once). */
  migrate(): Promise<void>
  /** Store a verified registration if it is newer than the one held. */
  upsertNode(fields: RegistrationFields, signature: string, receivedAt: number): Promise<UpsertResult>
  getNode(payee: string): Promise<NodeRecord | undefined>
  /** Nodes whose newest registration arrived at or after `seenSince`, by payee. At most `limit`. */
  listNodes(seenSince: number, limit: number): Promise<NodeRecord[]>
  putProbe(probe: ProbeRecord): Promise<void>
  getProbe(payee: string): Promise<ProbeRecord | undefined>
  upsertCatalogue(fields: CatalogueFields, signature: string, receivedAt: number): Promise<UpsertResult>
  listCatalogue(limit: number, offset: number): Promise<CatalogueRecord[]>
  /** Record a sample; the first writer of a (metric, at) wins, so hub instances agree. */
  putSample(sample: Sample): Promise<void>
  /** Samples of `metric` in [from, to], oldest first, at most `limit`. */
  samples(metric: string, from: number, to: number, limit: number): Promise<Sample[]>
  close(): Promise<void>
}

/** Schema shared by both engines (portable SQL: TEXT for big numbers, BIGINT for ms). */
export const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS nodes (
     payee TEXT PRIMARY KEY,
     fields TEXT NOT NULL,
     signature TEXT NOT NULL,
     ts BIGINT NOT NULL,
     first_seen BIGINT NOT NULL,
     last_seen BIGINT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS nodes_last_seen ON nodes (last_seen)`,
  `CREATE TABLE IF NOT EXISTS probes (
     payee TEXT PRIMARY KEY,
     probe TEXT NOT NULL,
     at BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS catalogue (
     publisher TEXT NOT NULL,
     info_hash TEXT NOT NULL,
     fields TEXT NOT NULL,
     signature TEXT NOT NULL,
     ts BIGINT NOT NULL,
     received_at BIGINT NOT NULL,
     PRIMARY KEY (publisher, info_hash))`,
  `CREATE TABLE IF NOT EXISTS samples (
     metric TEXT NOT NULL,
     at BIGINT NOT NULL,
     value TEXT NOT NULL,
     PRIMARY KEY (metric, at))`,
]

/** SQL of the conditional upserts; `$n` placeholders, each used once and in order (SQLite gets `?`). */
export const UPSERT_NODE = `INSERT INTO nodes (payee, fields, signature, ts, first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (payee) DO UPDATE SET fields = excluded.fields, signature = excluded.signature, ts = excluded.ts, last_seen = excluded.last_seen
  WHERE nodes.ts < excluded.ts`
export const UPSERT_CATALOGUE = `INSERT INTO catalogue (publisher, info_hash, fields, signature, ts, received_at) VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (publisher, info_hash) DO UPDATE SET fields = excluded.fields, signature = excluded.signature, ts = excluded.ts, received_at = excluded.received_at
  WHERE catalogue.ts < excluded.ts`
