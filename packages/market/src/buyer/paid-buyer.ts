/**
 * The buyer side of `bitcdn_pay`: downloads from priced sellers and pays each one for exactly the
 * bytes it delivered into pieces that verified — the torrent's `verified` event names who delivered
 * each verified piece's bytes; a piece that fails its hash never appears there, so it is never paid.
 *
 * Per seller (payee): the terms are checked (our chain and escrow, our token, price ≤ the maximum)
 * or the buyer leaves; then hello (payer, signer, a fresh nonce, and the signer's signature over
 * the terms and their nonce: wire/payer-proof.ts), and the seller's payee proof
 * must verify (wire/payee-proof.ts) before the connection downloads or joins that payee's account
 * — so nothing is requested from, or paid to, a payee a peer only claims. As pieces verify, the unpaid value is paid with
 * one cumulative cheque (coalesced: a cheque covers every piece verified since the last one, at
 * least one piece). The wallet writes the new cumulative durably before it signs. Requests to a
 * seller are capped so the buyer never owes it more than the credit it announced, never commits
 * more than the budget, and spread by `sellerWeights` (price, throughput, reliability). Sellers it
 * buys from steadily get their allocation topped up (`AllocationManager.ensureAllocation`).
 */
import { EventEmitter } from 'node:events'
import { getAddress, type Address } from 'viem'
import { silentLogger, tokenUnits, type BitcdnError, type Logger, type TokenUnits } from '@bitcdn/core'
import { randomBytes } from 'node:crypto'
import { encodeSessionCheque, type ChequeDomain, type SignedCheque } from '@bitcdn/pay'
import type { HardenedWire, PeerConnection, PieceSource, Torrent } from '@bitcdn/swarm'
import { marketError } from '../errors.js'
import { bytesValue } from '../price.js'
import { RefuseReason, type PayMessage, type TermsMessage } from '../wire/codec.js'
import { attachPayChannel, type PayChannel } from '../wire/pay-channel.js'
import { verifyPayeeProof } from '../wire/payee-proof.js'
import { signPayerProof, type PayerKey } from '../wire/payer-proof.js'
import { lookupSourceOf, sourceBudgets } from '../peer-source.js'
import { overShare, sellerWeights, type BuyerPolicyOptions, type ShareStanding } from './buyer-policy.js'

/** Issues cheques, durably before signing (pay's `PayerWallet` is one). */
export interface BuyerPayments {
  pay(payee: Address, token: Address, amount: TokenUnits): Promise<SignedCheque>
}

/** Keeps a hard allocation for a seller (the payer wallet's `ensureAllocation`). */
export interface AllocationManager {
  /** Make the payer's allocation to `payee` at least `amount` (allocating from the free balance). */
  ensureAllocation(payee: Address, token: Address, amount: TokenUnits): Promise<unknown>
}

export interface PaidBuyerInit {
  /** The escrow account that pays. */
  payer: Address
  /** The key that signs the cheques (the payer or its authorized signer). */
  signer: Address
  /** Our escrow: sellers on another chain or escrow are left at the terms. */
  domain: ChequeDomain
  /** The token we pay in. */
  token: Address
  /** Sellers above this price are left at the terms. */
  maxPricePerGiB: TokenUnits
  /** The most this buyer will spend in total (cheques signed plus what is in flight). */
  budget: TokenUnits
  /**
   * Stop requesting from a seller while this much is unpaid to it (a cheque is never bigger, unless
   * one piece is worth more). @default the seller's credit
   */
  maxChequeValue?: TokenUnits
  /**
   * Coalescing: pay a seller once this much is due to it (or half the credit it last announced, if
   * less), or `chequeIntervalMs` after the first unpaid verified piece, whichever comes first (each
   * cheque covers at least one piece; every cheque costs the buyer a signature and an fsync and the
   * seller a verification and an fsync).
   * @default a quarter of the credit the seller last announced, at least the value of 1 MiB: few
   *   cheques once the window has grown, paid long before the credit runs out
   */
  chequeValue?: TokenUnits
  /** @default 250 */
  chequeIntervalMs?: number
  /** Download from peers that do not ask for payment. @default true */
  allowFree?: boolean
  /** Seller choice. */
  policy?: BuyerPolicyOptions
  /**
   * Top up the allocation to a seller once it was paid `after` (steady business), or half the soft
   * allowance its terms announced if that is less (unclaimed cheques use the allowance up): to
   * `amount`, again every such step paid. Needs an `allocator`. @default none
   */
  allocation?: { after: TokenUnits; amount: TokenUnits }
  /** How often seller weights and throughput are recomputed, ms. @default 1000 */
  rebalanceIntervalMs?: number
  /**
   * Hellos one source (an IPv4 address, an IPv6 /64) may have us sign on connections it opens to
   * us: a burst, then a steady rate. Each costs a signature (~1 ms of CPU) asked for by nothing
   * more than a connection and copied terms, so a peer churning connections would otherwise make
   * us sign without end; a connection over the budget is left (`BITCDN_ERR_PAY_HELLO_RATE_LIMITED`).
   * Connections we dial are not counted: we pace those.
   * @default { burst: 16, perSecond: 2 }
   */
  helloBudget?: { burst: number; perSecond: number }
}

