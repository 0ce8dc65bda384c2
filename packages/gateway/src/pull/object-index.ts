/**
 * The pull zone's objects: which torrent holds the origin's current copy of a URL (and variant,
 * per Vary), with the response headers to serve it under and when it was last validated. Kept
 * in the piece cache's SQLite database, so the zone survives restarts.
 */
import type Database from 'better-sqlite3'

export interface StoredObject {
  /** URL path + query on the origin. */
  url: string
  /** The variant key (url + the Vary-selected request header values). */
  key: string
  infoHash: string
  /** Origin response headers kept (content-type, etag, last-modified, cache-control, vary...). */
  headers: Record<string, string>
  /** When the origin last confirmed it, ms. */
  validatedAt: number
  /** Freshness lifetime, s. */
  lifetimeS: number
}

export interface ObjectIndex {
  varyOf(url: string): string[] | undefined
  get(key: string): StoredObject | undefined
  put(o: StoredObject, vary: string[]): void
  revalidated(key: string, at: number, headers: Record<string, string>, lifetimeS: number): void
  remove(key: string): void
}

/** The variant key of a request: the URL, plus the request's values of the Vary headers. */
export function variantKey(url: string, vary: string[], req: Record<string, string | string[] | undefined>): string {
  if (vary.length === 0) return url
  return `${url}\n${vary.map((n) => `${n}:${String(req[n] ?? '')}`).join('\n')}`
}

/**
 * @example
 * const objects = openObjectIndex(cache.db)
 * objects.put({ url: '/a.js', key: '/a.js', infoHash, headers, validatedAt: Date.now(), lifetimeS: 60 }, [])
 */
export function openObjectIndex(db: Database.Database): ObjectIndex {
  db.exec(`
    CREATE TABLE IF NOT EXISTS pull_objects (key TEXT PRIMARY KEY, url TEXT NOT NULL, info_hash TEXT NOT NULL, headers TEXT NOT NULL, validated_at INTEGER NOT NULL, lifetime_s INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS pull_vary (url TEXT PRIMARY KEY, names TEXT NOT NULL);
  `)
  const q = {
    vary: db.prepare('SELECT names FROM pull_vary WHERE url = ?').pluck(),
    putVary: db.prepare('INSERT OR REPLACE INTO pull_vary (url, names) VALUES (?, ?)'),
    get: db.prepare('SELECT key, url, info_hash AS infoHash, headers, validated_at AS validatedAt, lifetime_s AS lifetimeS FROM pull_objects WHERE key = ?'),
    put: db.prepare('INSERT OR REPLACE INTO pull_objects (key, url, info_hash, headers, validated_at, lifetime_s) VALUES (?, ?, ?, ?, ?, ?)'),
    revalidated: db.prepare('UPDATE pull_objects SET validated_at = ?, headers = ?, lifetime_s = ? WHERE key = ?'),
    remove: db.prepare('DELETE FROM pull_objects WHERE key = ?'),
  }
  return {
    varyOf(url) {
      const names = q.vary.get(url) as string | undefined
      return names === undefined ? undefined : (JSON.parse(names) as string[])
    },
    get(key) {
      const row = q.get.get(key) as (Omit<StoredObject, 'headers'> & { headers: string }) | undefined
      return row === undefined ? undefined : { ...row, headers: JSON.parse(row.headers) as Record<string, string> }
    },
    put(o, vary) {
      q.putVary.run(o.url, JSON.stringify(vary))
      q.put.run(o.key, o.url, o.infoHash, JSON.stringify(o.headers), o.validatedAt, o.lifetimeS)
    },
    revalidated(key, at, headers, lifetimeS) {
      q.revalidated.run(at, JSON.stringify(headers), lifetimeS, key)
    },
    remove(key) {
      q.remove.run(key)
    },
  }
}
