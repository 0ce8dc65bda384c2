import { describe, expect, it } from 'vitest'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { computeStats } from './network-stats.js'
import { openSqliteHubStore } from '../store/sqlite-store.js'
import { signRegistration } from '../registry/registration.js'

const ESCROW = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const TOKEN = '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512'

describe('computeStats', () => {
  it('proves bytes from claimed token ÷ each node’s price, beside what nodes report', async () => {
    const store = openSqliteHubStore(':memory:')
    await store.migrate()
    const now = Date.now()
    const cheap = privateKeyToAccount(generatePrivateKey())
    const dear = privateKeyToAccount(generatePrivateKey())
    for (const [a, price, served] of [[cheap, '10000', '999999999999'], [dear, '40000', '5']] as const) {
      const r = await signRegistration(a, { payee: a.address, endpoint: '127.0.0.1:1', pricePerGiB: price, token: TOKEN, chainId: 1, escrow: ESCROW, hub: 'h', timestamp: now, servedBytes: served })
      await store.upsertNode(r.fields, r.signature, now)
    }
    const GiB = 1n << 30n
    // cheap was paid for 3 GiB, dear for half a GiB; a payee not in the registry is ignored
    const claimedByPayee = new Map([[cheap.address, 30000n], [dear.address, 20000n], ['0x0000000000000000000000000000000000000009', 10n ** 12n]])
    const s = await computeStats({ store, now: () => now, chain: () => ({ block: 7n, deposited: 10n ** 9n, claimed: 50000n + 10n ** 12n, claimedByPayee, claimsByPayee: new Map() }) })
    expect(s.bytesServedProven).toBe((3n * GiB + GiB / 2n).toString())
    expect(s.bytesServedReported).toBe('1000000000004')
    expect(s).toMatchObject({ nodesOnline: 2, deposited: '1000000000', chainBlock: '7', priceMedian: '40000' })
    await store.close()
  })
})
