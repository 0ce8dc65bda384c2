import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Address } from 'viem'
import { createPayeeLedger, type StoredCredit } from '@bitcdn/pay'
import { earningsFromLedger } from './earnings.js'

const dir = mkdtempSync(join(tmpdir(), 'bitcdn-earnings-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const payee = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as Address
const token = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' as Address
const a = '0x90F79bf6EB2c4f870365E785982E1f101E93b906' as Address
const b = '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65' as Address
const credit = (payer: Address, delivered: bigint, paid: bigint, writtenOff: bigint, lastActivityMs = 1_700_000_000_000): StoredCredit => ({
  payer,
  token,
  state: { delivered, paid, settledWindows: 0, windowStartPaid: paid, lastActivityMs, writtenOff },
})

describe('earnings view', () => {
  it('shows what each payer owes now and what was written off, with totals, for payers that never sent a cheque too', () => {
    const ledger = createPayeeLedger({ dbPath: join(dir, 'ledger.db'), payee, domain: { chainId: 31337, verifyingContract: token } })
    try {
      expect(earningsFromLedger(ledger)).toEqual({ payee, totals: [], payers: [], claims: [] })
      const e = earningsFromLedger(ledger, [credit(a, 700n, 200n, 300n), credit(b, 100n, 150n, 0n)])
      expect(e.payers).toEqual([
        { payer: a, token, accruedUnits: 0n, claimedUnits: 0n, heldUnits: 0n, owedUnits: 500n, writtenOffUnits: 300n, lastActivityMs: 1_700_000_000_000 },
        // paid ahead of delivery owes nothing (never a negative debt)
        { payer: b, token, accruedUnits: 0n, claimedUnits: 0n, heldUnits: 0n, owedUnits: 0n, writtenOffUnits: 0n, lastActivityMs: 1_700_000_000_000 },
      ])
      expect(e.totals).toEqual([{ token, accruedUnits: 0n, heldUnits: 0n, claimedUnits: 0n, owedUnits: 500n, writtenOffUnits: 300n }])
    } finally {
      ledger.close()
    }
  })
})
