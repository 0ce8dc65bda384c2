// Types of postgres.js for the TypeScript tests that start a cluster (test/hub).
export interface ThrowawayPostgres {
  /** Connection URL of database `db` (default `postgres`). */
  url(db?: string): string
  /** CREATE DATABASE `name`; its URL. */
  createDatabase(name: string): Promise<string>
  /** Stop the cluster (immediate) and remove its directory. */
  stop(): Promise<void>
}
export function postgresBin(): string | undefined
export function startPostgres(): Promise<ThrowawayPostgres>
