/**
 * What a `claimCompact` receipt paid per (payer, token): its lean `ChequePaid(payer, paid)` rows
 * carry neither payee nor token, which the batch's `CompactClaimed(payee, token, …)` in the same
 * receipt names. Only logs of `escrow` count, and only batches for `payee`.
 */
import { getAddress, parseEventLogs, type Address, type Log } from 'viem'
import { escrowAbi } from '../contracts/index.js'

/**
 * Sums `ChequePaid` per `payer:token` key for the `CompactClaimed` batches of `payee`. A batch's
 * rows are the `ChequePaid` logs between the previous batch event and its own (the escrow emits
 * `CompactClaimed` last).
 * @example const paid = compactPaid(receipt.logs, escrow, payee) // Map { '0xPayer:0xToken' => 5n }
 */
export function compactPaid(logs: readonly Log[], escrow: Address, payee: Address): Map<string, bigint> {
  const paid = new Map<string, bigint>()
  let rows: { payer: Address; paid: bigint }[] = []
  for (const ev of parseEventLogs({ abi: escrowAbi, logs: logs as Log[], eventName: ['ChequePaid', 'CompactClaimed'] })) {
    if (getAddress(ev.address) !== escrow) continue
    if (ev.eventName === 'ChequePaid') {
      rows.push({ payer: getAddress(ev.args.payer), paid: ev.args.paid })
      continue
    }
    if (getAddress(ev.args.payee) === payee) {
      const token = getAddress(ev.args.token)
      for (const r of rows) paid.set(`${r.payer}:${token}`, (paid.get(`${r.payer}:${token}`) ?? 0n) + r.paid)
    }
    rows = []
  }
  return paid
}
