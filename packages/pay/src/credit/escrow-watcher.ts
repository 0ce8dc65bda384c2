/**
 * Keeps a seller's view of each buyer's escrow funds and authorized signers fresh: reads
 * `balanceOf`, `pendingWithdrawal`, `allocation` and `signerOf` once per payer, then re-reads a
 * payer only when an escrow event names it (deposit, withdraw request/cancel/finalize, claim,
 * bounce, signer change, allocation). Sync getters serve the hot path (credit checks, cheque
 * verification); the chain is read off it.
 *
 * Time is the chain's: a rotated-out signer stays valid while `block.timestamp ≤
 * previousValidUntil` in the escrow, so the watcher follows the newest block's timestamp (watched
 * blocks, and re-read on every refresh) rather than the wall clock, which can disagree with it
 * (anvil time jumps, L2 sequencer drift).
 */
import { getAddress, type Address, type PublicClient } from 'viem'
import { silentLogger, type Logger, type Startable } from '@bitcdn/core'
import { escrowAbi } from '../contracts/index.js'

export interface EscrowWatcherInit {
  escrow: Address
  /** This seller (for `allocation`). */
  payee: Address
  /** Poll interval for the event filter, ms. @default 1000 */
  pollingIntervalMs?: number
}

export interface EscrowWatcherComponents {
  publicClient: PublicClient
  logger?: Logger
}

/** Snapshot of one payer's funds in one token. */
export interface PayerFunds {
  free: bigint
  pendingWithdrawal: bigint
  withdrawReadyAt: bigint
  allocatedToUs: bigint
}

export interface EscrowWatcher extends Startable {
  /** Starts tracking a payer/token (reads it now). */
  track(payer: Address, token: Address): Promise<PayerFunds>
  /** Last known funds, undefined if not tracked. */
  funds(payer: Address, token: Address): PayerFunds | undefined
  /** Authorized signers besides the payer itself (current; previous while in grace). */
  signersOf(payer: Address): Address[]
  /** Timestamp of the newest block seen, seconds (0n before the first read). */
  chainTimeS(): bigint
  /** Forgets a payer (all tokens): its funds, signers and event refreshes. */
  untrack(payer: Address): void
  /** True when the payer is tracked in `token` (or in any token when omitted). */
  isTracked(payer: Address, token?: Address): boolean
  /** Re-reads a payer (all its tracked tokens). */
  refresh(payer: Address): Promise<void>
  /** Called when a tracked payer requests a withdrawal (sell-side: cash out now). */
  onWithdrawRequested(listener: (payer: Address, token: Address, amount: bigint) => void): void
}

const ZERO = '0x0000000000000000000000000000000000000000'
const REFRESHING_EVENTS = new Set([
  'Deposited',
  'WithdrawRequested',
  'WithdrawCancelled',
  'WithdrawFinalized',
  'ChequeClaimed',
  'ChequeBounced',
  'SignerChanged',
  'Allocated',
  'Deallocated',
  'DeallocationRequested',
])

/**
 * @example
 * const watcher = createEscrowWatcher({ escrow, payee })({ publicClient })
 * await watcher.start(); await watcher.track(payer, usdc)
 * const f = watcher.funds(payer, usdc)
 */
