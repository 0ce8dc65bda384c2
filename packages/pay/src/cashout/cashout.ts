/**
 * The seller's cash-out service: turns the ledger's best cheques into money.
 *
 * Claims in batches — `claimCompact(payee, token, rows)`, one token per transaction, 100 bytes a
 * cheque (./compact-rows.ts) — when the unsettled value in a token reaches a threshold, when the
 * oldest unsettled cheque is too old, or at once for a payer who asked to withdraw (its funds are
 * about to leave the escrow). Never pays more than `gasPriceCapWei` per
 * gas — it waits instead — except for payers on a deadline (withdrawal or deallocation notice,
 * signer rotation or revocation, a reorg that undid a claim), whose money would be gone by then. Bookkeeping is reorg-safe: a claimed pair is only *pending* (with the
 * tx hash) until its block is at or below the chain's `finalized` (or `safe`) block where the chain
 * offers that tag, else `confirmations` deep; a tx that vanishes (reorg, dropped) or reverts puts
 * its pairs back in the queue. A settlement is then re-checked against `paidOut` on every pass
 * until it is final (below the finalized block, or `recheckBlocks` deep on a chain without one):
 * a reorg deeper than the confirmation count lowers `settled` back to the chain's `paidOut` and
 * the pair is claimed again at once, however deep the reorg was. That is safe because claims are idempotent on chain:
 * the escrow pays `cumulative − paidOut`, so re-claiming never pays twice. What was really paid
 * comes from the `ChequePaid`/`ChequeBounced` logs (./compact-paid.ts) and `paidOut`. Confirmed earnings are then
 * moved out with `withdrawEarnings`: sent inside the pass, mined outside it (the pass that sent it
 * reports it once mined, the next pass does not wait), so no claim waits behind a withdrawal.
 *
 * A claim stuck in the mempool (fee below what blocks take) is repriced: the same nonce re-sent
 * with both fees bumped by the replacement rule (./fee-bump.ts), after `repriceAfterMs`, sooner as
 * its payers' deadline (`urgent(payer, deadlineS)`) nears, and at once when a claim on a deadline
 * cannot be mined at the base fee. Without a deadline the bump stops at `gasPriceCapWei`; on a
 * deadline it has no cap (without a configured cap, a claim with no deadline stops at twice the
 * node's gas price). Every hash of a replaced nonce is kept and checked: whichever of them
 * is mined is the claim (the family lives in memory: after a restart the newest hash is followed,
 * and if an older one was mined the newest vanishes and its pairs are claimed again — idempotent).
 */
import { getAddress, parseEventLogs, type Address, type Hex, type PublicClient, type WalletClient } from 'viem'
import { silentLogger, systemClock, tokenUnits, type Clock, type Logger, type Startable } from '@bitcdn/core'
import { escrowAbi } from '../contracts/index.js'
import type { LedgerEntry, PayeeLedger } from '../ledger/payee-ledger.js'
import { compactPaid } from './compact-paid.js'
import { nextFees, repriceIntervalMs } from './fee-bump.js'
import { encodeCompactRows } from './compact-rows.js'

const chunk = <T>(list: readonly T[], n: number): T[][] => {
  const out: T[][] = []
  for (let i = 0; i < list.length; i += n) out.push(list.slice(i, i + n))
  return out
}

