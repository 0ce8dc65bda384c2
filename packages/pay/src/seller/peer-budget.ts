/**
 * A budget of signature checks per peer (connection): a token bucket each, so one peer sending
 * forged cheques — even cheques naming a payer the seller already follows, which skip the payer
 * gate — costs at most `burst` checks at once and `perSecond` after that. A peer past its budget
 * is to be closed (the seller returns that decision; the wire layer acts on it). Buckets are kept
 * for at most `maxPeers` peers (least recently used dropped), so the table is not sized by
 * attacker input either.
 */

export interface PeerBudgetInit {
  /** Signature checks a peer may spend at once. @default 32 */
  burst?: number
  /** Checks regained per second. @default 16 (an honest buyer needs one per burst, ~10 per second) */
  perSecond?: number
  /** Peers remembered. @default 4096 */
  maxPeers?: number
}

export interface PeerBudget {
  /** Takes one check from `peer`'s bucket; false when it is empty. */
  take(peer: string): boolean
  /** Forgets a peer (its connection closed). */
  forget(peer: string): void
}

/** @example const budget = createPeerBudget({ burst: 8 }); if (!budget.take(peerId)) closePeer() */
export function createPeerBudget(init: PeerBudgetInit = {}, now: () => number = Date.now): PeerBudget {
  const burst = init.burst ?? 32
  const rate = init.perSecond ?? 16
  const maxPeers = init.maxPeers ?? 4096
  const buckets = new Map<string, { tokens: number; last: number }>()
  return {
    take(peer) {
      const t = now()
      let b = buckets.get(peer)
      if (b) buckets.delete(peer)
      else {
        if (buckets.size >= maxPeers) buckets.delete(buckets.keys().next().value as string)
        b = { tokens: burst, last: t }
      }
      b.tokens = Math.min(burst, b.tokens + (Math.max(0, t - b.last) / 1000) * rate)
      b.last = t
      buckets.set(peer, b)
      if (b.tokens < 1) return false
      b.tokens -= 1
      return true
    },
    forget(peer) {
      buckets.delete(peer)
    },
  }
}
