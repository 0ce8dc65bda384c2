/**
 * Network money read from the escrow's own events, so anyone can check the hub's figures against
 * the chain: stablecoin deposited (`Deposited`) and claimed by nodes (`ChequeClaimed` on the
 * batch path, `CompactClaimed` on the compact path), per payee. Logs are read incrementally in
 * bounded block ranges (`MAX_BLOCKS_PER_QUERY`), so a long chain never becomes one huge RPC call.
 *
 * Memory per payee is bounded by what the chain makes an attacker pay: anyone may call
 * `claimCompact` for any payee, and it logs `CompactClaimed` even when it pays nothing — so a claim
 * that paid 0 makes no entry. A payee whose claims total less than `minTrackedUnits` (dust: a
 * cheque of 1 base unit cycled through an attacker's own payees) is kept only among the
 * `MAX_DUST_PAYEES` most recently claimed; a payee is kept for good only once real money
 * (≥ `minTrackedUnits`) reached it. So the payees held are at most MAX_DUST_PAYEES plus the money
 * ever claimed / minTrackedUnits, each entry having cost a claim's gas, and each holds at most
 * MAX_CLAIMS_PER_PAYEE claims.
 */
import { createPublicClient, http, parseAbiItem, parseEventLogs, type Address, type Hex, type PublicClient } from 'viem'

/** Largest block range per `eth_getLogs` (public RPCs cap ranges; anvil does not care). */
export const MAX_BLOCKS_PER_QUERY = 5_000n
/** Claims kept per payee for the onboarding check (newest); totals count them all. */
export const MAX_CLAIMS_PER_PAYEE = 50
/** Payees below `minTrackedUnits` claimed in all, kept (most recently claimed first); older ones are forgotten. */
export const MAX_DUST_PAYEES = 10_000

const deposited = parseAbiItem('event Deposited(address indexed payer, address indexed token, uint256 amount)')
const chequeClaimed = parseAbiItem('event ChequeClaimed(address indexed payer, address indexed payee, address indexed token, uint128 cumulativeAmount, uint256 paid)')
const compactClaimed = parseAbiItem('event CompactClaimed(address indexed payee, address indexed token, uint256 rows, uint256 totalPaid)')

export interface ChainTotalsSnapshot {
  /** Highest block read. */
  block: bigint
  /** Token base units deposited into the escrow, all time. */
  deposited: bigint
  /** Token base units paid out to payees by claims, all time. */
  claimed: bigint
  /** The same by payee (checksummed address). */
  claimedByPayee: Map<string, bigint>
  /** The newest claims of each payee, oldest first (at most MAX_CLAIMS_PER_PAYEE). */
  claimsByPayee: Map<string, ClaimEvent[]>
}

/** One claim as the escrow logged it: anyone can look the transaction up. */
export interface ClaimEvent {
  txHash: Hex
  block: bigint
  event: 'ChequeClaimed' | 'CompactClaimed'
  /** Token base units paid to the payee by this log. */
  amount: bigint
  /** The payer whose cheque it was (batch path only; a compact claim covers many). */
  payer?: string
}

export interface ChainTotals {
  /** Read logs up to the latest block; returns the running totals. */
  refresh(): Promise<ChainTotalsSnapshot>
  snapshot(): ChainTotalsSnapshot
  /** The escrow's claim logs in one transaction, read from its receipt (undefined: no such transaction). */
  claimTx(hash: Hex): Promise<{ hash: Hex; block: bigint; status: 'success' | 'reverted'; from: Address; claims: (Omit<ClaimEvent, 'txHash' | 'block'> & { payee: string })[] } | undefined>
}

export interface ChainTotalsInit {
  rpcUrl: string
  escrow: Address
  /** First block to read (the escrow's deployment block). @default 0n */
  fromBlock?: bigint
  /**
   * Claimed total (token base units) from which a payee is kept for good; below it, it is one of
   * the MAX_DUST_PAYEES most recent. @default 10_000n (0.01 of a 6-decimal stablecoin)
   */
  minTrackedUnits?: bigint
  /** @default MAX_DUST_PAYEES */
  maxDustPayees?: number
}