export interface CashoutInit {
  /** The escrow contract. */
  escrow: Address
  /**
   * Claim a token once its unsettled value reaches this, in token base units.
   * @default 100 × the cost of the claim that would be sent now: (gasPerClaimTx + n ×
   *   gasPerClaimedCheque) × gas price × nativePriceUnits for the n pairs owed — so settlement
   *   costs at most 1% of what it settles, a lone pair included (per-cheque marginal cost alone
   *   would let a one-cheque claim's fixed overhead push it past 1%)
   */
  thresholdUnits?: bigint
  /** Claim anything older than this, ms. @default 86_400_000 (24 h) */
  maxAgeMs?: number
  /** Never send or reprice at a gas price above this, wei; wait instead (payers on a deadline excepted). @default no cap for sending; repricing a claim with no deadline stops at twice the node's gas price */
  gasPriceCapWei?: bigint
  /**
   * When a claim counts as settled: at the chain's `finalized` or `safe` block, or after
   * `confirmations`. `finalized`/`safe` fall back to confirmations on a chain without the tag.
   * @default 'finalized', or 'confirmations' when `confirmations` is given
   */
  settleAt?: 'finalized' | 'safe' | 'confirmations'
  /** Blocks a claim must be deep before it counts as settled (the fallback of `settleAt`). @default 2 */
  confirmations?: number
  /**
   * On a chain without a finality tag, how many blocks deep a settlement is still re-checked
   * against `paidOut` (a reorg deeper than this is not noticed). @default 50_000
   */
  recheckBlocks?: number
  /** Cheques per claim transaction. @default 100 */
  batchSize?: number
  /** Where withdrawn earnings go. @default the wallet account */
  withdrawTo?: Address
  /** Withdraw earnings once they reach this, token base units. @default 1n (any) */
  withdrawMinUnits?: bigint
  /**
   * Gas one more cheque in a batch costs, for the default threshold: with `claimCompact` at batch
   * 100 a first claim from the free balance (new storage) measures ≈ 37,800, a repeat ≈ 20,500,
   * and ≈ 15,100 from an allocation (bench/results/pay.json); 40,000 covers the worst case.
   * @default 40_000n
   */
  gasPerClaimedCheque?: bigint
  /** Fixed gas of a claim transaction (21,000 intrinsic + calldata and call overhead), for the default threshold. @default 50_000n */
  gasPerClaimTx?: bigint
  /** Token base units per 1 native coin (1e18 wei), for the default threshold. @default 3_000_000_000n (3,000 USD) */
  nativePriceUnits?: bigint
  /** Interval of the background loop, ms. @default 15_000 */
  pollIntervalMs?: number
  /** First retry delay after a failure, ms; doubles per failure. @default 5_000 */
  retryBaseMs?: number
  /** @default 300_000 */
  retryMaxMs?: number
  /**
   * After a claim bounced (payer short of funds) or was rejected, leave the pair alone this long
   * unless the payer's cheque grows — re-claiming an empty escrow only burns gas. ms.
   * @default 3_600_000
   */
  bounceBackoffMs?: number
  /** Watch `WithdrawRequested` and claim that payer at once. @default true */
  watchWithdrawals?: boolean
  /**
   * Re-send a claim still in the mempool after this long with higher fees (same nonce); a claim on
   * a deadline is repriced sooner (a quarter of the time left, at least 1 s apart). ms.
   * @default 60_000
   */
  repriceAfterMs?: number
  /** Minimum raise of both fees per replacement, per mille (nodes require ≥ 100). @default 125 */
  feeBumpPermille?: number
}

export interface CashoutComponents {
  ledger: PayeeLedger
  walletClient: WalletClient
  publicClient: PublicClient
  clock?: Clock
  logger?: Logger
}

/** What one pass did. */
export interface CashoutTick {
  sent: Hex[]
  confirmed: Hex[]
  requeued: Hex[]
  /** Claims stuck in the mempool and re-sent with higher fees (same nonce). */
  repriced: { from: Hex; to: Hex; maxFeePerGas?: bigint; gasPrice?: bigint; deadlineS?: bigint }[]
  /** Settlements a reorg undid (paidOut fell below what the ledger had counted); claimed again. */
  reorged: { payer: Address; token: Address; counted: bigint; paidOut: bigint }[]
  /** Earnings withdrawn per token. */
  withdrawn: { token: Address; amount: bigint; txHash: Hex }[]
  /** Why nothing was sent, if so. */
  waiting?: 'gas-price' | 'backoff' | 'below-threshold' | 'nothing-owed'
}

