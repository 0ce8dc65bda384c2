/**
 * Attack on a real anvil: a flood of cheques naming random payers must not become a flood of RPC
 * reads. The seller's lookups for new payers are rate limited (token bucket, here 5 at once on a
 * frozen clock) and negatively cached; every forged cheque is rejected; a real buyer's cheques
 * interleaved in the flood are accepted and credited with no further reads after its first.
 * RPC calls are counted at the viem HTTP transport (every `eth_call`, and `signerOf` = lookups).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPublicClient, encodeFunctionData, http, type Address, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { tokenUnits } from '@bitcdn/core'
import { createPayerWallet, createPrivateKeyChequeSigner, createSellerSettlement, escrowAbi, type SignedCheque } from '@bitcdn/pay'
import { startPayChain, type PayChain } from './helpers.js'

let chain: PayChain
const dir = mkdtempSync(join(tmpdir(), 'bitcdn-flood-'))
beforeAll(async () => {
  chain = await startPayChain({ withdrawDelaySeconds: 60 })
})
afterAll(async () => {
  await chain?.anvil.stop()
  rmSync(dir, { recursive: true, force: true })
})

const SIGNER_OF = encodeFunctionData({ abi: escrowAbi, functionName: 'signerOf', args: ['0x0000000000000000000000000000000000000001'] }).slice(0, 10)

/** A public client that counts the RPC calls it sends. */
function countingClient(rpcUrl: string) {
  const counts = { ethCall: 0, signerOf: 0 }
  const publicClient = createPublicClient({
    chain: foundry,
    pollingInterval: 50,
    transport: http(rpcUrl, {
      onFetchRequest: (_req, init) => {
        const body = JSON.parse(String(init.body)) as { method: string; params?: { data?: string; input?: string }[] } | { method: string; params?: { data?: string; input?: string }[] }[]
        for (const m of Array.isArray(body) ? body : [body]) {
          if (m.method !== 'eth_call') continue
          counts.ethCall++
          const data = m.params?.[0]?.data ?? m.params?.[0]?.input ?? ''
          if (data.startsWith(SIGNER_OF)) counts.signerOf++
        }
      },
    }),
  })
  return { publicClient, counts }
}

