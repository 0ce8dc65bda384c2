/**
 * Keeps a seller's view of each buyer's escrow funds and authorized signers fresh: reads
 * `balanceOf`, `pendingWithdrawal`, `allocation` and `signerOf` once per payer, then re-reads a
 * payer only when an escrow event names it (deposit, withdraw request/cancel/finalize, claim,
 * bounce, signer change, allocation). Sync getters serve the hot path (credit checks, cheque
 * verification); the chain is read off it.
 *
 * Pending decreases count at once: a `DeallocationRequested` naming this seller, a
 * `WithdrawRequested`, a signer rotation (`SignerChanged`) or revocation (`SignerRevoked`) each
 * reach `onUrgent` listeners with the chain time by which the seller's cheques must be claimed
 * (the seller claims at once; the margin is what is left before that deadline). A revoked signer
 * drops out of `signersOf` the moment the event is seen, not when the escrow stops honouring it;
 * a rotated-out signer drops out `signerMarginS` before its grace ends, so every cheque it signed
 * was accepted early enough to be claimed in time.
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
  /**
   * Stop accepting a rotated-out signer this long before its grace ends, s: room for the urgent
   * claim of its last cheques to land. The default equals the escrow's REVOKE_DELAY (1 h), so a
   * revoked signer (which the escrow keeps as "previous" for at most that long) is never taken
   * for a rotated-out one in grace — also after a restart, when the revocation event is not seen.
   * @default 3600
   */
  signerMarginS?: number
}

/** Why a payer must be claimed now, and by when (chain time, s). */
export interface UrgentClaim {
  payer: Address
  /** The token concerned, when the event names one. */
  token?: Address
  reason: 'withdraw-requested' | 'deallocation-requested' | 'signer-rotated' | 'signer-revoked'
  /** Chain time after which the money may be gone or the cheques unclaimable. */
  deadlineS: bigint
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
  /** Announced decrease of our allocation (0n when none). */
  pendingDeallocation: bigint
  deallocationReadyAt: bigint
  /**
   * What the payer's delegated signers may still draw from the free balance this cap period
   * (`signerCap`: cap − spent), when the payer set a cap; undefined without one.
   */
  capRemaining?: bigint
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
  /** Called for every event that puts a tracked payer's money or cheques on a deadline. */
  onUrgent(listener: (u: UrgentClaim) => void): void
  /** True when `signer` was revoked by `payer` (seen on chain): its new cheques are refused. */
  isRevoked(payer: Address, signer: Address): boolean
  /** The rotated-out signer of a payer and the end of its grace (chain time, s), if any. */
  previousSigner(payer: Address): { signer: Address; validUntilS: bigint } | undefined
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
  'DeallocationCancelled',
  'SignerRevoked',
  'SignerCapChanged',
  'ChequePaid',
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
    const urgentListeners: ((u: UrgentClaim) => void)[] = []
    const revoked = new Map<Address, Set<Address>>()
    const marginS = BigInt(init.signerMarginS ?? 3600)
    const urgent = (u: UrgentClaim): void => {
      for (const f of urgentListeners) f(u)
    }
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
      const [free, pending, alloc, cap] = await Promise.all([
        publicClient.readContract({ address: escrow, abi: escrowAbi, functionName: 'balanceOf', args: [payer, token] }),
        publicClient.readContract({ address: escrow, abi: escrowAbi, functionName: 'pendingWithdrawal', args: [payer, token] }),
        publicClient.readContract({ address: escrow, abi: escrowAbi, functionName: 'allocation', args: [payer, payee, token] }),
        publicClient.readContract({ address: escrow, abi: escrowAbi, functionName: 'signerCap', args: [payer] }),
      ])
      const f: PayerFunds = {
        free,
        pendingWithdrawal: pending[0],
        withdrawReadyAt: BigInt(pending[1]),
        allocatedToUs: alloc[0],
        pendingDeallocation: alloc[1],
        deallocationReadyAt: BigInt(alloc[2]),
      }
      if (cap[0] !== 0n) f.capRemaining = cap[0] > cap[2] ? cap[0] - cap[2] : 0n
      funds.set(`${payer}:${token}`, f)
      return f
    }
    const readSigner = async (payer: Address): Promise<void> => {
      const [[current, previous, previousValidUntil], currentUntil] = await Promise.all([
        publicClient.readContract({ address: escrow, abi: escrowAbi, functionName: 'signerOf', args: [payer] }),
        publicClient.readContract({ address: escrow, abi: escrowAbi, functionName: 'currentSignerValidUntil', args: [payer] }),
      ])
      signers.set(payer, { current, previous, previousValidUntil: BigInt(previousValidUntil) })
      // a current signer with an end date was revoked (the escrow keeps it counting a short while)
      if (current !== ZERO && currentUntil !== 0n) {
        const set = revoked.get(payer) ?? new Set<Address>()
        set.add(getAddress(current))
        revoked.set(payer, set)
      }
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
              const name: string | undefined = l.eventName
              if (!name || !REFRESHING_EVENTS.has(name)) continue
              const args = l.args as {
                payer?: Address
                payee?: Address
                token?: Address
                amount?: bigint
                readyAt?: number | bigint
                previous?: Address
                previousValidUntil?: number | bigint
                signer?: Address
                validUntil?: number | bigint
              }
              if (!args.payer || !tokensOf.has(getAddress(args.payer))) continue
              const payer = getAddress(args.payer)
              const token = args.token ? getAddress(args.token) : undefined
              if (name === 'WithdrawRequested' && token) {
                for (const f of listeners) f(payer, token, args.amount ?? 0n)
                urgent({ payer, token, reason: 'withdraw-requested', deadlineS: BigInt(args.readyAt ?? 0) })
              } else if (name === 'DeallocationRequested' && args.payee && getAddress(args.payee) === payee) {
                urgent({ payer, token, reason: 'deallocation-requested', deadlineS: BigInt(args.readyAt ?? 0) })
              } else if (name === 'SignerChanged' && args.previous && args.previous !== ZERO) {
                urgent({ payer, reason: 'signer-rotated', deadlineS: BigInt(args.previousValidUntil ?? 0) })
              } else if (name === 'SignerRevoked' && args.signer) {
                const set = revoked.get(payer) ?? new Set<Address>()
                set.add(getAddress(args.signer))
                revoked.set(payer, set)
                urgent({ payer, reason: 'signer-revoked', deadlineS: BigInt(args.validUntil ?? 0) })
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
        revoked.delete(payer)
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
        const gone = revoked.get(getAddress(payerIn))
        if (s.current !== ZERO && !gone?.has(s.current)) out.push(s.current)
        // the escrow accepts the previous signer while block.timestamp ≤ previousValidUntil; we stop
        // a margin earlier so the urgent claim of its last cheque lands in time
        if (s.previous !== ZERO && !gone?.has(s.previous) && chainTime + marginS < s.previousValidUntil) out.push(s.previous)
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
      onUrgent(listener) {
        urgentListeners.push(listener)
      },
      isRevoked(payerIn, signer) {
        return revoked.get(getAddress(payerIn))?.has(getAddress(signer)) ?? false
      },
      previousSigner(payerIn) {
        const s = signers.get(getAddress(payerIn))
        if (!s || s.previous === ZERO) return undefined
        return { signer: s.previous, validUntilS: s.previousValidUntil }
      },
    }
    return watcher
  }
}
