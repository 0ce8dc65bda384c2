import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { createWalSync } from './wal-sync.js'

const dirs: string[] = []
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'wal-sync-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const openDb = (path: string) => {
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec('CREATE TABLE IF NOT EXISTS t (v INTEGER)')
  return db
}

describe('createWalSync', () => {
  it('one fsync covers every caller that arrives while none runs; later callers get the next one', async () => {
    const path = join(tmp(), 'a.db')
    const db = openDb(path)
    const sync = createWalSync(path)
    db.prepare('INSERT INTO t VALUES (1)').run()
    // ten commits' callers at once: the first starts an fsync, the nine that come while it runs
    // share the one after it (their commits may be newer than what the first covers)
    await Promise.all(Array.from({ length: 10 }, () => sync.sync()))
    expect(sync.syncs).toBe(2)
    await sync.sync()
    expect(sync.syncs).toBe(3)
    await sync.close()
    db.close()
  })

  it('a commit survives the process once synced: a new connection reads it', async () => {
    const path = join(tmp(), 'b.db')
    const db = openDb(path)
    const sync = createWalSync(path)
    db.prepare('INSERT INTO t VALUES (42)').run()
    await sync.sync()
    const other = new Database(path, { readonly: true })
    expect(other.prepare('SELECT v FROM t').get()).toEqual({ v: 42 })
    other.close()
    await sync.close()
    db.close()
  })

  it('syncs the database file when there is no WAL, and rejects when neither exists', async () => {
    const d = tmp()
    const path = join(d, 'c.db')
    const db = new Database(path) // rollback journal: no -wal file
    db.exec('CREATE TABLE t (v INTEGER)')
    const sync = createWalSync(path)
    await sync.sync()
    expect(sync.syncs).toBe(1)
    await sync.close()
    db.close()
    const missing = createWalSync(join(d, 'none.db'))
    await expect(missing.sync()).rejects.toMatchObject({ code: 'ENOENT' })
  })
})
