import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Address } from 'viem'
import { openCreditStore } from './credit-store.js'

const dir = mkdtempSync(join(tmpdir(), 'bitcdn-credit-store-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const payer = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as Address
const token = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' as Address
const st = (delivered: bigint, paid = 0n, settledWindows = 0) => ({ delivered, paid, settledWindows, windowStartPaid: 0n })

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
