/**
 * Paid-swarm fixtures: real anvil with the real escrow (test/pay/helpers), sellers (swarm client +
 * pay's SellerSettlement + createPaidSeller) and buyers (swarm client + PayerWallet +
 * createPaidBuyer) over real TCP, cleaned up by `cleanup()`.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Address, Hex } from 'viem'
import { expect } from 'vitest'
import { privateKeyToAccount } from 'viem/accounts'
import { tokenUnits, type Clock, type Logger, type TokenUnits } from '@bitcdn/core'
import { createMemoryStore, type Metainfo, type PieceStore } from '@bitcdn/content'
import { createPayerWallet, createSellerSettlement, escrowAbi, type BuyerCreditInit, type ChequeDomain, type PayerWallet, type SellerSettlement } from '@bitcdn/pay'
import { createSwarmClient, type SwarmClient, type SwarmClientComponents, type Torrent } from '@bitcdn/swarm'
import { createPaidBuyer, createPaidSeller, sellerCreditInit, settlementPayments, type AllocationManager, type PaidBuyer, type PaidBuyerInit, type PaidSeller, type PaidSellerInit, type PayeeKey } from '@bitcdn/market'
import type { PayChain } from '../pay/helpers.js'

export const GiB = 1n << 30n
export const MiB = 1024 * 1024

export interface TestSeller {
  client: SwarmClient
  seller: PaidSeller
  settlement: SellerSettlement
  torrent: Torrent
  payee: Address
  price: TokenUnits
  addr: string
}

export interface TestBuyer {
  client: SwarmClient
  buyer: PaidBuyer
  wallet: PayerWallet
  torrent: Torrent
  /** Verified bytes per source connection id, from the torrent's `piece` events. */
  verifiedFrom: Map<string, number>
  payer: Address
}

