/**
 * Keeps a seller's view of each buyer's escrow funds and authorized signers fresh: reads
 * `balanceOf`, `pendingWithdrawal`, `allocation` and `signerOf` once per payer, then re-reads a
 * payer when an escrow event names it (deposit, withdraw request/cancel/finalize, claim,
 * bounce, signer change, allocation). Sync getters serve the hot path (credit checks, cheque
 * verification); the chain is read off it.
 *
 * Events are read with `eth_getLogs` from a cursor (the last processed block and its hash,
 * durable in the seller's SQLite through `components.cursor`), so an RPC outage or a restart
 * loses none: the next poll reads on from the cursor in ranges of at most `maxLogRange` blocks,
 * halving the range when the RPC refuses it as too large. A cursor block whose hash changed is a
 * reorg: the cursor steps back `reorgDepth` blocks and every tracked payer is re-read. Every
 * tracked payer is also re-read every `rereadIntervalMs` and after each outage, and the re-read
 * state itself raises the deadlines (pending withdrawal or deallocation, signer in grace or
 * revoked), so even an event no log read returned cannot leave credit too high for longer than
 * that interval. Deadlines are reported once per (payer, reason, deadline).
 *
 * Pending decreases count at once: a `WithdrawRequested` or a `DeallocationRequested` naming
 * this seller lowers the cached funds (and so the seller's collateral) as soon as its log is read,
 * before the refresh that follows it (one round trip less while a fast buyer keeps downloading);
 * every funds write carries the sequence number of the read that produced it, so an older read
 * finishing late never restores what a newer one lowered. A `DeallocationRequested` naming this seller, a
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
import type { WatchCursor, WatchPosition } from './watch-cursor.js'

const escrowEvents = escrowAbi.filter((x) => x.type === 'event')

export interface EscrowWatcherInit {
  escrow: Address
  /** This seller (for `allocation`). */
  payee: Address
  /** Poll interval for new blocks and their escrow logs, ms. @default 1000 */
  pollingIntervalMs?: number
  /** Most blocks per `eth_getLogs` call (halved while the RPC refuses a range). @default 1000 */
  maxLogRange?: number
  /** Re-read every tracked payer's funds and signers this often, ms. @default 60_000 */
  rereadIntervalMs?: number
  /** Blocks the cursor steps back when its block was reorged away. @default 64 */
  reorgDepth?: number
  /**
   * A cursor further behind the head than this (a seller down for weeks) jumps to the head instead
   * of reading every range: the re-read of every payer that follows gives the same state and
   * deadlines. Blocks. @default 100_000
   */
  maxCatchUpBlocks?: number
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
  /** Durable log cursor (`openWatchCursor`); in memory when omitted (a restart starts at the head). */
  cursor?: WatchCursor
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
  /** Changes whenever any payer's funds change (a read, an event, an untrack): caches of `funds` compare it. */
  readonly version: number
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
  /** The last block whose escrow logs were processed (undefined before the first poll). */
  cursor(): WatchPosition | undefined
  /** One poll now: catch up on logs to the head, re-read payers when due. */
  poll(): Promise<void>
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
  return ({ publicClient, logger = silentLogger, cursor: store }) => {
    const log = logger.child({ component: 'escrow-watcher' })
    const escrow = getAddress(init.escrow)
    const payee = getAddress(init.payee)
    const funds = new Map<string, PayerFunds>()
    const tokensOf = new Map<Address, Set<Address>>()
    const signers = new Map<Address, { current: Address; previous: Address; previousValidUntil: bigint; currentValidUntil: bigint }>()
    const listeners: ((payer: Address, token: Address, amount: bigint) => void)[] = []
    const urgentListeners: ((u: UrgentClaim) => void)[] = []
    const revoked = new Map<Address, Set<Address>>()
    const marginS = BigInt(init.signerMarginS ?? 3600)
    // (payer, reason, deadline) already reported: events re-read after a reorg or the state re-read
    // must not claim again and again
    const reported = new Set<string>()
    const urgent = (u: UrgentClaim): boolean => {
      const k = `${u.payer}:${u.reason}:${u.token ?? ''}:${u.deadlineS}`
      if (reported.has(k)) return false
      if (reported.size >= 65_536) reported.clear()
      reported.add(k)
      for (const f of urgentListeners) f(u)
      return true
    }
    const pollMs = init.pollingIntervalMs ?? 1000
    const rereadMs = init.rereadIntervalMs ?? 60_000
    const reorgDepth = BigInt(init.reorgDepth ?? 64)
    let logRange = BigInt(Math.max(1, init.maxLogRange ?? 1000))
    let position: WatchPosition | undefined = store?.get()
    let lastRereadMs = 0
    let outage = false
    let timer: NodeJS.Timeout | undefined
    let polling: Promise<void> | undefined
    let stopped = true
    let chainTime = 0n
    const seeTime = (t: bigint): void => {
      if (t > chainTime) chainTime = t
    }
    const readTime = async (): Promise<void> => {
      seeTime((await publicClient.getBlock({ blockTag: 'latest' })).timestamp)
    }

    // reads overlap (an event's refresh, the periodic re-read, a track): each funds write carries a
    // sequence number taken when its read began, and an older read never overwrites a newer state
    let seq = 0
    let version = 0
    const written = new Map<string, number>()
    const put = (k: string, f: PayerFunds, at: number): PayerFunds => {
      const last = written.get(k) ?? 0
      if (at < last) return funds.get(k) ?? f
      written.set(k, at)
      funds.set(k, f)
      version++
      return f
    }

    const read = async (payer: Address, token: Address): Promise<PayerFunds> => {
      const at = ++seq
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
      return put(`${payer}:${token}`, f, at)
    }
    const readSigner = async (payer: Address): Promise<void> => {
      const [[current, previous, previousValidUntil], currentUntil] = await Promise.all([
        publicClient.readContract({ address: escrow, abi: escrowAbi, functionName: 'signerOf', args: [payer] }),
        publicClient.readContract({ address: escrow, abi: escrowAbi, functionName: 'currentSignerValidUntil', args: [payer] }),
      ])
      signers.set(payer, { current, previous, previousValidUntil: BigInt(previousValidUntil), currentValidUntil: BigInt(currentUntil) })
      // a current signer with an end date was revoked (the escrow keeps it counting a short while)
      if (current !== ZERO && currentUntil !== 0n) {
        const set = revoked.get(payer) ?? new Set<Address>()
        set.add(getAddress(current))
        revoked.set(payer, set)
      }
    }

    /** One escrow log: refresh the payer it names, and raise its deadline if it sets one. */
    const onLog = (l: { eventName?: string; args?: unknown }): void => {
      const name = l.eventName
      if (!name || !REFRESHING_EVENTS.has(name)) return
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
      if (!args.payer || !tokensOf.has(getAddress(args.payer))) return
      const payer = getAddress(args.payer)
      const token = args.token ? getAddress(args.token) : undefined
      // a pending decrease counts the moment its log is read, not one refresh round trip later
      // (a fast buyer downloads megabytes in that time); the refresh below then reads the state
      const f = token ? funds.get(`${payer}:${token}`) : undefined
      if (f && token && name === 'WithdrawRequested') {
        const amount = BigInt(args.amount ?? 0n)
        if (amount > f.pendingWithdrawal) put(`${payer}:${token}`, { ...f, pendingWithdrawal: amount, withdrawReadyAt: BigInt(args.readyAt ?? 0) }, ++seq)
      } else if (f && token && name === 'DeallocationRequested' && args.payee && getAddress(args.payee) === payee) {
        const amount = BigInt(args.amount ?? 0n)
        if (amount > f.pendingDeallocation) put(`${payer}:${token}`, { ...f, pendingDeallocation: amount, deallocationReadyAt: BigInt(args.readyAt ?? 0) }, ++seq)
      }
      if (name === 'WithdrawRequested' && token) {
        if (urgent({ payer, token, reason: 'withdraw-requested', deadlineS: BigInt(args.readyAt ?? 0) })) {
          for (const f of listeners) f(payer, token, args.amount ?? 0n)
        }
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

    /** Deadlines read from the state itself: what an event would have said, had it been seen. */
    const deadlinesFromState = (payer: Address): void => {
      for (const token of tokensOf.get(payer) ?? []) {
        const f = funds.get(`${payer}:${token}`)
        if (!f) continue
        if (f.pendingWithdrawal > 0n) {
          if (urgent({ payer, token, reason: 'withdraw-requested', deadlineS: f.withdrawReadyAt })) for (const l of listeners) l(payer, token, f.pendingWithdrawal)
        }
        if (f.pendingDeallocation > 0n) urgent({ payer, token, reason: 'deallocation-requested', deadlineS: f.deallocationReadyAt })
      }
      const sg = signers.get(payer)
      if (!sg) return
      if (sg.previous !== ZERO && sg.previousValidUntil > chainTime) urgent({ payer, reason: 'signer-rotated', deadlineS: sg.previousValidUntil })
      if (sg.current !== ZERO && sg.currentValidUntil !== 0n) urgent({ payer, reason: 'signer-revoked', deadlineS: sg.currentValidUntil })
    }

    const rereadAll = async (): Promise<void> => {
      lastRereadMs = Date.now()
      // bounded: payers are tracked only after the payer gate and a funds check
      for (const payer of [...tokensOf.keys()]) {
        await watcher.refresh(payer)
        deadlinesFromState(payer)
      }
    }

    /** Escrow logs in [from, to], halving the range while the RPC refuses it as too large. */
    const logsIn = async (from: bigint, to: bigint) => {
      for (;;) {
        const end = from + logRange - 1n < to ? from + logRange - 1n : to
        try {
          return { end, logs: await publicClient.getLogs({ address: escrow, events: escrowEvents, fromBlock: from, toBlock: end }) }
        } catch (err) {
          if (end === from) throw err
          logRange = (end - from + 2n) / 2n
          log.warn({ err: (err as Error)?.message?.split('\n')[0], from, to: end, next: logRange }, 'eth_getLogs refused; halving the block range')
        }
      }
    }

    const pollOnce = async (): Promise<void> => {
      // the head and the cursor's block at once: one round trip less between a log and its effect
      const [head, atCursor] = await Promise.all([
        publicClient.getBlock({ blockTag: 'latest' }),
        position ? publicClient.getBlock({ blockNumber: position.block }).catch(() => undefined) : undefined,
      ])
      seeTime(head.timestamp)
      let reread = outage || Date.now() - lastRereadMs >= rereadMs
      if (!position) {
        // first run: the state reads of track() are current; events start from here
        position = { block: head.number, hash: head.hash }
        store?.put(position)
      } else {
        const at = position.block <= head.number ? atCursor : undefined
        if (!at || at.hash !== position.hash) {
          const back = position.block > reorgDepth ? position.block - reorgDepth : 0n
          const to = back < head.number ? back : head.number
          log.warn({ block: position.block, rewindTo: to }, 'the cursor block was reorged away; re-reading events and payers')
          const b = await publicClient.getBlock({ blockNumber: to })
          position = { block: to, hash: b.hash }
          store?.put(position)
          reread = true
        }
      }
      const maxBehind = BigInt(init.maxCatchUpBlocks ?? 100_000)
      if (head.number - position.block > maxBehind) {
        log.warn({ cursor: position.block, head: head.number }, 'log cursor too far behind; jumping to the head and re-reading every payer')
        position = { block: head.number, hash: head.hash }
        store?.put(position)
        reread = true
      }
      while (position.block < head.number) {
        const { end, logs } = await logsIn(position.block + 1n, head.number)
        for (const l of logs) onLog(l)
        const b = end === head.number ? head : await publicClient.getBlock({ blockNumber: end })
        position = { block: end, hash: b.hash }
        store?.put(position)
      }
      if (reread) await rereadAll()
      if (outage) log.info({ block: position.block }, 'chain RPC back; caught up')
      outage = false
    }

    const poll = (): Promise<void> => {
      // one poll at a time: the timer and a caller must not process the same range twice
      const next = (polling ?? Promise.resolve()).then(pollOnce)
      polling = next.catch((err: unknown) => {
        if (!outage) log.warn({ err: (err as Error)?.message?.split('\n')[0] }, 'escrow poll failed; retrying (events are read from the cursor when the RPC is back)')
        outage = true
      })
      return next
    }

    const loop = (): void => {
      timer = setTimeout(() => {
        poll()
          .catch(() => undefined)
          .finally(() => {
            if (!stopped) loop()
          })
      }, pollMs)
      timer.unref?.()
    }

    const watcher: EscrowWatcher = {
      async start() {
        stopped = false
        await readTime()
        await poll().catch(() => undefined)
        loop()
      },
      async stop() {
        stopped = true
        if (timer) clearTimeout(timer)
        timer = undefined
        await polling
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
        for (const t of tokensOf.get(payer) ?? []) {
          funds.delete(`${payer}:${t}`)
          written.delete(`${payer}:${t}`)
        }
        tokensOf.delete(payer)
        signers.delete(payer)
        revoked.delete(payer)
        version++
      },
      isTracked(payerIn, tokenIn) {
        const set = tokensOf.get(getAddress(payerIn))
        if (!set) return false
        return tokenIn === undefined || set.has(getAddress(tokenIn))
      },
      funds(payer, token) {
        return funds.get(`${getAddress(payer)}:${getAddress(token)}`)
      },
      get version() {
        return version
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
        await Promise.all([readSigner(payer), readTime(), ...[...(tokensOf.get(payer) ?? [])].map((t) => read(payer, t))])
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
      cursor() {
        return position
      },
      poll,
      previousSigner(payerIn) {
        const s = signers.get(getAddress(payerIn))
        if (!s || s.previous === ZERO) return undefined
        return { signer: s.previous, validUntilS: s.previousValidUntil }
      },
    }
    return watcher
  }
}
