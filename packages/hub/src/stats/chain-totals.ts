/**
 * Network money read from the escrow's own events, so anyone can check the hub's figures against
 * the chain: stablecoin deposited (`Deposited`) and claimed by nodes (`ChequeClaimed` on the
 * batch path, `CompactClaimed` on the compact path), per payee. Logs are read incrementally in
 * bounded block ranges (`MAX_BLOCKS_PER_QUERY`), so a long chain never becomes one huge RPC call.
 */
import { createPublicClient, http, parseAbiItem, type Address, type PublicClient } from 'viem'

/** Largest block range per `eth_getLogs` (public RPCs cap ranges; anvil does not care). */
export const MAX_BLOCKS_PER_QUERY = 5_000n

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
}

export interface ChainTotals {
  /** Read logs up to the latest block; returns the running totals. */
  refresh(): Promise<ChainTotalsSnapshot>
  snapshot(): ChainTotalsSnapshot
}

export interface ChainTotalsInit {
  rpcUrl: string
  escrow: Address
  /** First block to read (the escrow's deployment block). @default 0n */
  fromBlock?: bigint
}

/**
 * @example const totals = createChainTotals({ rpcUrl: 'http://127.0.0.1:8545', escrow }); await totals.refresh()
 */
export function createChainTotals(init: ChainTotalsInit, client?: PublicClient): ChainTotals {
  const pc = client ?? createPublicClient({ transport: http(init.rpcUrl, { retryCount: 0, timeout: 10_000 }) })
  const state: ChainTotalsSnapshot = { block: (init.fromBlock ?? 0n) - 1n, deposited: 0n, claimed: 0n, claimedByPayee: new Map() }
  let running: Promise<ChainTotalsSnapshot> | undefined
  const addClaim = (payee: string, amount: bigint) => {
    state.claimed += amount
    state.claimedByPayee.set(payee, (state.claimedByPayee.get(payee) ?? 0n) + amount)
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
        else if (log.eventName === 'ChequeClaimed') addClaim(log.args.payee as string, log.args.paid ?? 0n)
        else if (log.eventName === 'CompactClaimed') addClaim(log.args.payee as string, log.args.totalPaid ?? 0n)
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
  }
}