/**
 * @example const totals = createChainTotals({ rpcUrl: 'http://127.0.0.1:8545', escrow }); await totals.refresh()
 */
export function createChainTotals(init: ChainTotalsInit, client?: PublicClient): ChainTotals {
  const pc = client ?? createPublicClient({ transport: http(init.rpcUrl, { retryCount: 0, timeout: 10_000 }) })
  const state: ChainTotalsSnapshot = { block: (init.fromBlock ?? 0n) - 1n, deposited: 0n, claimed: 0n, claimedByPayee: new Map(), claimsByPayee: new Map() }
  let running: Promise<ChainTotalsSnapshot> | undefined
  const minTracked = init.minTrackedUnits ?? 10_000n
  const maxDust = init.maxDustPayees ?? MAX_DUST_PAYEES
  /** Payees below `minTracked` in all, least recently claimed first. */
  const dust = new Set<string>()
  const addClaim = (payee: string, amount: bigint, ev: ClaimEvent) => {
    // a claim that paid nothing costs its caller gas only: it makes no entry
    if (amount === 0n) return
    state.claimed += amount
    const total = (state.claimedByPayee.get(payee) ?? 0n) + amount
    state.claimedByPayee.set(payee, total)
    const list = state.claimsByPayee.get(payee) ?? []
    list.push(ev)
    if (list.length > MAX_CLAIMS_PER_PAYEE) list.shift()
    state.claimsByPayee.set(payee, list)
    dust.delete(payee)
    if (total >= minTracked) return
    dust.add(payee)
    if (dust.size > maxDust) {
      const oldest = dust.values().next().value!
      dust.delete(oldest)
      state.claimedByPayee.delete(oldest)
      state.claimsByPayee.delete(oldest)
    }
  }
  async function refreshOnce(): Promise<ChainTotalsSnapshot> {
    // no cached block number: a refresh right after a transaction must see it
    const latest = await pc.getBlockNumber({ cacheTime: 0 })
    while (state.block < latest) {
      const from = state.block + 1n
      const to = from + MAX_BLOCKS_PER_QUERY - 1n < latest ? from + MAX_BLOCKS_PER_QUERY - 1n : latest
      const logs = await pc.getLogs({ address: init.escrow, events: [deposited, chequeClaimed, compactClaimed], fromBlock: from, toBlock: to })
      for (const log of logs) {
        if (log.eventName === 'Deposited') state.deposited += log.args.amount ?? 0n
        else if (log.eventName === 'ChequeClaimed') {
          const amount = log.args.paid ?? 0n
          addClaim(log.args.payee as string, amount, { txHash: log.transactionHash, block: log.blockNumber, event: 'ChequeClaimed', amount, payer: log.args.payer as string })
        } else if (log.eventName === 'CompactClaimed') {
          const amount = log.args.totalPaid ?? 0n
          addClaim(log.args.payee as string, amount, { txHash: log.transactionHash, block: log.blockNumber, event: 'CompactClaimed', amount })
        }
      }
      state.block = to
    }
    return state
  }
  return {
    refresh() {
      running ??= refreshOnce().finally(() => (running = undefined))
      return running
    },
    snapshot: () => state,
    async claimTx(hash) {
      const r = await pc.getTransactionReceipt({ hash }).catch((err: Error & { name?: string }) => {
        if (err.name === 'TransactionReceiptNotFoundError') return undefined
        throw err
      })
      if (!r) return undefined
      const mine = r.logs.filter((l) => l.address.toLowerCase() === init.escrow.toLowerCase())
      const claims = parseEventLogs({ abi: [chequeClaimed, compactClaimed], logs: mine }).map((l) =>
        l.eventName === 'ChequeClaimed'
          ? { event: 'ChequeClaimed' as const, amount: l.args.paid, payer: l.args.payer as string, payee: l.args.payee as string }
          : { event: 'CompactClaimed' as const, amount: l.args.totalPaid, payee: l.args.payee as string },
      )
      return { hash, block: r.blockNumber, status: r.status, from: r.from, claims }
    },
  }
}
