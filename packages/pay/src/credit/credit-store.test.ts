import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import Database from 'better-sqlite3'
import type { Address } from 'viem'
import { tokenUnits as u } from '@bitcdn/core'
import { openCreditStore } from './credit-store.js'
import { BuyerCredit } from './credit-rules.js'

const dir = mkdtempSync(join(tmpdir(), 'bitcdn-credit-store-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const payer = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as Address
const token = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' as Address
const st = (delivered: bigint, paid = 0n, settledWindows = 0) => ({ delivered, paid, settledWindows, windowStartPaid: 0n, lastActivityMs: 1, writtenOff: 0n })
const DAY = 86_400_000

describe('credit store write-behind', () => {
  it('writes deliveries once they lag by maxLag, a payment at once, and the rest at close', () => {
    const path = join(dir, 'a.db')
    const store = openCreditStore(path)
    const reader = () => {
      const r = openCreditStore(path)
      const v = r.get(payer, token)
      r.close()
      return v
    }
    store.putLazy(payer, token, st(10n), 100n) // first state: written
    expect(reader()?.delivered).toBe(10n)
    store.putLazy(payer, token, st(60n), 100n) // 50 behind: held
    expect(reader()?.delivered).toBe(10n)
    store.putLazy(payer, token, st(110n), 100n) // 100 behind: written
    expect(reader()?.delivered).toBe(110n)
    store.putLazy(payer, token, st(120n, 50n), 100n) // a payment: written at once
    expect(reader()).toMatchObject({ delivered: 120n, paid: 50n })
    store.putLazy(payer, token, st(150n, 50n), 100n) // held…
    expect(reader()?.delivered).toBe(120n)
    store.close() // …until close
    expect(reader()?.delivered).toBe(150n)
  })

  it('list() shows every payer, with what the write-behind still holds', () => {
    const path = join(dir, 'list.db')
    const store = openCreditStore(path)
    const other = '0x90F79bf6EB2c4f870365E785982E1f101E93b906' as Address
    expect(store.list()).toEqual([])
    store.put(payer.toLowerCase() as Address, token, st(10n, 5n))
    store.putLazy(other, token, st(1n), 100n) // first state: written
    store.putLazy(other, token, st(50n), 100n) // held in the write-behind
    const rows = store.list()
    expect(rows).toHaveLength(2)
    // checksummed whatever case it was written in; the held state, not the stored one
    expect(rows.find((r) => r.payer === payer)?.state).toMatchObject({ delivered: 10n, paid: 5n })
    expect(rows.find((r) => r.payer === other)?.state.delivered).toBe(50n)
    store.close()
  })

  it('writes held deliveries within 100 ms', async () => {
    const path = join(dir, 'b.db')
    const store = openCreditStore(path)
    store.putLazy(payer, token, st(1n), 1000n)
    store.putLazy(payer, token, st(2n), 1000n)
    await new Promise((r) => setTimeout(r, 250))
    const r = openCreditStore(path)
    expect(r.get(payer, token)?.delivered).toBe(2n)
    r.close()
    store.close()
  })
})

describe('credit store: forgiveness survives a restart', () => {
  /** A seller's credit for `payer` on `path` at clock `clock.ms`, resumed from the store as the settlement does. */
  const open = (path: string, clock: { ms: number }) => {
    const store = openCreditStore(path, { now: () => clock.ms })
    const credit = new BuyerCredit({ pieceValue: u(10n), now: () => clock.ms, state: store.get(payer, token), onChange: (s) => store.put(payer, token, s) })
    return { store, credit }
  }

  it('the last activity and the written-off total are stored; a restart neither restarts the period nor ends it early', () => {
    const path = join(dir, 'forgive.db')
    const clock = { ms: 1_700_000_000_000 }
    let { store, credit } = open(path, clock)
    credit.delivered(u(10n))
    const deliveredAt = clock.ms
    store.close()
    clock.ms += DAY - 1
    ;({ store, credit } = open(path, clock))
    expect(credit.lastActivityMs).toBe(deliveredAt)
    expect(credit.forgiveIfIdle()).toBe(0n) // the restart did not end the period early
    store.close()
    clock.ms += 1
    ;({ store, credit } = open(path, clock))
    expect(credit.forgiveIfIdle()).toBe(10n) // nor start it again: due one period after the delivery
    store.close()
    ;({ store, credit } = open(path, clock))
    expect(credit.state).toMatchObject({ delivered: 0n, paid: 0n, settledWindows: 0, writtenOff: 10n, lastActivityMs: deliveredAt })
    credit.delivered(u(7n))
    clock.ms += DAY
    expect(credit.forgiveIfIdle()).toBe(7n)
    store.close()
    ;({ store, credit } = open(path, clock))
    expect(credit.writtenOff).toBe(17n) // a running total per payer
    store.close()
  })

  it('a write-off held in the write-behind is written at once (it lowers delivered)', () => {
    const path = join(dir, 'forgive-lazy.db')
    const store = openCreditStore(path)
    store.putLazy(payer, token, st(100n), 1000n)
    store.putLazy(payer, token, { ...st(0n), writtenOff: 100n }, 1000n)
    const r = openCreditStore(path)
    expect(r.get(payer, token)).toMatchObject({ delivered: 0n, writtenOff: 100n })
    r.close()
    store.close()
  })

  it('a store from before forgiveness: old debts are dated at the upgrade, so forgiven one whole period later, never at once', () => {
    const path = join(dir, 'old.db')
    const old = new Database(path)
    old.exec(`CREATE TABLE credit (payer TEXT NOT NULL, token TEXT NOT NULL, delivered TEXT NOT NULL, paid TEXT NOT NULL,
      settled_windows INTEGER NOT NULL, window_start_paid TEXT NOT NULL, PRIMARY KEY (payer, token))`)
    old.prepare('INSERT INTO credit VALUES (?, ?, ?, ?, ?, ?)').run(payer, token, '50', '20', 1, '10')
    old.close()
    const clock = { ms: 1_700_000_000_000 }
    let { store, credit } = open(path, clock)
    expect(credit.state).toMatchObject({ delivered: 50n, paid: 20n, settledWindows: 1, windowStartPaid: 10n, lastActivityMs: clock.ms, writtenOff: 0n })
    clock.ms += DAY - 1
    expect(credit.forgiveIfIdle()).toBe(0n)
    store.close()
    clock.ms += 1
    ;({ store, credit } = open(path, clock)) // the upgrade date stays (it is not re-dated at the next open)
    expect(credit.forgiveIfIdle()).toBe(30n)
    store.close()
  })
})