export interface Cashout extends Startable {
  /** One pass: reconcile pending claims, send due claims, withdraw earnings. */
  tick(): Promise<CashoutTick>
  /**
   * Claims this payer's cheques on the next pass regardless of threshold and gas cap; with
   * `deadlineS` (chain time, s) its claim is also repriced in the mempool so it lands before then.
   */
  urgent(payer: Address, deadlineS?: bigint): void
}

/**
 * @example
 * const cashout = createCashout({ escrow, confirmations: 2 })({ ledger, walletClient, publicClient })
 * await cashout.start()
 */
export function createCashout(init: CashoutInit): (components: CashoutComponents) => Cashout {
  return (components) => {
    const { ledger, walletClient, publicClient } = components
    const clock = components.clock ?? systemClock
    const log = (components.logger ?? silentLogger).child({ component: 'cashout' })
    const escrow = getAddress(init.escrow)
    const confirmations = BigInt(init.confirmations ?? 2)
    const recheckBlocks = BigInt(init.recheckBlocks ?? 50_000)
    const settleAt = init.settleAt ?? (init.confirmations !== undefined ? 'confirmations' : 'finalized')
    let tagMissing = false
    /** The newest block whose claims count as settled, and the newest one that is final (if known). */
    const settledHead = async (head: bigint): Promise<{ settle: bigint; final?: bigint }> => {
      const byDepth = head - confirmations + 1n
      if (settleAt === 'confirmations' || tagMissing) return { settle: byDepth }
      try {
        const b = await publicClient.getBlock({ blockTag: settleAt })
        const n = b.number ?? 0n
        return { settle: n, final: settleAt === 'finalized' ? n : undefined }
      } catch (err) {
        tagMissing = true
        log.warn({ err, settleAt }, 'chain has no such block tag; counting confirmations instead')
        return { settle: byDepth }
      }
    }
    const batchSize = init.batchSize ?? 100
    const maxAgeMs = init.maxAgeMs ?? 86_400_000
    const retryBaseMs = init.retryBaseMs ?? 5_000
    const retryMaxMs = init.retryMaxMs ?? 300_000
    const account = walletClient.account
    if (!account) throw new TypeError('createCashout: walletClient needs an account')
    const withdrawTo = init.withdrawTo ?? account.address
    const urgentPayers = new Set<Address>()
    // pair → (cumulative that bounced or was rejected, when); skipped until it grows or times out
    const parked = new Map<string, { cumulative: bigint; atMs: number }>()
    const bounceBackoffMs = init.bounceBackoffMs ?? 3_600_000
    // payer → earliest deadline (chain time, s) its claim must land by
    const deadlines = new Map<Address, bigint>()
    // newest hash of a sent claim → when sent, its deadline, whether it may exceed the gas cap, and
    // the hashes it replaced (any of which may be the one mined)
    const inflight = new Map<Hex, { sentAtMs: number; deadlineS?: bigint; urgent: boolean; replaced: Hex[] }>()
    const repriceAfterMs = init.repriceAfterMs ?? 60_000
    let failures = 0
    let retryAt = 0
    let timer: NodeJS.Timeout | undefined
    let unwatch: (() => void) | undefined
    let running: Promise<unknown> | undefined

    const threshold = (gasPrice: bigint, pairs: number): bigint => {
      if (init.thresholdUnits !== undefined) return init.thresholdUnits
      const gas = (init.gasPerClaimTx ?? 50_000n) + BigInt(pairs) * (init.gasPerClaimedCheque ?? 40_000n)
      return (100n * gas * gasPrice * (init.nativePriceUnits ?? 3_000_000_000n)) / 10n ** 18n
    }

    const reconcile = async (report: CashoutTick): Promise<void> => {
      // cacheTime 0: a cached head would under-count confirmations right after a block
      const head = await publicClient.getBlockNumber({ cacheTime: 0 })
      const { settle, final } = await settledHead(head)
      for (let hash of ledger.pendingTxs()) {
        let receipt = await publicClient.getTransactionReceipt({ hash }).catch(() => undefined)
        // a replaced nonce: the older transaction may be the one that was mined
        for (const old of inflight.get(hash)?.replaced ?? []) {
          if (receipt) break
          const r = await publicClient.getTransactionReceipt({ hash: old }).catch(() => undefined)
          if (r) {
            log.info({ tx: old, replacement: hash }, 'the replaced claim was mined, not its replacement')
            ledger.repointPending(hash, old)
            inflight.delete(hash)
            hash = old
            receipt = r
          }
        }
        if (!receipt) {
          const tx = await publicClient.getTransaction({ hash }).catch(() => undefined)
          if (!tx) {
            // gone from chain and mempool (reorg or dropped): claim again later
            log.warn({ tx: hash }, 'claim tx vanished; requeued')
            ledger.requeue(hash)
            inflight.delete(hash)
            report.requeued.push(hash)
          } else if (tx.blockNumber === null) await reprice(hash, tx, report)
          continue
        }
        inflight.delete(hash)
        if (receipt.status !== 'success') {
          log.warn({ tx: hash }, 'claim tx reverted; requeued')
          ledger.requeue(hash)
          report.requeued.push(hash)
          continue
        }
        if (receipt.blockNumber > settle) continue
        // the receipt we hold may be from a block since replaced; trust only the canonical one
        const block = await publicClient.getBlock({ blockNumber: receipt.blockNumber }).catch(() => undefined)
        if (!block || block.hash !== receipt.blockHash) continue
        const paid = compactPaid(receipt.logs, escrow, ledger.payee)
        for (const ev of parseEventLogs({ abi: escrowAbi, logs: receipt.logs, eventName: ['ChequeClaimed', 'ChequeBounced', 'ChequeRejected'] })) {
          if (getAddress(ev.address) !== escrow || getAddress(ev.args.payee) !== ledger.payee) continue
          const k = `${getAddress(ev.args.payer)}:${getAddress(ev.args.token)}`
          if (ev.eventName === 'ChequeClaimed') paid.set(k, (paid.get(k) ?? 0n) + ev.args.paid)
          else if (ev.eventName === 'ChequeBounced') {
            log.warn({ tx: hash, payer: ev.args.payer, shortfall: ev.args.shortfall }, 'cheque bounced: payer short of funds')
            parked.set(k, { cumulative: ev.args.cumulativeAmount, atMs: clock.now() })
          } else {
            log.warn({ tx: hash, payer: ev.args.payer, reason: ev.args.reason }, 'cheque rejected by the escrow')
            const e = ledger.entry(ev.args.payer, ev.args.token)
            parked.set(k, { cumulative: e?.best.cheque.cumulativeAmount ?? 0n, atMs: clock.now() })
          }
        }
        const rows = []
        for (const e of ledger.unsettled()) {
          if (e.pending?.txHash !== hash) continue
          const paidOut = await publicClient.readContract({
            address: escrow,
            abi: escrowAbi,
            functionName: 'paidOut',
            args: [e.payer, ledger.payee, e.token],
            blockNumber: head,
          })
          rows.push({
            payer: e.payer,
            token: e.token,
            paidOut: tokenUnits(paidOut),
            paid: tokenUnits(paid.get(`${e.payer}:${e.token}`) ?? 0n),
            block: receipt.blockNumber,
          })
        }
        ledger.markConfirmed(hash, rows)
        for (const r of rows) deadlines.delete(r.payer)
        report.confirmed.push(hash)
        log.info({ tx: hash, rows: rows.length }, 'claim confirmed')
      }
      await recheck(head, final, report)
    }

    /** Re-sends a claim stuck in the mempool with higher fees (same nonce, same call), when due. */
    const reprice = async (
      hash: Hex,
      tx: { nonce: number; to: Address | null; input: Hex; gas: bigint; maxFeePerGas?: bigint; maxPriorityFeePerGas?: bigint; gasPrice?: bigint },
      report: CashoutTick,
    ): Promise<void> => {
      let rec = inflight.get(hash)
      if (!rec) {
        // sent before a restart: its payers' deadlines, if any are known again, still count
        let deadlineS: bigint | undefined
        for (const e of ledger.unsettled()) {
          const d = e.pending?.txHash === hash ? deadlines.get(e.payer) : undefined
          if (d !== undefined && (deadlineS === undefined || d < deadlineS)) deadlineS = d
        }
        rec = { sentAtMs: clock.now(), deadlineS, urgent: deadlineS !== undefined, replaced: [] }
        inflight.set(hash, rec)
      }
      if (!tx.to) return
      const latest = await publicClient.getBlock({ blockTag: 'latest' })
      const base = latest.baseFeePerGas ?? undefined
      const stuck = base !== undefined && tx.maxFeePerGas !== undefined && tx.maxFeePerGas < base
      const due = clock.now() - rec.sentAtMs >= repriceIntervalMs(repriceAfterMs, latest.timestamp, rec.deadlineS)
      if (!due && !(rec.urgent && stuck)) return
      const gasPrice = await publicClient.getGasPrice()
      const fees = nextFees({
        fees: tx,
        baseFeePerGas: base,
        gasPrice,
        bumpPermille: init.feeBumpPermille,
        // no deadline: never past the configured cap, or without one twice the node's gas price
        // (a claim stuck for another reason must not climb +12.5% a minute for ever)
        capWei: rec.urgent ? undefined : (init.gasPriceCapWei ?? 2n * gasPrice),
      })
      if (!fees) {
        log.info({ tx: hash, cap: init.gasPriceCapWei }, 'claim stuck in the mempool; the gas cap leaves no room to reprice it')
        return
      }
      const common = { account: account!, chain: walletClient.chain ?? null, to: tx.to, data: tx.input, nonce: tx.nonce, gas: tx.gas }
      let next: Hex
      try {
        next =
          fees.maxFeePerGas !== undefined
            ? await walletClient.sendTransaction({ ...common, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas })
            : await walletClient.sendTransaction({ ...common, gasPrice: fees.gasPrice })
      } catch (err) {
        // e.g. the old one was mined meanwhile (nonce too low): the next pass finds its receipt
        log.warn({ err, tx: hash }, 'repricing the claim failed')
        return
      }
      ledger.repointPending(hash, next)
      inflight.delete(hash)
      inflight.set(next, { sentAtMs: clock.now(), deadlineS: rec.deadlineS, urgent: rec.urgent, replaced: [hash, ...rec.replaced] })
      log.warn({ tx: hash, replacement: next, ...fees, deadlineS: rec.deadlineS }, 'claim stuck in the mempool; repriced')
      report.repriced.push({ from: hash, to: next, ...fees, deadlineS: rec.deadlineS })
    }

    /** Settlements not final yet, checked against the chain's paidOut: a reorg undoes them. */
    const recheck = async (head: bigint, final: bigint | undefined, report: CashoutTick): Promise<void> => {
      const horizon = final ?? (head > recheckBlocks ? head - recheckBlocks : 0n)
      ledger.markFinal(horizon)
      for (const e of ledger.settledSince(horizon + 1n)) {
        const paidOut = await publicClient.readContract({ address: escrow, abi: escrowAbi, functionName: 'paidOut', args: [e.payer, ledger.payee, e.token], blockNumber: head })
        if (paidOut >= e.settled) continue
        log.warn({ payer: e.payer, token: e.token, counted: e.settled, paidOut }, 'a reorg undid a settled claim; claiming again')
        ledger.markReorged(e.payer, e.token, tokenUnits(paidOut))
        urgentPayers.add(e.payer)
        report.reorged.push({ payer: e.payer, token: e.token, counted: e.settled, paidOut })
      }
    }

    const sendClaims = async (report: CashoutTick): Promise<void> => {
      if (clock.now() < retryAt) {
        report.waiting = 'backoff'
        return
      }
      const open = ledger.unsettled().filter((e) => {
        if (e.pending) return false
        // a payer on a deadline is claimed even if its last claim bounced: it is the last chance
        if (urgentPayers.has(e.payer)) return true
        const p = parked.get(`${e.payer}:${e.token}`)
        if (!p) return true
        if (e.best.cheque.cumulativeAmount > p.cumulative || clock.now() - p.atMs >= bounceBackoffMs) {
          parked.delete(`${e.payer}:${e.token}`)
          return true
        }
        return false
      })
      if (open.length === 0) {
        report.waiting = 'nothing-owed'
        return
      }
      const gasPrice = await publicClient.getGasPrice()
      let claimable = open
      if (init.gasPriceCapWei !== undefined && gasPrice > init.gasPriceCapWei) {
        // a payer on a deadline is claimed whatever gas costs: past the deadline the money is gone
        claimable = open.filter((e) => urgentPayers.has(e.payer))
        if (claimable.length === 0) {
          log.info({ gasPrice, cap: init.gasPriceCapWei }, 'gas price above cap; waiting')
          report.waiting = 'gas-price'
          return
        }
        log.warn({ gasPrice, cap: init.gasPriceCapWei, payers: claimable.length }, 'gas price above cap; claiming only payers on a deadline')
      }
      const now = clock.now()
      const byToken = new Map<Address, LedgerEntry[]>()
      for (const e of claimable) {
        const list = byToken.get(e.token)
        if (list) list.push(e)
        else byToken.set(e.token, [e])
      }
      const due: LedgerEntry[][] = []
      for (const entries of byToken.values()) {
        const total = entries.reduce((s, e) => s + e.exposure, 0n)
        const min = threshold(gasPrice, entries.length)
        const old = entries.some((e) => e.unsettledSinceMs !== undefined && now - e.unsettledSinceMs >= maxAgeMs)
        // payers on a deadline first, so the first batch carries them
        const list = total >= min || old ? entries : entries.filter((e) => urgentPayers.has(e.payer))
        list.sort((a, b) => Number(urgentPayers.has(b.payer)) - Number(urgentPayers.has(a.payer)))
        if (list.length > 0) due.push(list)
      }
      if (due.length === 0) {
        report.waiting = 'below-threshold'
        return
      }
      try {
        // due holds one list per token: claimCompact takes one token per call
        for (const batch of due.flatMap((entries) => chunk(entries, batchSize))) {
          const token = batch[0]!.token
          const hash = await walletClient.writeContract({
            address: escrow,
            abi: escrowAbi,
            functionName: 'claimCompact',
            args: [ledger.payee, token, encodeCompactRows(ledger.payee, token, batch.map((e) => e.best))],
            account,
            chain: walletClient.chain ?? null,
          })
          ledger.markPending(batch.map((e) => ({ payer: e.payer, token: e.token, cumulative: e.best.cheque.cumulativeAmount })), hash)
          let deadlineS: bigint | undefined
          for (const e of batch) {
            const d = deadlines.get(e.payer)
            if (d !== undefined && (deadlineS === undefined || d < deadlineS)) deadlineS = d
          }
          inflight.set(hash, { sentAtMs: clock.now(), deadlineS, urgent: batch.some((e) => urgentPayers.has(e.payer)), replaced: [] })
          report.sent.push(hash)
          for (const e of batch) urgentPayers.delete(e.payer)
        }
        failures = 0
        retryAt = 0
      } catch (err) {
        failures++
        retryAt = clock.now() + Math.min(retryMaxMs, retryBaseMs * 2 ** (failures - 1))
        log.warn({ err, failures, retryAt }, 'claim failed; backing off')
      }
    }

    /** Withdrawals sent and not mined yet, by token: one at a time per token. */
    const withdrawing = new Map<Address, Promise<void>>()

    /**
     * Sends `withdrawEarnings` for each token with confirmed earnings; returns the receipts to
     * wait for. Only the sending is inside the serialized pass (one nonce at a time): the wait for
     * the receipt is not, so an urgent claim never queues behind a withdrawal being mined.
     */
    const withdraw = async (report: CashoutTick): Promise<Promise<void>[]> => {
      const pendingTokens = new Set(ledger.unsettled().filter((e) => e.pending).map((e) => e.token))
      const waits: Promise<void>[] = []
      for (const token of ledger.tokens()) {
        if (pendingTokens.has(token)) continue // withdraw once the in-flight claims are settled
        if (withdrawing.has(token)) continue // the last one is still being mined
        const earned = await publicClient.readContract({ address: escrow, abi: escrowAbi, functionName: 'earnings', args: [ledger.payee, token] })
        if (earned === 0n || earned < (init.withdrawMinUnits ?? 1n)) continue
        const txHash = await walletClient.writeContract({
          address: escrow,
          abi: escrowAbi,
          functionName: 'withdrawEarnings',
          args: [token, withdrawTo],
          account,
          chain: walletClient.chain ?? null,
        })
        const wait = publicClient
          .waitForTransactionReceipt({ hash: txHash })
          .then((receipt) => {
            if (receipt.status === 'success') report.withdrawn.push({ token, amount: earned, txHash })
          })
          .finally(() => withdrawing.delete(token))
        withdrawing.set(token, wait.catch(() => undefined))
        waits.push(wait)
      }
      return waits
    }

    const tick = async (): Promise<{ report: CashoutTick; waits: Promise<void>[] }> => {
      const report: CashoutTick = { sent: [], confirmed: [], requeued: [], repriced: [], reorged: [], withdrawn: [] }
      await reconcile(report)
      await sendClaims(report)
      const waits = report.sent.length === 0 ? await withdraw(report) : []
      return { report, waits }
    }

    const serialTick = (): Promise<CashoutTick> => {
      // one pass at a time: a timer tick and an event-driven tick must not claim the same pairs
      const pass = (running ?? Promise.resolve(undefined)).catch(() => undefined).then(tick)
      running = pass
      // this caller's report includes its withdrawals once mined; the next pass does not wait for them
      return pass.then(async ({ report, waits }) => {
        await Promise.all(waits)
        return report
      })
    }

    const loop = (): void => {
      timer = setTimeout(() => {
        serialTick()
          .catch((err: unknown) => log.warn({ err }, 'cash-out pass failed'))
          .finally(() => {
            if (timer) loop()
          })
      }, init.pollIntervalMs ?? 15_000)
      timer.unref?.()
    }

    return {
      tick: serialTick,
      urgent(payerIn, deadlineS) {
        const payer = getAddress(payerIn)
        urgentPayers.add(payer)
        const d = deadlines.get(payer)
        if (deadlineS !== undefined && deadlineS > 0n && (d === undefined || deadlineS < d)) deadlines.set(payer, deadlineS)
        // a claim already in flight for this payer gets the deadline (and loses the gas cap) too
        for (const e of ledger.unsettled()) {
          const rec = e.payer === payer && e.pending ? inflight.get(e.pending.txHash) : undefined
          if (!rec) continue
          rec.urgent = true
          if (deadlineS !== undefined && deadlineS > 0n && (rec.deadlineS === undefined || deadlineS < rec.deadlineS)) rec.deadlineS = deadlineS
        }
      },
      async start() {
        if (init.watchWithdrawals ?? true) {
          unwatch = publicClient.watchContractEvent({
            address: escrow,
            abi: escrowAbi,
            eventName: 'WithdrawRequested',
            onLogs: (logs) => {
              for (const l of logs) if (l.args.payer) urgentPayers.add(getAddress(l.args.payer))
              serialTick().catch((err: unknown) => log.warn({ err }, 'cash-out pass failed'))
            },
          })
        }
        loop()
      },
      async stop() {
        unwatch?.()
        if (timer) clearTimeout(timer)
        timer = undefined
        await running?.catch(() => undefined)
      },
    }
  }
}