export function market(chain: PayChain) {
  const domain: ChequeDomain = { chainId: chain.deployment.chainId, verifyingContract: chain.deployment.escrow }
  const usdc = chain.deployment.tokens.USDC
  const stops: (() => Promise<unknown> | unknown)[] = []
  const dirs: string[] = []
  const tempDir = async (p: string) => {
    const d = await mkdtemp(join(tmpdir(), p))
    dirs.push(d)
    return d
  }
  return {
    domain,
    usdc,
    tempDir,
    async seller(
      account: { address: Address; privateKey: Hex },
      m: Metainfo,
      /** The data: in memory, or files in a folder (read from disk, so uploads wait on real reads). */
      store: PieceStore | { dir: string },
      opts: Partial<PaidSellerInit> & {
        pricePerGiB: TokenUnits
        creditInit?: (payer: Address, token: Address) => BuyerCreditInit
        logger?: Logger
        payeeKey?: PayeeKey
        watcherPollMs?: number
        /** The settlement's clock (forgiveness periods without sleeping: see `movableClock`). */
        clock?: Clock
        /** pay's `forgiveUnpaidAfterMs` (default one day). */
        forgiveUnpaidAfterMs?: number
      },
    ): Promise<TestSeller> {
      const dir = await tempDir('bitcdn-seller-')
      const softAllowance = opts.softAllowance ?? tokenUnits(1_000_000n)
      // as the node does: the first window is worth the largest piece served (at least 1 MiB)
      let client: ReturnType<typeof createSwarmClient> | undefined
      const largestPiece = () => Math.max(0, ...(client?.torrents ?? []).map((t) => t.metainfo?.pieceLength ?? 0))
      const settlement = createSellerSettlement({ ledgerPath: join(dir, 'ledger.sqlite'), payee: account.address, domain, tokens: [usdc], pollingIntervalMs: opts.watcherPollMs ?? 100, softAllowance, cashout: { thresholdUnits: 1n << 120n, maxAgeMs: 3_600_000 }, ...(opts.forgiveUnpaidAfterMs !== undefined ? { forgiveUnpaidAfterMs: opts.forgiveUnpaidAfterMs } : {}) }, opts.creditInit ?? sellerCreditInit(opts.pricePerGiB, largestPiece))({
        publicClient: chain.publicClient as never,
        walletClient: chain.wallet(account.privateKey) as never,
        ...(opts.clock ? { clock: opts.clock } : {}),
      })
      await settlement.start()
      const { creditInit: _ci, logger, payeeKey, watcherPollMs: _wp, clock: _clock, forgiveUnpaidAfterMs: _fu, ...sellerOpts } = opts
      const seller = createPaidSeller({ payee: account.address, domain, token: usdc, softAllowance, ...sellerOpts })({
        payments: settlementPayments(settlement),
        // a test may hand an attacker's key (one that signs something else, or claims another address)
        payeeKey: payeeKey ?? privateKeyToAccount(account.privateKey),
        ...(logger ? { logger } : {}),
      })
      const c = createSwarmClient({ stateDir: dir }, seller.swarm)
      client = c
      seller.attach(c)
      await c.start()
      const torrent = await c.add(m, 'dir' in store && typeof store.dir === 'string' ? { dir: store.dir } : { store: store as PieceStore })
      stops.push(async () => {
        seller.close()
        await c.stop()
        await settlement.stop()
      })
      return { client: c, seller, settlement, torrent, payee: account.address, price: opts.pricePerGiB, addr: `127.0.0.1:${c.port}` }
    },
    async buyer(
      account: { address: Address; privateKey: Hex },
      m: Metainfo,
      peers: string[],
      opts: Partial<PaidBuyerInit> & { wallet?: PaidBuyerComponentsWallet; swarm?: (b: PaidBuyer) => SwarmClientComponents; allocator?: AllocationManager; downloadRateLimit?: number } = {},
    ): Promise<TestBuyer> {
      const dir = await tempDir('bitcdn-buyer-')
      const signer = privateKeyToAccount(account.privateKey)
      const wallet = createPayerWallet({ dbPath: join(dir, 'wallet.sqlite'), signer, payer: account.address, domain })
      const { wallet: payWith, swarm, allocator, downloadRateLimit, ...init } = opts
      const buyer = createPaidBuyer({
        payer: account.address,
        signer: account.address,
        domain,
        token: usdc,
        maxPricePerGiB: tokenUnits(10_000_000n),
        budget: tokenUnits(10_000_000n),
        ...init,
      })({ wallet: payWith ?? wallet, signerKey: signer, allocator })
      const client = createSwarmClient({ stateDir: dir, snubTimeoutMs: 3000, ...(downloadRateLimit !== undefined ? { downloadRateLimit } : {}) }, swarm ? swarm(buyer) : buyer.swarm)
      await client.start()
      const torrent = await client.add(m, { store: createMemoryStore(m), peers })
      buyer.track(torrent)
      const verifiedFrom = new Map<string, number>()
      torrent.on('verified', (_i, sources) => sources.forEach((s) => verifiedFrom.set(s.id, (verifiedFrom.get(s.id) ?? 0) + s.bytes)))
      stops.push(async () => {
        buyer.close()
        await client.stop()
        wallet.close()
      })
      return { client, buyer, wallet, torrent, verifiedFrom, payer: account.address }
    },
    /** Escrow allocation through the real contract (what the payer wallet's ensureAllocation does). */
    allocator(account: { address: Address; privateKey: Hex }): AllocationManager & { calls: { payee: Address; amount: bigint }[] } {
      const calls: { payee: Address; amount: bigint }[] = []
      const w = chain.wallet(account.privateKey)
      return {
        calls,
        async ensureAllocation(payee, token, amount) {
          calls.push({ payee, amount })
          const [have] = (await chain.publicClient.readContract({ address: chain.deployment.escrow, abi: escrowAbi, functionName: 'allocation', args: [account.address, payee, token] })) as readonly [bigint, bigint, bigint]
          if (have >= amount) return
          const hash = await w.writeContract({ address: chain.deployment.escrow, abi: escrowAbi, functionName: 'allocate', args: [payee, token, amount - have] })
          await chain.publicClient.waitForTransactionReceipt({ hash })
        },
      }
    },
    async cleanup() {
      for (const s of stops.splice(0).reverse()) await Promise.resolve(s()).catch(() => {})
      await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
    },
  }
}

type PaidBuyerComponentsWallet = Parameters<ReturnType<typeof createPaidBuyer>>[0]['wallet']

/** Wall-clock time a test moves forward instead of sleeping (a seller's forgiveness period): pay's test harness has it. */
export { movableClock } from '../pay/seller-harness.js'

/** The value the seller is owed for `bytes` at `price`, rounded down (the documented rounding). */
export const valueOf = (bytes: number, price: bigint) => (BigInt(bytes) * price) / GiB

/**
 * Waits until the seller's sent bytes stop growing: two reads `stepMs` apart are equal (it serves
 * nothing more). Fails after `timeoutMs`.
 * @example await untilSellerStill(s.seller, 1000, 30_000)
 */
export async function untilSellerStill(seller: Pick<PaidSeller, 'stats'>, stepMs: number, timeoutMs: number): Promise<void> {
  let last = -1
  await expect
    .poll(
      async () => {
        const now = seller.stats().paidBytes
        const still = now === last
        last = now
        await new Promise((r) => setTimeout(r, stepMs))
        return still
      },
      { timeout: timeoutMs, interval: 10 },
    )
    .toBe(true)
}