export function createEscrowWatcher(init: EscrowWatcherInit): (components: EscrowWatcherComponents) => EscrowWatcher {
  return ({ publicClient, logger = silentLogger }) => {
    const log = logger.child({ component: 'escrow-watcher' })
    const escrow = getAddress(init.escrow)
    const payee = getAddress(init.payee)
    const funds = new Map<string, PayerFunds>()
    const tokensOf = new Map<Address, Set<Address>>()
    const signers = new Map<Address, { current: Address; previous: Address; previousValidUntil: bigint }>()
    const listeners: ((payer: Address, token: Address, amount: bigint) => void)[] = []
    let unwatch: (() => void) | undefined
    let unwatchBlocks: (() => void) | undefined
    let chainTime = 0n
    const seeTime = (t: bigint): void => {
      if (t > chainTime) chainTime = t
    }
    const readTime = async (): Promise<void> => {
      seeTime((await publicClient.getBlock({ blockTag: 'latest' })).timestamp)
    }

    const read = async (payer: Address, token: Address): Promise<PayerFunds> => {
      const [free, pending, alloc] = await Promise.all([
        publicClient.readContract({ address: escrow, abi: escrowAbi, functionName: 'balanceOf', args: [payer, token] }),
        publicClient.readContract({ address: escrow, abi: escrowAbi, functionName: 'pendingWithdrawal', args: [payer, token] }),
        publicClient.readContract({ address: escrow, abi: escrowAbi, functionName: 'allocation', args: [payer, payee, token] }),
      ])
      const f: PayerFunds = { free, pendingWithdrawal: pending[0], withdrawReadyAt: BigInt(pending[1]), allocatedToUs: alloc[0] }
      funds.set(`${payer}:${token}`, f)
      return f
    }
    const readSigner = async (payer: Address): Promise<void> => {
      const [current, previous, previousValidUntil] = await publicClient.readContract({
        address: escrow,
        abi: escrowAbi,
        functionName: 'signerOf',
        args: [payer],
      })
      signers.set(payer, { current, previous, previousValidUntil: BigInt(previousValidUntil) })
    }

    const watcher: EscrowWatcher = {
      async start() {
        await readTime()
        unwatchBlocks = publicClient.watchBlocks({
          pollingInterval: init.pollingIntervalMs ?? 1000,
          onBlock: (b) => seeTime(b.timestamp),
          onError: (err) => log.warn({ err }, 'block watch error'),
        })
        unwatch = publicClient.watchContractEvent({
          address: escrow,
          abi: escrowAbi,
          pollingInterval: init.pollingIntervalMs ?? 1000,
          onLogs: (logs) => {
            for (const l of logs) {
              if (!l.eventName || !REFRESHING_EVENTS.has(l.eventName)) continue
              const args = l.args as { payer?: Address; token?: Address; amount?: bigint }
              if (!args.payer || !tokensOf.has(getAddress(args.payer))) continue
              const payer = getAddress(args.payer)
              if (l.eventName === 'WithdrawRequested' && args.token) {
                for (const f of listeners) f(payer, getAddress(args.token), args.amount ?? 0n)
              }
              watcher.refresh(payer).catch((err: unknown) => log.warn({ err, payer }, 'escrow refresh failed'))
            }
          },
          onError: (err) => log.warn({ err }, 'escrow event watch error'),
        })
      },
      async stop() {
        unwatch?.()
        unwatch = undefined
        unwatchBlocks?.()
        unwatchBlocks = undefined
      },
      async track(payerIn, tokenIn) {
        const payer = getAddress(payerIn)
        const token = getAddress(tokenIn)
        const set = tokensOf.get(payer) ?? new Set()
        set.add(token)
        tokensOf.set(payer, set)
        await Promise.all([readSigner(payer), readTime()])
        return read(payer, token)
      },
      untrack(payerIn) {
        const payer = getAddress(payerIn)
        for (const t of tokensOf.get(payer) ?? []) funds.delete(`${payer}:${t}`)
        tokensOf.delete(payer)
        signers.delete(payer)
      },
      isTracked(payerIn, tokenIn) {
        const set = tokensOf.get(getAddress(payerIn))
        if (!set) return false
        return tokenIn === undefined || set.has(getAddress(tokenIn))
      },
      funds(payer, token) {
        return funds.get(`${getAddress(payer)}:${getAddress(token)}`)
      },
      signersOf(payerIn) {
        const s = signers.get(getAddress(payerIn))
        if (!s) return []
        const out: Address[] = []
        if (s.current !== ZERO) out.push(s.current)
        // the escrow accepts the previous signer while block.timestamp ≤ previousValidUntil; the
        // next block is at least one second after the newest we saw, hence the strict <
        if (s.previous !== ZERO && chainTime < s.previousValidUntil) out.push(s.previous)
        return out
      },
      chainTimeS() {
        return chainTime
      },
      async refresh(payerIn) {
        const payer = getAddress(payerIn)
        await Promise.all([readSigner(payer), readTime()])
        await Promise.all([...(tokensOf.get(payer) ?? [])].map((t) => read(payer, t)))
      },
      onWithdrawRequested(listener) {
        listeners.push(listener)
      },
    }
    return watcher
  }
}
