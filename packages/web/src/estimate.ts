/**
 * Earnings estimate for a new node, from the network's measured numbers only: the bytes proven by
 * claimed cheques over a window (demand that was actually paid for), the nodes online that share
 * it, and the price you would charge. No growth, no "utilization" guess: when the network has not
 * proven any bytes in the window, the estimate is zero and says why.
 */
import type { Point } from './api.js'

const GiB = 1n << 30n
const DAY_MS = 86_400_000n

export interface EstimateInputs {
  /** `bytesServedProven` samples over the window, oldest first. */
  proven: Point[]
  /** Nodes online now (you would be one more). */
  nodesOnline: number
  /** Your price per GiB, token base units. */
  pricePerGiB: bigint
}

export interface Estimate {
  /** Window the demand was measured over, ms (0 when too few samples). */
  windowMs: number
  /** Bytes proven network-wide in the window. */
  provenInWindow: bigint
  /** Network-wide proven bytes per day at the measured rate. */
  networkBytesPerDay: bigint
  /** Your equal share of that, bytes per day. */
  shareBytesPerDay: bigint
  /** Your share × your price, token base units per day. */
  perDay: bigint
  /** Why the estimate is zero, when it is. */
  reason?: string
}

/** @example estimateEarnings({ proven: points, nodesOnline: 3, pricePerGiB: 500_000n }).perDay */
export function estimateEarnings(inp: EstimateInputs): Estimate {
  const first = inp.proven[0]
  const last = inp.proven[inp.proven.length - 1]
  const windowMs = first && last ? last.at - first.at : 0
  const empty = { windowMs, provenInWindow: 0n, networkBytesPerDay: 0n, shareBytesPerDay: 0n, perDay: 0n }
  if (!first || !last || windowMs < 60_000) return { ...empty, windowMs: 0, reason: 'the hub has sampled less than a minute of proven traffic' }
  // a counter that went down (a node dropped off) is not negative demand
  const delta = BigInt(last.value) - BigInt(first.value)
  const provenInWindow = delta > 0n ? delta : 0n
  if (provenInWindow === 0n) return { ...empty, reason: 'no bytes were proven by claimed cheques in the window' }
  const networkBytesPerDay = (provenInWindow * DAY_MS) / BigInt(windowMs)
  const shareBytesPerDay = networkBytesPerDay / BigInt(inp.nodesOnline + 1)
  return { windowMs, provenInWindow, networkBytesPerDay, shareBytesPerDay, perDay: (shareBytesPerDay * inp.pricePerGiB) / GiB }
}

/** `"0.50"` (USDC per GiB) → base units; undefined when not a plain non-negative amount. */
export function parseUsdc(s: string): bigint | undefined {
  const m = /^\s*(\d{1,12})(?:\.(\d{1,6}))?\s*$/.exec(s)
  if (!m) return undefined
  return BigInt(m[1]!) * 1_000_000n + BigInt((m[2] ?? '').padEnd(6, '0'))
}
