/**
 * Bounds the chain reads a seller makes for payers it does not know yet. A cheque can name any
 * payer; reading the escrow for each (signer, balances) would let anyone turn forged cheques into
 * RPC calls. The gate keeps:
 * - a negative cache (LRU with a time to live) of payers (or payer/signer pairs) a lookup found
 *   unusable — no escrow funds, or a signer the payer has not authorized — rejected again without
 *   new reads until the entry expires;
 * - a token bucket on lookups for new payers (per seller): past it, cheques naming new payers are
 *   rejected with `BITCDN_ERR_LOOKUP_RATE_LIMITED` (the buyer resends: cheques are cumulative);
 * - one lookup in flight per payer (concurrent bursts share it).
 */
import { TokenBucket } from '@bitcdn/core'

export interface PayerGateInit {
  /** Lookups allowed at once (bucket size). @default 16 */
  lookupBurst?: number
  /** Lookups regained per second. @default 2 */
  lookupsPerSecond?: number
  /** Entries of the negative cache; the least recently used is dropped past this. @default 4096 */
  negativeCacheSize?: number
  /** How long a rejected payer stays rejected without a new lookup, ms. @default 300000 (5 min) */
  negativeTtlMs?: number
}

export interface PayerGate {
  /** True while `key` is negatively cached (refreshes its LRU position). */
  isRejected(key: string): boolean
  /** Remembers `key` as unusable for the TTL. */
  reject(key: string): void
  /** Takes one lookup from the bucket; false when it is empty. */
  tryLookup(): boolean
  /** Lookups taken so far. */
  readonly lookups: number
  /** Lookups refused by the rate limit so far. */
  readonly limited: number
}

/** @example const gate = createPayerGate({ lookupBurst: 8 }, () => Date.now()) */
export function createPayerGate(init: PayerGateInit = {}, now: () => number = Date.now): PayerGate {
  const burst = init.lookupBurst ?? 16
  const rate = init.lookupsPerSecond ?? 2
  const maxNeg = init.negativeCacheSize ?? 4096
  const ttl = init.negativeTtlMs ?? 300_000
  const negative = new Map<string, number>() // key → expiry ms, in LRU order (oldest first)
  const bucket = new TokenBucket({ ratePerSecond: rate > 0 ? rate : Number.MIN_VALUE, burst }, now)
  let lookups = 0
  let limited = 0
  return {
    isRejected(key) {
      const exp = negative.get(key)
      if (exp === undefined) return false
      negative.delete(key)
      if (exp <= now()) return false
      negative.set(key, exp)
      return true
    },
    reject(key) {
      negative.delete(key)
      if (negative.size >= maxNeg) negative.delete(negative.keys().next().value as string)
      negative.set(key, now() + ttl)
    },
    tryLookup() {
      if (!bucket.take()) {
        limited++
        return false
      }
      lookups++
      return true
    },
    get lookups() {
      return lookups
    },
    get limited() {
      return limited
    },
  }
}