export interface PaidBuyerComponents {
  wallet: BuyerPayments
  /** The key of `init.signer` (a viem `LocalAccount`): signs each connection's hello (its payer proof). */
  signerKey: PayerKey
  allocator?: AllocationManager
  logger?: Logger
}

/** What the buyer knows about one seller. */
export interface SellerView {
  payee: Address
  pricePerGiB: TokenUnits
  /** Bytes it delivered into verified pieces. */
  verifiedBytes: number
  /** Value paid by cheques this process signed. */
  paid: TokenUnits
  /** The seller's last acknowledged cumulative. */
  acked: TokenUnits
  /** What the seller last announced it would still honour (its window and collateral left, at its last ack). */
  credit: TokenUnits
  /** Requests it may hold now. */
  depth: number
  /** Share of the bytes it should deliver (buyer policy). */
  share: number
  /** Block bytes received from it. */
  receivedBytes: number
  good: number
  bad: number
}

export interface PaidBuyerEvents {
  /** A cheque was signed (durably recorded first) and sent. */
  paid: [payee: Address, cumulative: TokenUnits, increment: TokenUnits]
  /** A seller acknowledged our cheques up to `cumulative`. */
  acked: [payee: Address, cumulative: bigint]
  /** The budget cannot pay for more: requests to paid sellers stop. */
  exhausted: []
  /** A seller was left or refused us. */
  left: [id: string, err: BitcdnError]
}

export interface PaidBuyer extends EventEmitter<PaidBuyerEvents> {
  /** Pass to `createSwarmClient(init, { ...buyer.swarm })`. */
  readonly swarm: {
    extendWire: (wire: HardenedWire, conn: PeerConnection, infoHash: string) => void
    requestLimit: (conn: PeerConnection, infoHash: string) => number | undefined
    keepSeedConnection: (conn: PeerConnection, infoHash: string) => boolean
  }
  /** Pay for this torrent's verified pieces. */
  track(torrent: Torrent): void
  /** Total value paid. */
  spent(): TokenUnits
  sellers(): SellerView[]
  /** Stop the rebalancing timer. */
  close(): void
}

interface SellerAccount {
  payee: Address
  price: TokenUnits
  /** What the seller trusts us with from our free balance (its terms): unclaimed cheques use it up. */
  softAllowance: TokenUnits
  verifiedBytes: number
  paid: bigint
  acked: bigint
  credit: bigint
  /** `credit` in bytes at its price, and one block's value: asked on every request (per block), computed once */
  creditBytes: number
  perBlock: bigint
  depth: number
  share: number
  receivedBytes: number
  /** When its last block arrived (ms). */
  lastBlockAt: number
  good: number
  bad: number
  /** Verified bytes at the last rate sample, and the rate. */
  sampledBytes: number
  throughput: number
  paying: boolean
  again: boolean
  /** Block bytes received from it since its last ack (the announced credit was before them). */
  receivedSinceAck: number
  /** It accepted a cheque of ours: its window reserves whole pieces, so requests keep a piece of margin. */
  proven: boolean
  lastCheque?: SignedCheque
  /** `paid` when its allocation was last topped up (undefined: never). */
  allocatedAt?: bigint
  channels: Set<Session>
  flushTimer?: NodeJS.Timeout
  allocating?: boolean
}