describe('cheque flood: chain lookups for unknown payers are bounded', () => {
  it('500 forged cheques naming random payers cost at most the configured lookups; a real buyer interleaved is credited', async () => {
    const { deployment, accounts } = chain
    const usdc = deployment.tokens.USDC
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
    const payer = accounts[1]!
    const payee = accounts[2]!
    const lateBuyer = accounts[3]!
    await chain.deposit(payer.privateKey, 100_000_000n)
    await chain.deposit(lateBuyer.privateKey, 100_000_000n)
    const { publicClient, counts } = countingClient(chain.anvil.rpcUrl)
    let nowMs = 1_000_000 // frozen: the bucket does not refill during the flood
    const LOOKUP_BURST = 5
    const piece = tokenUnits(1_000n)
    const seller = createSellerSettlement(
      {
        ledgerPath: join(dir, 'seller.db'),
        payee: payee.address,
        domain,
        tokens: [usdc],
        pollingIntervalMs: 50,
        cashout: { thresholdUnits: 10n ** 15n, maxAgeMs: 86_400_000, pollIntervalMs: 3_600_000 },
        lookups: { lookupBurst: LOOKUP_BURST, lookupsPerSecond: 1 },
        // this test is about chain lookups: free-balance credit is not what it measures
        softAllowance: 10n ** 12n,
      },
      () => ({ pieceValue: piece }),
    )({ publicClient: publicClient as never, walletClient: chain.wallet(payee.privateKey), clock: { now: () => nowMs } })
    const wallet = createPayerWallet({ dbPath: join(dir, 'payer.db'), signer: createPrivateKeyChequeSigner(payer.privateKey, domain), payer: payer.address, domain })
    await seller.start()
    try {
      // the real buyer's first cheque: one lookup (signer + funds), accepted
      const before = { ...counts }
      const first = await seller.receive([await wallet.pay(payee.address, usdc, piece)])
      expect(first.accepted.map((a) => a.cumulative)).toEqual([1_000n])
      expect(counts.signerOf - before.signerOf).toBe(1)
      expect(seller.gate.lookups).toBe(1)

      // the flood: 250 cheques signed by random keys naming other random payers, 250 self-signed by
      // random keys with no escrow funds; every 25th cheque a real one from the buyer
      const forged: SignedCheque[] = []
      for (let i = 0; i < 500; i++) {
        const key = generatePrivateKey()
        const named: Address = i % 2 === 0 ? privateKeyToAddress(generatePrivateKey()) : privateKeyToAddress(key)
        const cheque = { payer: named, payee: payee.address, token: usdc, cumulativeAmount: tokenUnits(BigInt(1 + i) * 1_000_000n) }
        forged.push({ cheque, signature: (await createPrivateKeyChequeSigner(key, domain).sign(cheque)) as Hex })
      }
      nowMs += 10_000 // the bucket is full again when the flood starts, then frozen
      const floodStart = { ...counts }
      const lookupsStart = seller.gate.lookups
      const forgedSet = new Set(forged)
      const codes = new Map<string, number>()
      let realSent = 0
      let credited = 0n
      for (let i = 0; i < forged.length; i += 25) {
        const burst: SignedCheque[] = forged.slice(i, i + 12)
        burst.push(await wallet.pay(payee.address, usdc, piece))
        realSent++
        burst.push(...forged.slice(i + 12, i + 25))
        // each burst from its own connection: the payer gate, not the per-peer budget, is under test
        const r = await seller.receive(burst, { peer: `peer-${i}` })
        // the real cheque is accepted, nothing forged is
        expect(r.accepted).toHaveLength(1)
        expect(r.accepted[0]!.payer).toBe(payer.address)
        credited += r.accepted[0]!.increment
        expect(r.rejected).toHaveLength(25)
        for (const x of r.rejected) {
          expect(forgedSet.has(x.signed)).toBe(true)
          const code = (x.error as { code?: string }).code ?? 'none'
          codes.set(code, (codes.get(code) ?? 0) + 1)
        }
      }
      expect(realSent).toBe(20)
      expect(credited).toBe(20n * piece)
      // every forged cheque rejected, with a coded error
      expect([...codes.values()].reduce((a, b) => a + b, 0)).toBe(500)
      expect(new Set(codes.keys())).toEqual(new Set(['BITCDN_ERR_CHEQUE_PAYER_UNKNOWN', 'BITCDN_ERR_LOOKUP_RATE_LIMITED']))
      expect(codes.get('BITCDN_ERR_CHEQUE_PAYER_UNKNOWN')).toBe(LOOKUP_BURST)
      // at most the configured lookups reached the chain: one signerOf and 6 eth_calls each
      // (signerOf, currentSignerValidUntil; balanceOf, pendingWithdrawal, allocation, signerCap)
      const lookups = seller.gate.lookups - lookupsStart
      expect(lookups).toBe(LOOKUP_BURST)
      expect(counts.signerOf - floodStart.signerOf).toBe(lookups)
      expect(counts.ethCall - floodStart.ethCall).toBeLessThanOrEqual(6 * LOOKUP_BURST)
      expect(seller.gate.limited).toBe(500 - LOOKUP_BURST)
      // the forged payers are not kept in the watcher
      for (const c of forged) expect(seller.watcher.isTracked(c.cheque.payer)).toBe(false)

      // the buyer is credited and on the books with exactly its own value
      const total = 21n * piece
      expect(seller.ledger.best(payer.address, usdc)?.cheque.cumulativeAmount).toBe(total)
      expect(seller.ledger.exposure(usdc, payer.address)).toBe(total)
      const credit = seller.credit(payer.address, usdc)
      for (let i = 0; i < 21; i++) credit.delivered(piece)
      expect(credit.unpaid).toBe(0n)

      // the bucket refills: the payers already looked up stay rejected with no new read
      // (negative cache), while a new real buyer gets its one lookup
      nowMs += 60_000
      const again = { ...counts }
      const replay = await seller.receive(forged.slice(0, 8), { peer: 'replay' })
      expect(replay.accepted).toEqual([])
      expect(replay.rejected.map((x) => (x.error as { code?: string }).code).slice(0, LOOKUP_BURST)).toEqual(
        Array(LOOKUP_BURST).fill('BITCDN_ERR_CHEQUE_PAYER_UNKNOWN'),
      )
      expect(seller.gate.lookups - lookupsStart).toBe(LOOKUP_BURST + (8 - LOOKUP_BURST))
      const late = createPayerWallet({ dbPath: join(dir, 'late.db'), signer: createPrivateKeyChequeSigner(lateBuyer.privateKey, domain), payer: lateBuyer.address, domain })
      try {
        const lr = await seller.receive([await late.pay(payee.address, usdc, piece)])
        expect(lr.accepted.map((a) => a.payer)).toEqual([lateBuyer.address])
        expect(lr.rejected).toEqual([])
      } finally {
        late.close()
      }
      expect(counts.signerOf - again.signerOf).toBe(8 - LOOKUP_BURST + 1)
    } finally {
      await seller.stop()
      wallet.close()
    }
  }, 120_000)
})