interface Session {
  ch: PayChannel
  conn: PeerConnection
  infoHash: string
  /** new → proving (terms suit us, hello sent, waiting for the payee proof) → paying */
  state: 'new' | 'proving' | 'paying'
  /** The terms and our nonce while proving. */
  terms?: TermsMessage
  nonce?: Uint8Array
  /** Set while the proof verifies: later messages of this connection wait behind it. */
  queue?: Promise<void>
  seller?: SellerAccount
  /** The seller acknowledged our hello (admitted us): cheques may go out on this connection. */
  admitted?: boolean
  /** A cheque went out on this connection (the next ack then accepted it: the seller holds us proven). */
  chequeSent?: boolean
  /** Bytes from this connection in pieces that verified. */
  verified: number
}

const BLOCK = 16 * 1024
/** With the budget committed, how long no piece may verify before the buyer is exhausted, ms. */
const SETTLE_MS = 500
const MIB = 1024 * 1024
const GIB = 1n << 30n
/** A seller whose last block is older than this is not delivering (it holds no other seller back). */
const DELIVERING_MS = 500
/** Closed connections remembered so pieces they delivered that verify later are still paid for. */
const MAX_CLOSED = 1024
/** Sources whose hello budget is remembered (oldest forgotten first). */
const MAX_SOURCES = 4096

/**
 * @example
 * const buyer = createPaidBuyer({ payer, signer, domain, token, maxPricePerGiB, budget })({ wallet, signerKey: account })
 * const client = createSwarmClient({}, buyer.swarm)
 * const t = await client.add(magnet, { dir }); buyer.track(t); await t.whenDone()
 */
export function createPaidBuyer(init: PaidBuyerInit): (components: PaidBuyerComponents) => PaidBuyer {
  return (components) => {
    const log = (components.logger ?? silentLogger).child({ component: 'paid-buyer' })
    const token = getAddress(init.token)
    const payer = getAddress(init.payer)
    const signer = getAddress(init.signer)
    // a key that is not the signer would make every seller refuse the hello: say so at once
    if (getAddress(components.signerKey.address) !== signer) throw marketError('payerUnproven', `the signer key ${components.signerKey.address} is not the signer ${signer}`, { signer })
    const escrow = getAddress(init.domain.verifyingContract)
    const allowFree = init.allowFree ?? true
    const sessions = new Map<string, Session>()
    /** Closed connections' sellers (insertion order: the oldest is forgotten first). */
    const closed = new Map<string, SellerAccount>()
    const torrents = new Map<string, Torrent>()
    const sellers = new Map<Address, SellerAccount>()
    const helloBudget = init.helloBudget ?? { burst: 16, perSecond: 2 }
    /** Hello signatures per source of connections opened to us. */
    const hellos = sourceBudgets({ burst: helloBudget.burst, ratePerSecond: helloBudget.perSecond, maxSources: MAX_SOURCES })
    let spent = 0n
    let exhausted = false
    const key = (infoHash: string, id: string) => `${infoHash}/${id}`

    /** Bytes worth `value` at `price` (rounded down; unbounded for a free seller), as a safe number. */
    const bytesFor = (value: bigint, price: bigint): number => {
      if (value <= 0n) return 0
      if (price === 0n) return Number.MAX_SAFE_INTEGER
      const b = (value * GIB) / price
      return b > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(b)
    }

    /** Value owed to a seller for verified bytes not yet paid. */
    const dueOf = (a: SellerAccount) => bytesValue(a.verifiedBytes, a.price) - a.paid

    /**
     * Nothing due and every cheque acknowledged. `acked` is the seller's cumulative, which for a
     * payer that bought from it before is above what this process paid: compare with our last
     * cheque's cumulative, not with `paid`.
     */
    const settled = (a: SellerAccount) =>
      dueOf(a) <= 0n && !a.paying && (a.lastCheque === undefined ? a.paid === 0n : a.acked >= a.lastCheque.cheque.cumulativeAmount)

    /** A finished torrent's connection kept open for the last cheque: close it once settled. */
    const closeIfSettled = (s: Session) => {
      const a = s.seller
      if (a === undefined || !settled(a) || torrents.get(s.infoHash)?.done !== true) return
      setImmediate(() => s.conn.destroy())
    }

    /** Everything the buyer may still have to pay: signed, due, and in flight. */
    const committed = (): bigint => {
      let v = spent
      for (const a of sellers.values()) {
        const due = dueOf(a)
        if (due > 0n) v += due
      }
      for (const s of sessions.values()) {
        if (s.state !== 'paying' || s.seller === undefined) continue
        // in flight, and received into pieces not verified yet: owed once they verify (duplicates
        // and failed pieces stay counted, so the budget errs on the side of the seller)
        const unverified = Math.max(0, s.conn.downloaded - s.verified)
        v += bytesValue(s.conn.outstanding * BLOCK + unverified, s.seller.price)
      }
      return v
    }

    const leave = (s: Session, err: BitcdnError, reason: RefuseReason) => {
      this_.emit('left', s.conn.id, err)
      s.ch.close(err, reason)
    }

    const onTerms = async (s: Session, t: TermsMessage): Promise<void> => {
      if (s.state !== 'new') throw marketError('messageUnexpected', 'terms sent twice')
      const why =
        t.chainId !== init.domain.chainId
          ? `chain ${t.chainId}, not ${init.domain.chainId}`
          : t.escrow !== escrow
            ? `escrow ${t.escrow}, not ${escrow}`
            : t.token !== token
              ? `token ${t.token}, not ${token}`
              : t.pricePerGiB > init.maxPricePerGiB
                ? `price ${t.pricePerGiB}/GiB above our maximum ${init.maxPricePerGiB}`
                : t.payee === payer
                  ? 'the seller is our own payer account'
                  : undefined
      // the price goes with the refusal: a buyer that found no seller under its maximum says what it saw
      const overPrice = t.pricePerGiB > init.maxPricePerGiB ? { pricePerGiB: t.pricePerGiB } : {}
      if (why !== undefined) return leave(s, marketError('termsRefused', `seller ${s.conn.id} terms refused: ${why}`, { peer: s.conn.id, ...overPrice }), RefuseReason.terms)
      // a signature per connection it opens to us is ours to spend, not the peer's: bounded per
      // source (the connections we dial are ours to pace, a gateway opens many to one node)
      if (s.conn.outgoing !== true && !hellos.take(s.conn.id)) return leave(s, marketError('helloRateLimited', `too many hellos asked of us from ${lookupSourceOf(s.conn.id)}; ${s.conn.id} left unsigned (try again later)`, { peer: s.conn.id }), RefuseReason.terms)
      // anyone can name any payee: it must sign this connection's nonce before we download or pay
      s.terms = t
      s.nonce = randomBytes(32)
      s.state = 'proving'
      // and we sign the seller's nonce: without it the seller serves nothing (wire/payer-proof.ts)
      const signature = await signPayerProof(components.signerKey, { domain: init.domain, payer, signer, payee: t.payee, token, pricePerGiB: t.pricePerGiB, infoHash: s.infoHash, nonce: t.nonce })
      if (s.ch.closed) return
      s.ch.send({ type: 'hello', payer, signer, nonce: s.nonce, signature })
    }

    const onProof = async (s: Session, signature: Uint8Array): Promise<void> => {
      if (s.state !== 'proving') throw marketError('messageUnexpected', s.state === 'new' ? 'payee proof before terms' : 'second payee proof')
      const t = s.terms!
      try {
        // our own chain and escrow: a proof signed for another one does not recover to the payee
        await verifyPayeeProof(signature, { domain: init.domain, payee: t.payee, token, pricePerGiB: t.pricePerGiB, softAllowance: t.softAllowance, infoHash: s.infoHash, nonce: s.nonce! })
      } catch (err) {
        log.warn({ peer: s.conn.id, payee: t.payee, code: (err as BitcdnError).code, err: (err as Error).message }, 'payee proof refused')
        return leave(s, err as BitcdnError, RefuseReason.proof)
      }
      if (s.ch.closed) return
      let a = sellers.get(t.payee)
      if (a === undefined) {
        a = { payee: t.payee, price: t.pricePerGiB, softAllowance: t.softAllowance, verifiedBytes: 0, paid: 0n, acked: 0n, credit: 0n, creditBytes: 0, perBlock: bytesValue(BLOCK, t.pricePerGiB), depth: init.policy?.minDepth ?? 2, share: 0, receivedBytes: 0, lastBlockAt: 0, good: 0, bad: 0, sampledBytes: 0, throughput: 0, paying: false, again: false, receivedSinceAck: 0, proven: false, channels: new Set() }
        sellers.set(t.payee, a)
      } else if (a.price !== t.pricePerGiB) {
        // a seller that changed its price: pay what is due at the old price first
        return leave(s, marketError('termsRefused', `seller ${t.payee} changed its price`, { peer: s.conn.id }), RefuseReason.terms)
      }
      s.seller = a
      s.state = 'paying'
      s.terms = undefined
      a.channels.add(s)
      topUp(a, s.infoHash)
      rebalance()
      torrents.get(s.infoHash)?.requestMore()
    }

    /**
     * Messages of one connection in order: while its payee proof verifies (async), what follows it
     * (the seller's admission ack) waits behind it.
     */
    const onMessage = (s: Session, msg: PayMessage): void | Promise<void> => {
      if (s.queue === undefined && msg.type !== 'proof') return handle(s, msg)
      const q = s.queue === undefined ? onProof(s, (msg as { signature: Uint8Array }).signature) : s.queue.then(() => (s.ch.closed ? undefined : handle(s, msg)))
      s.queue = q
      const clear = () => {
        if (s.queue === q) s.queue = undefined
      }
      q.then(clear, clear)
      return q
    }

    const handle = (s: Session, msg: PayMessage): void | Promise<void> => {
      switch (msg.type) {
        case 'terms':
          return onTerms(s, msg)
        case 'proof':
          return onProof(s, msg.signature)
        case 'ack': {
          const a = s.seller
          if (a === undefined) throw marketError('messageUnexpected', s.state === 'proving' ? 'ack before the payee proof' : 'ack before terms')
          if (msg.cumulative > a.acked) {
            a.acked = msg.cumulative
            a.good++
            this_.emit('acked', a.payee, msg.cumulative)
          }
          // what it will still honour, as of now: bytes received before this ack are inside it
          a.credit = msg.credit
          a.creditBytes = bytesFor(msg.credit, a.price)
          a.receivedSinceAck = 0
          // the ack raised what we may ask for: a connection that had used up its credit has
          // nothing in flight, so no block event would refill it (it would idle while others serve)
          torrents.get(s.infoHash)?.requestMore()
          if (s.chequeSent) a.proven = true
          if (!s.admitted) {
            // the first ack answers our hello: only now may cheques go out here (a seller closes
            // on a cheque before admission); one signed while none was admitted (a reconnect
            // after the seller restarted) goes out now
            s.admitted = true
            if (a.lastCheque !== undefined && a.lastCheque.cheque.cumulativeAmount > msg.cumulative) sendCheque(s, encodeSessionCheque(a.lastCheque))
          }
          closeIfSettled(s)
          return
        }
        case 'refuse': {
          if (s.seller !== undefined) s.seller.bad++
          const err = marketError('payerRefused', `seller ${s.conn.id} refused: ${msg.text}`, { peer: s.conn.id, reason: msg.reason })
          log.info({ peer: s.conn.id, reason: msg.reason, text: msg.text }, 'seller refused')
          this_.emit('left', s.conn.id, err)
          // a refused cheque of ours is a bug or a dispute: the seller closes; so do we
          s.conn.destroy(err)
          return
        }
        case 'hello':
        case 'cheque':
          return // a buyer talking to us: we sell nothing here
      }
    }

    const sendCheque = (s: Session, cheque: Uint8Array) => {
      s.chequeSent = true
      s.ch.send({ type: 'cheque', cheque })
    }

    const pay = async (a: SellerAccount): Promise<void> => {
      if (a.paying) {
        a.again = true
        return
      }
      a.paying = true
      try {
        do {
          a.again = false
          const due = dueOf(a)
          if (due <= 0n) break
          if (spent + due > init.budget) {
            markExhausted()
            break
          }
          // the wallet commits the new cumulative to disk before it signs
          const signed = await components.wallet.pay(a.payee, token, tokenUnits(due))
          a.paid += due
          spent += due
          a.lastCheque = signed
          const cheque = encodeSessionCheque(signed)
          for (const s of a.channels) if (s.admitted) sendCheque(s, cheque)
          this_.emit('paid', a.payee, signed.cheque.cumulativeAmount, tokenUnits(due))
          topUp(a)
        } while (a.again)
      } catch (err) {
        log.error({ err: (err as Error).message, payee: a.payee }, 'cannot pay seller')
        a.bad++
      } finally {
        a.paying = false
      }
      for (const s of a.channels) closeIfSettled(s)
    }

    /**
     * Top up `a`'s allocation once it was paid `after`, or at once (`infoHash`: a new connection) when
     * what is left of that torrent at its price is worth `after` or more — that download is steady
     * business from its first byte, and an allocation made only once `after` was paid reached the
     * seller (its escrow watcher's poll) after the soft allowance had run out: a stall of a second
     * or two on a fast link.
     */
    const topUp = (a: SellerAccount, infoHash?: string) => {
      const rule = init.allocation
      const allocator = components.allocator
      if (rule === undefined || allocator === undefined) return
      // unclaimed cheques use up the seller's soft allowance: by half of it, the seller is one we
      // buy from steadily, and without collateral it would soon stop serving us
      const after = a.softAllowance > 0n && a.softAllowance / 2n < rule.after ? a.softAllowance / 2n : rule.after
      if (a.allocatedAt === undefined && infoHash !== undefined) {
        if (bytesValue(leftToFetch(infoHash), a.price) < after) return
      } else if (a.paid < after) return
      // once per `after` paid: steady business keeps its allocation, a one-off never ties funds up
      if (a.allocatedAt !== undefined && a.paid - a.allocatedAt < after) return
      if (a.allocating) return
      a.allocatedAt = a.paid
      a.allocating = true
      allocator
        .ensureAllocation(a.payee, token, rule.amount)
        .catch((err: unknown) => log.warn({ err: (err as Error).message, payee: a.payee }, 'allocation top-up failed'))
        .finally(() => (a.allocating = false))
    }

    /** Bytes of the torrent not verified yet (0 while its metadata is unknown). */
    const leftToFetch = (infoHash: string): number => {
      const t = torrents.get(infoHash)
      const length = t?.metainfo?.length ?? 0
      return length === 0 ? 0 : Math.max(0, Math.round(length * (1 - t!.stats().progress)))
    }

    const onVerified = (infoHash: string, sources: PieceSource[]) => {
      for (const src of sources) {
        const k = key(infoHash, src.id)
        const s = sessions.get(k)
        // a connection that closed before its piece verified: its seller is still paid (when
        // reachable: the cheque goes out on any of its connections, or on the next one)
        const a = s?.state === 'paying' ? s.seller : closed.get(k)
        if (a === undefined) continue
        if (s !== undefined && s.state === 'paying' && s.seller === a) s.verified += src.bytes
        a.verifiedBytes += src.bytes
        // pay well before the announced credit runs out, so the seller never has to wait for us
        const half = a.credit / 2n
        const mib = bytesValue(MIB, a.price)
        const coalesce = init.chequeValue ?? (a.credit / 4n > mib ? a.credit / 4n : mib)
        const threshold = half > 0n && half < coalesce ? half : coalesce
        // the first cheque goes at once: it proves to the seller that we hold the payer's key
        if (dueOf(a) >= threshold || (a.paid === 0n && dueOf(a) > 0n)) {
          clearTimeout(a.flushTimer)
          a.flushTimer = undefined
          void pay(a)
        } else if (a.flushTimer === undefined) {
          a.flushTimer = setTimeout(() => {
            a.flushTimer = undefined
            void pay(a)
          }, init.chequeIntervalMs ?? 250)
        }
      }
    }

    const rebalance = () => {
      const live = [...sellers.values()].filter((a) => [...a.channels].some((s) => !s.ch.closed))
      const w = sellerWeights(
        live.map((a) => ({ id: a.payee, pricePerGiB: a.price, throughput: a.throughput, good: a.good, bad: a.bad })),
        init.policy,
      )
      for (const a of sellers.values()) {
        const x = w.get(a.payee)
        a.depth = x?.depth ?? 0
        a.share = x?.share ?? 0
      }
    }

    /**
     * The price preference (buyer-policy.ts): a seller ahead of its share of the bytes, while a
     * seller behind its own is delivering, gets no new requests until that one catches up.
     */
    // asked on every requestLimit call (per block received): the standings live in one reused
    // array and the slack per torrent, so the check allocates nothing
    const standings: ShareStanding[] = []
    const slacks = new Map<string, number>()
    const slackOf = (infoHash: string): number => {
      const hit = slacks.get(infoHash)
      if (hit !== undefined) return hit
      const meta = torrents.get(infoHash)?.metainfo
      if (meta === undefined) return init.policy?.shareSlackBytes ?? 0
      // a torrent smaller than the slack would never see the preference: an eighth of it then
      const slack = init.policy?.shareSlackBytes ?? Math.max(2 * meta.pieceLength, Math.min(4 * MIB, Math.floor(meta.length / 8)))
      slacks.set(infoHash, slack)
      return slack
    }
    const heldBack = (a: SellerAccount, infoHash: string): boolean => {
      if (a.share >= 1 || a.share <= 0) return false
      const now = Date.now()
      let n = 0
      for (const x of sellers.values()) {
        if (x.share <= 0) continue
        // bytes asked for count with bytes received: a fresh connection's first pipeline (several
        // MiB) would otherwise commit a small torrent evenly before any standing existed
        let asked = 0
        let open = false
        for (const c of x.channels) {
          if (c.ch.closed) continue
          open = true
          asked += c.conn.outstanding * BLOCK
        }
        if (!open) continue
        const st = standings[n] ?? (standings[n] = { id: '', share: 0, receivedBytes: 0, delivering: false })
        st.id = x.payee
        st.share = x.share
        st.receivedBytes = x.receivedBytes + asked
        st.delivering = now - x.lastBlockAt < DELIVERING_MS
        n++
      }
      standings.length = n
      return overShare(a.payee, standings, slackOf(infoHash))
    }

    const markExhausted = () => {
      if (exhausted) return
      exhausted = true
      log.warn({ spent: spent.toString(), budget: init.budget.toString() }, 'budget exhausted')
      this_.emit('exhausted')
    }

    /** Bytes verified from paid sellers so far, and when that last grew while the budget was low. */
    let lowVerified = -1
    let lowSince = 0
    let recheck: NodeJS.Timeout | undefined
    /**
     * The budget left cannot buy a block from any seller we are connected to — and nothing
     * received is still on its way to verifying. Received pieces are hashed asynchronously: the
     * moment the budget is committed, whole pieces may still be waiting for their hash, and
     * stopping then would pay for none of them. So it is exhausted once no piece verified for
     * `SETTLE_MS` while it was low (what is left unverified then are pieces the budget cannot
     * finish); until then it looks again.
     */
    const checkBudget = () => {
      if (exhausted) return
      let cheapest: bigint | undefined
      for (const a of sellers.values()) {
        if (![...a.channels].some((s) => !s.ch.closed)) continue
        const perBlock = a.perBlock + 1n
        if (cheapest === undefined || perBlock < cheapest) cheapest = perBlock
      }
      if (cheapest === undefined || init.budget - committed() >= cheapest) {
        lowVerified = -1
        return
      }
      let verified = 0
      let unverified = 0
      for (const s of sessions.values()) {
        if (s.state !== 'paying') continue
        verified += s.verified
        unverified += Math.max(0, s.conn.downloaded - s.verified) + s.conn.outstanding
      }
      const now = Date.now()
      if (verified !== lowVerified) {
        lowVerified = verified
        lowSince = now
      }
      if (unverified === 0 || now - lowSince >= SETTLE_MS) {
        markExhausted()
        return
      }
      if (recheck === undefined) {
        recheck = setTimeout(() => {
          recheck = undefined
          checkBudget()
        }, SETTLE_MS / 2)
        recheck.unref()
      }
    }

    const intervalMs = init.rebalanceIntervalMs ?? 1000
    const timer = setInterval(() => {
      for (const a of sellers.values()) {
        const inst = ((a.verifiedBytes - a.sampledBytes) * 1000) / intervalMs
        a.sampledBytes = a.verifiedBytes
        a.throughput = a.throughput === 0 ? inst : a.throughput * 0.5 + inst * 0.5
      }
      rebalance()
    }, intervalMs)
    timer.unref()

    /** Value of the bytes a seller delivered into pieces that have not verified yet. */
    const unverifiedValue = (a: SellerAccount): bigint => {
      let bytes = 0
      for (const x of a.channels) bytes += Math.max(0, x.conn.downloaded - x.verified)
      return bytesValue(bytes, a.price)
    }

    const requestLimit = (conn: PeerConnection, infoHash: string): number | undefined => {
      const s = sessions.get(key(infoHash, conn.id))
      if (s === undefined || s.state === 'new') return allowFree || s === undefined ? undefined : 0
      // nothing from a seller whose payee is not proven yet (nor paid: its pieces join no account)
      if (s.state === 'proving') return 0
      const a = s.seller!
      if (exhausted) return 0
      if (heldBack(a, infoHash)) return conn.outstanding
      const perBlock = a.perBlock
      // stay within what the seller announced it honours: bytes received since its ack and every
      // request in flight to it count against it (and, once it reserves whole pieces, a piece more)
      let inFlight = 0
      for (const c of a.channels) inFlight += c.conn.outstanding * BLOCK
      const margin = a.proven ? (torrents.get(infoHash)?.metainfo?.pieceLength ?? 0) : 0
      let room = a.creditBytes - a.receivedSinceAck - inFlight - margin
      if (init.maxChequeValue !== undefined) {
        // never owe it more than one cheque's worth: unpaid verified value plus what is in flight
        const due = dueOf(a)
        const r = bytesFor(tokenUnits(init.maxChequeValue - (due > 0n ? due : 0n)), a.price) - inFlight
        if (r < room) room = r
      }
      // …but one piece always fits: the seller commits a started piece whole, and a credit below one
      // piece (a first window of one MiB's value rounded down, a torrent of larger pieces) would
      // leave the piece unfinished, so never verified and never paid — both sides waiting forever
      const piece = torrents.get(infoHash)?.metainfo?.pieceLength ?? 0
      const floor = piece - a.receivedSinceAck - inFlight
      if (room < floor) room = floor
      const byCredit = room <= 0 ? 0 : Math.floor(room / BLOCK)
      // and the budget: what is committed everywhere plus this request stays within it
      const budgetRoom = init.budget - committed()
      const byBudget = budgetRoom <= 0n ? 0 : perBlock === 0n ? Number.MAX_SAFE_INTEGER : Number(budgetRoom / (perBlock + 1n))
      if (byBudget === 0 && conn.outstanding === 0) checkBudget()
      return Math.min(a.depth, conn.outstanding + byCredit, conn.outstanding + byBudget)
    }

    const this_ = Object.assign(new EventEmitter<PaidBuyerEvents>(), {
      swarm: {
        extendWire(wire: HardenedWire, conn: PeerConnection, infoHash: string) {
          const k = key(infoHash, conn.id)
          const s: Session = { ch: undefined as unknown as PayChannel, conn, infoHash, state: 'new', verified: 0 }
          s.ch = attachPayChannel(wire, conn, { onOpen: () => {}, onMessage: (msg) => onMessage(s, msg) }, log)
          sessions.set(k, s)
          conn.on('block', (_i: number, _b: number, data: Buffer) => {
            const a = s.seller
            if (a === undefined) return
            a.receivedSinceAck += data.length
            a.receivedBytes += data.length
            a.lastBlockAt = Date.now()
          })
          conn.once('close', () => {
            if (sessions.get(k) === s) sessions.delete(k)
            if (s.seller !== undefined) {
              s.seller.channels.delete(s)
              closed.delete(k)
              closed.set(k, s.seller)
              if (closed.size > MAX_CLOSED) closed.delete(closed.keys().next().value!)
            }
          })
        },
        requestLimit,
        keepSeedConnection(conn: PeerConnection, infoHash: string): boolean {
          const a = sessions.get(key(infoHash, conn.id))?.seller
          return a !== undefined && !settled(a)
        },
      },
      track(torrent: Torrent) {
        torrents.set(torrent.infoHash, torrent)
        // a finished torrent pays what is due at once rather than at the coalescing interval
        torrent.on('done', () => {
          for (const a of sellers.values()) if (dueOf(a) > 0n) {
            clearTimeout(a.flushTimer)
            a.flushTimer = undefined
            void pay(a)
          }
          for (const s of sessions.values()) if (s.infoHash === torrent.infoHash) closeIfSettled(s)
        })
        // at the hash check, not the store's end: a gateway serves a verified piece while it is written
        torrent.on('verified', (_i, sources) => onVerified(torrent.infoHash, sources))
        torrent.on('warning', (err) => {
          if (err.code !== 'BITCDN_ERR_PIECE_HASH_FAILED') return
          const peers = (err as BitcdnError & { details?: { peers?: string[] } }).details?.peers ?? []
          for (const id of peers) {
            const a = sessions.get(key(torrent.infoHash, id))?.seller
            if (a !== undefined) a.bad++
          }
        })
      },
      spent: () => tokenUnits(spent),
      sellers: (): SellerView[] =>
        [...sellers.values()].map((a) => ({
          payee: a.payee,
          pricePerGiB: a.price,
          verifiedBytes: a.verifiedBytes,
          paid: tokenUnits(a.paid),
          acked: tokenUnits(a.acked),
          credit: tokenUnits(a.credit),
          depth: a.depth,
          share: a.share,
          receivedBytes: a.receivedBytes,
          good: a.good,
          bad: a.bad,
        })),
      close: () => {
        clearInterval(timer)
        if (recheck !== undefined) clearTimeout(recheck)
        for (const a of sellers.values()) clearTimeout(a.flushTimer)
      },
    })
    return this_ as PaidBuyer
  }
}
