/**
 * The seller side of `bitcdn_pay`: a node that serves pieces for cheques. It plugs into the swarm
 * client through its three slots — `extendWire` (the extension on every connection), `uploadGate`
 * (serve a request only within the buyer's credit) and `chokePolicy` (unchoke paying buyers with
 * credit left; plain peers only when the free policy allows) — and calls `rechoke()` so an
 * admission or a payment unchokes at once.
 *
 * Per connection: announce terms → the buyer's hello (payer, signer) → `payments.admit` (escrow
 * funds and signer checked) → admitted: serve up to the payer's credit beyond what is paid. Money is
 * keyed by the payer the cheques prove and the connection, never the self-declared peer id; one
 * payer's connections share one account — but a connection is charged to its payer only once a
 * cheque on it was accepted (proof it holds the key); before that it gets `unprovenBytes`, so a
 * hello naming someone else's payer buys little and cannot run up that payer's debt. Debt is the value of bytes served (counted when a request
 * is granted) minus the cheques accepted; it is also recorded durably in pay's credit
 * (`payments.delivered`), whose window (`payments.mayDeliver`: one piece's worth, doubling as
 * windows are paid) bounds a payer with a large allocation that stops paying, across restarts.
 * At 100% of credit or outside the window requests are refused and the peer is choked, at 125% (credit shrank under it: a withdrawal, cheques drawing on it) it is disconnected
 * and its payer banned.
 */
import { EventEmitter } from 'node:events'
import { getAddress, type Address } from 'viem'
import { silentLogger, tokenUnits, type BitcdnError, type Logger, type TokenUnits } from '@bitcdn/core'
import { decodeSessionCheque, PayError, type ChequeDomain, type SignedCheque } from '@bitcdn/pay'
import { rateChokePolicy, type BlockRef, type ChokePolicy, type HardenedWire, type SwarmClient } from '@bitcdn/swarm'
import { marketError } from '../errors.js'
import { bytesValue } from '../price.js'
import { RefuseReason, type PayMessage } from '../wire/codec.js'
import { attachPayChannel, type PayChannel } from '../wire/pay-channel.js'
import type { SellerPayments } from './seller-payments.js'

/** A connection as the seller sees it (a `BitTorrentConnection`). */
export interface SellerConnection {
  readonly id: string
  readonly closed: boolean
  destroy(err?: Error): void
  once(event: 'close', listener: () => void): unknown
}

export interface PaidSellerInit {
  /** Our payee address (where cheques pay). */
  payee: Address
  /** The escrow we accept cheques on (chain id and address). */
  domain: ChequeDomain
  /** The stablecoin we are paid in. */
  token: Address
  /** Token base units per GiB served. */
  pricePerGiB: TokenUnits
  /** Credit against a payer's free balance, announced in the terms (the payments adapter applies it). */
  softAllowance: TokenUnits
  /**
   * Serve peers that do not pay (plain BitTorrent clients, buyers not admitted): per torrent.
   * @default false — nobody is served for free
   */
  free?: boolean | ((infoHash: string) => boolean)
  /** A cheque may pay ahead of the debt by at most this much (rounding, a restart). @default value of 16 MiB */
  prepayAllowance?: TokenUnits
  /** Choke at this percent of credit. @default 100 */
  chokePercent?: number
  /** Disconnect and ban at this percent. @default 125 */
  disconnectPercent?: number
  /**
   * Bytes a connection is served on its hello alone, before a cheque on it proves it holds the
   * payer's key (anyone can name a rich payer in a hello). Charged to the payer only once proven.
   * @default max(256 KiB, two pieces)
   */
  unprovenBytes?: number
  /** How often every buyer's debt is checked against its (possibly shrunk) credit, ms. @default 1000 */
  checkIntervalMs?: number
}

export interface PaidSellerComponents {
  payments: SellerPayments
  logger?: Logger
  /** Told of every granted request (for metrics: bytes served paid or free, per torrent). Cheaper than diffing `stats()`. */
  onServed?: (infoHash: string, bytes: number, paid: boolean) => void
}

/** One payer's account with this seller (all its connections). */
export interface BuyerAccount {
  payer: Address
  /** Payload bytes granted to this payer's requests since this process started. */
  servedBytes: number
  /** The highest cumulative accepted (stored in the ledger). */
  accepted: TokenUnits
  /** What accepted cheques paid of this process's deliveries (collateral-backed increments only). */
  paid: TokenUnits
  /** Bytes of pieces started on its connections but not granted yet: held in pay's window. */
  reservedBytes: number
  banned: boolean
}

export interface SellerStats {
  /** Bytes served to admitted buyers. */
  paidBytes: number
  /** Bytes served under the free policy. */
  freeBytes: number
  chequesAccepted: number
  /** Refused cheques by error code. */
  chequesRefused: Record<string, number>
  /** Connections closed for a bad message, by error code. */
  closed: Record<string, number>
}

export interface PaidSellerEvents {
  /** A cheque was verified and stored. */
  cheque: [payer: Address, cumulative: TokenUnits, increment: TokenUnits]
  /** A cheque was refused (the error's code says why). */
  refused: [payer: Address | undefined, err: BitcdnError]
  /** A payer was banned for exceeding its credit. */
  banned: [payer: Address]
}

export interface PaidSeller extends EventEmitter<PaidSellerEvents> {
  /** Pass to `createSwarmClient(init, { ...seller.swarm })`. */
  readonly swarm: {
    extendWire: (wire: HardenedWire, conn: SellerConnection, infoHash: string) => void
    uploadGate: (conn: SellerConnection, ref: BlockRef, infoHash: string) => boolean
    uploadSettled: (conn: SellerConnection, ref: BlockRef, infoHash: string, sent: boolean) => void
    chokePolicy: ChokePolicy
  }
  /** The client whose torrents `rechoke()` at once on admission and payment. */
  attach(client: Pick<SwarmClient, 'get'>): void
  stats(): SellerStats
  /** The payer's account, if it ever said hello. */
  account(payer: Address): BuyerAccount | undefined
  /** Debt beyond accepted cheques, token units (negative when paid ahead). */
  owed(payer: Address): bigint
  /** Stop the periodic credit checks. */
  close(): void
}

type State = 'new' | 'admitting' | 'admitted'

interface Session {
  ch: PayChannel
  conn: SellerConnection
  infoHash: string
  state: State
  account?: BuyerAccount
  /** The newest cheque waiting while one is verified (older waiting ones are superseded). */
  pending?: SignedCheque
  verifying: boolean
  /** Highest cumulative received on this connection: a cheque not above it is a replay. */
  lastSeen: bigint
  /** A cheque on this connection was accepted: it speaks for its payer. */
  proven: boolean
  /** Bytes served before that, not yet charged to the payer. */
  unprovenServed: number
  /** Pieces this connection was granted part of: index → bytes of it not granted yet (reserved in the window). */
  open: Map<number, number>
  /** Bytes granted and not yet sent or dropped by the swarm: while any are on their way the peer stays unchoked. */
  inflight: number
  /** A request was refused while blocks were on their way: choke once they are out. */
  held: boolean
  /** The credit our last ack on this connection announced. */
  creditSent?: TokenUnits
}

const MIB = 1024 * 1024
const GIB = 1n << 30n
/** Pieces one connection may have started at once (bounds the per-connection map). */
const MAX_OPEN_PIECES = 1024

/**
 * @example
 * const seller = createPaidSeller({ payee, domain, token, pricePerGiB, softAllowance })({ payments })
 * const client = createSwarmClient({ port: 6881 }, seller.swarm)
 * seller.attach(client)
 */
export function createPaidSeller(init: PaidSellerInit): (components: PaidSellerComponents) => PaidSeller {
  return (components) => {
    const log = (components.logger ?? silentLogger).child({ component: 'paid-seller' })
    const payments = components.payments
    const payee = getAddress(init.payee)
    const token = getAddress(init.token)
    const price = init.pricePerGiB
    const chokePct = BigInt(init.chokePercent ?? 100)
    const dropPct = BigInt(init.disconnectPercent ?? 125)
    const prepay = init.prepayAllowance ?? bytesValue(16 * MIB, price)
    const freeFor = (infoHash: string) => (typeof init.free === 'function' ? init.free(infoHash) : init.free === true)
    const sessions = new Map<string, Session>()
    const accounts = new Map<Address, BuyerAccount>()
    const stats: SellerStats = { paidBytes: 0, freeBytes: 0, chequesAccepted: 0, chequesRefused: {}, closed: {} }
    let client: Pick<SwarmClient, 'get'> | undefined
    const pendingRechoke = new Set<string>()
    const key = (infoHash: string, id: string) => `${infoHash}/${id}`
    const unprovenLimit = (infoHash: string): number =>
      init.unprovenBytes ?? Math.max(256 * 1024, 2 * (client?.get(infoHash)?.metainfo?.pieceLength ?? 0))

    const rechoke = (infoHash: string) => {
      if (pendingRechoke.has(infoHash)) return
      pendingRechoke.add(infoHash)
      setImmediate(() => {
        pendingRechoke.delete(infoHash)
        client?.get(infoHash)?.rechoke()
      })
    }

    /** A request of `s` was refused: choke it now, or once the blocks granted to it are out. */
    const refused = (s: Session) => {
      if (s.inflight > 0) s.held = true
      else rechoke(s.infoHash)
    }

    const owedOf = (a: BuyerAccount, extraBytes = 0): bigint => bytesValue(a.servedBytes + extraBytes, price) - a.paid

    /** Cut off a payer whose debt reached the disconnect threshold; true when it did. */
    const enforce = (a: BuyerAccount): boolean => {
      const owed = owedOf(a)
      if (owed <= 0n) return false
      const credit = payments.credit(a.payer, token)
      if (owed * 100n < credit * dropPct) return false
      a.banned = true
      const err = marketError('creditExceeded', `payer ${a.payer} owes ${owed}, over ${dropPct}% of its credit ${credit}: disconnected and banned`, {
        payer: a.payer,
        owed: owed.toString(),
        credit: credit.toString(),
      })
      log.warn({ code: err.code, payer: a.payer, owed: owed.toString(), credit: credit.toString() }, 'buyer over its credit: banned')
      for (const s of sessions.values()) if (s.account === a) s.ch.close(err, RefuseReason.credit)
      this_.emit('banned', a.payer)
      return true
    }

    /** True while `a` may be granted `bytes` more (debt stays under the choke threshold). */
    const withinCredit = (a: BuyerAccount, bytes: number): boolean => {
      if (a.banned) return false
      const owed = owedOf(a, bytes)
      if (owed <= 0n) return true
      return owed * 100n <= payments.credit(a.payer, token) * chokePct
    }

    /** Value of one block for pay's window check: rounded up, at least one unit when priced. */
    const blockValue = (bytes: number): TokenUnits => {
      const v = (BigInt(bytes) * price + GIB - 1n) / GIB
      return tokenUnits(price > 0n && v < 1n ? 1n : v)
    }

    /** Bytes of piece `index` (the last one is shorter); one block's worth when the torrent is unknown. */
    const pieceBytes = (infoHash: string, index: number, fallback: number): number => {
      const m = client?.get(infoHash)?.metainfo
      if (m === undefined) return fallback
      return index === m.pieceCount - 1 ? m.lastPieceLength : m.pieceLength
    }

    /**
     * Whether pay's durable credit window (which bounds a large allocation that stops paying) covers
     * starting a piece of `bytes` on top of the pieces already started. A piece is committed whole
     * when its first block is granted, so a started piece is never refused for the window: the
     * buyer can always finish, verify and pay it (a refused block keeps that piece off the peer
     * until it unchokes us anew).
     */
    const windowAllows = (a: BuyerAccount, bytes: number): boolean => payments.mayDeliver?.(a.payer, token, blockValue(a.reservedBytes + bytes)) ?? true

    /** Unchoke a proven connection: within credit, and a piece it started to finish or room for a new one. */
    const mayServe = (s: Session, infoHash: string): boolean =>
      withinCredit(s.account!, 16 * 1024) && (s.open.size > 0 || windowAllows(s.account!, pieceBytes(infoHash, 0, 16 * 1024)))

    /** An admitted connection may be granted another block. */
    const canServe = (s: Session): boolean =>
      s.proven ? mayServe(s, s.infoHash) : s.unprovenServed + 16 * 1024 <= unprovenLimit(s.infoHash) && !s.account!.banned

    /** Grant block `ref` of a proven connection, or refuse it (false). */
    const grantProven = (s: Session, ref: BlockRef, infoHash: string): boolean => {
      const a = s.account!
      if (!withinCredit(a, ref.length)) return false
      let left = s.open.get(ref.index)
      if (left === undefined) {
        const size = Math.max(ref.length, pieceBytes(infoHash, ref.index, ref.length))
        if (s.open.size >= MAX_OPEN_PIECES || !windowAllows(a, size)) return false
        left = size
        a.reservedBytes += size
      }
      const take = Math.min(left, ref.length)
      a.reservedBytes -= take
      if (left - take > 0) s.open.set(ref.index, left - take)
      else s.open.delete(ref.index)
      charge(a, ref.length)
      return true
    }

    /**
     * Charge `bytes` to `a`: in memory and, durably, to pay's credit — at the step of the cumulative
     * value, so the recorded debt rounds exactly as the buyer's cheques do (no drift).
     */
    const charge = (a: BuyerAccount, bytes: number): void => {
      const before = bytesValue(a.servedBytes, price)
      a.servedBytes += bytes
      const step = bytesValue(a.servedBytes, price) - before
      if (step > 0n) payments.delivered?.(a.payer, token, tokenUnits(step))
    }

    const refuse = (s: Session, err: BitcdnError, close: boolean) => {
      stats.chequesRefused[err.code] = (stats.chequesRefused[err.code] ?? 0) + 1
      this_.emit('refused', s.account?.payer, err)
      log.info({ code: err.code, peer: s.conn.id, payer: s.account?.payer, err: err.message }, 'cheque refused')
      if (close) s.ch.close(err, RefuseReason.cheque)
      else s.ch.send({ type: 'refuse', reason: RefuseReason.cheque, text: err.message })
    }

    const onCheque = async (s: Session, signed: SignedCheque): Promise<void> => {
      const a = s.account!
      if (s.ch.closed || a.banned) return
      const cum = signed.cheque.cumulativeAmount
      if (cum <= a.accepted) {
        // another connection of this payer got a higher one accepted meanwhile: nothing to add
        return
      }
      // bytes this connection was served on its hello alone count once its cheque proves it
      const owed = owedOf(a, s.proven ? 0 : s.unprovenServed)
      const increment = cum - a.accepted
      const due = owed > 0n ? owed : 0n
      if (increment > due + prepay) {
        return refuse(s, marketError('chequeOversized', `cheque raises the total by ${increment}; ${due} is owed (+${prepay} allowed ahead)`, { payer: a.payer }), true)
      }
      const r = await payments.receive(signed, s.conn.id)
      const ok = r.accepted
      if (ok !== undefined) {
        const increment = ok.cumulative > a.accepted ? ok.cumulative - a.accepted : 0n
        if (ok.cumulative > a.accepted) a.accepted = ok.cumulative
        // only the collateral-backed part pays the debt; an unbacked excess is stored, not credited
        a.paid = tokenUnits(a.paid + ok.credited)
        if (!s.proven) {
          s.proven = true
          charge(a, s.unprovenServed)
          s.unprovenServed = 0
        }
        stats.chequesAccepted++
        this_.emit('cheque', a.payer, ok.cumulative, tokenUnits(increment))
        s.creditSent = payments.credit(a.payer, token)
        s.ch.send({ type: 'ack', cumulative: a.accepted, credit: s.creditSent })
        rechoke(s.infoHash)
        if (r.closePeer) s.ch.close(marketError('messageUnexpected', 'cheques faster than the seller verifies them'))
        return
      }
      const err = r.error ?? marketError('messageInvalid', 'cheque refused')
      // a rate-limited lookup is our limit, not the buyer's fault: it may resend
      refuse(s, err, r.closePeer || err.code !== 'BITCDN_ERR_LOOKUP_RATE_LIMITED')
    }

    const onMessage = async (s: Session, msg: PayMessage): Promise<void> => {
      switch (msg.type) {
        case 'hello': {
          if (s.state !== 'new') throw marketError('messageUnexpected', 'second hello on one connection')
          s.state = 'admitting'
          const payer = msg.payer
          const banned = accounts.get(payer)?.banned
          if (banned) return s.ch.close(marketError('payerRefused', `payer ${payer} is banned`, { payer }), RefuseReason.payer)
          try {
            await payments.admit(payer, msg.signer, token)
          } catch (err) {
            return s.ch.close(err as BitcdnError, RefuseReason.payer)
          }
          if (s.ch.closed) return
          let a = accounts.get(payer)
          if (a === undefined) {
            a = { payer, servedBytes: 0, accepted: payments.accepted(payer, token), paid: tokenUnits(0n), reservedBytes: 0, banned: false }
            accounts.set(payer, a)
          }
          s.account = a
          s.state = 'admitted'
          log.info({ peer: s.conn.id, payer, credit: payments.credit(payer, token).toString() }, 'buyer admitted')
          s.creditSent = payments.credit(payer, token)
          s.ch.send({ type: 'ack', cumulative: a.accepted, credit: s.creditSent })
          rechoke(s.infoHash)
          return
        }
        case 'cheque': {
          if (s.state !== 'admitted') throw marketError('messageUnexpected', 'cheque before the buyer was admitted')
          const a = s.account!
          // throws BITCDN_ERR_CHEQUE_INVALID for a malformed signature: the connection closes
          const signed = decodeSessionCheque(msg.cheque, { payer: a.payer, payee, token })
          const cum = signed.cheque.cumulativeAmount
          if (cum <= s.lastSeen || cum <= a.accepted) {
            return refuse(s, new PayError('BITCDN_ERR_CHEQUE_NOT_NEWER', `cheque for ${cum} is not above ${s.lastSeen > a.accepted ? s.lastSeen : a.accepted} (replayed or lowered)`), true)
          }
          s.lastSeen = cum
          // cumulative cheques supersede each other: while one is verified keep only the newest, so a
          // fast buyer costs one verification per burst and memory stays one cheque per connection
          s.pending = signed
          if (s.verifying) return
          s.verifying = true
          try {
            while (s.pending !== undefined && !s.ch.closed) {
              const next = s.pending
              s.pending = undefined
              await onCheque(s, next)
            }
          } finally {
            s.verifying = false
          }
          return
        }
        case 'refuse':
          log.info({ peer: s.conn.id, reason: msg.reason, text: msg.text }, 'buyer left')
          s.conn.destroy()
          return
        case 'terms':
        case 'ack':
          return // another seller talking to us: nothing to sell it
      }
    }

    const chokePolicy: ChokePolicy = {
      mayUnchoke(p, ctx) {
        const s = sessions.get(key(ctx.infoHash ?? '', p.id))
        if (s?.state === 'admitted') return canServe(s)
        // everyone else only under the free policy, and then only into a free slot
        return freeFor(ctx.infoHash ?? '') && ctx.unchoked < ctx.slots + 1
      },
      unchokeSort(peers, opts) {
        const infoHash = opts.infoHash ?? ''
        const unchoke = new Set<string>()
        const others = []
        for (const p of peers) {
          const s = sessions.get(key(infoHash, p.id))
          if (s?.state === 'admitted') {
            // a paying buyer with credit left gets a slot of its own: it pays for it. One with
            // granted blocks still being read keeps it until they are out: a choke drops them
            // (BEP 6), so the buyer would never complete, verify and pay those pieces
            if ((p.interested && canServe(s)) || (p.unchoked && s.inflight > 0 && !s.account!.banned)) unchoke.add(p.id)
          } else others.push(p)
        }
        if (!freeFor(infoHash)) return { unchoke, optimistic: new Map() }
        const d = rateChokePolicy.unchokeSort(others, opts)
        for (const id of d.unchoke) unchoke.add(id)
        return { unchoke, optimistic: d.optimistic }
      },
    }

    const timer = setInterval(() => {
      for (const a of accounts.values()) if (!a.banned && [...sessions.values()].some((s) => s.account === a)) enforce(a)
      // a credit that changed (an allocation seen, a cheque claimed, a withdrawal notice) reaches the
      // buyer now: a buyer capped by its credit sends no cheque, so it would wait for an ack forever
      for (const s of sessions.values()) {
        const a = s.account
        if (s.state !== 'admitted' || a === undefined || a.banned || s.ch.closed) continue
        const credit = payments.credit(a.payer, token)
        if (credit === s.creditSent) continue
        s.creditSent = credit
        s.ch.send({ type: 'ack', cumulative: a.accepted, credit })
        rechoke(s.infoHash)
      }
    }, init.checkIntervalMs ?? 1000)
    timer.unref()

    const this_ = Object.assign(new EventEmitter<PaidSellerEvents>(), {
      swarm: {
        extendWire(wire: HardenedWire, conn: SellerConnection, infoHash: string) {
          const k = key(infoHash, conn.id)
          const s: Session = {
            ch: undefined as unknown as PayChannel,
            conn,
            infoHash,
            state: 'new',
            verifying: false,
            lastSeen: 0n,
            proven: false,
            unprovenServed: 0,
            open: new Map(),
            inflight: 0,
            held: false,
          }
          s.ch = attachPayChannel(
            wire,
            {
              id: conn.id,
              destroy: (err) => {
                const code = (err as BitcdnError | undefined)?.code
                if (code !== undefined) stats.closed[code] = (stats.closed[code] ?? 0) + 1
                conn.destroy(err)
              },
            },
            {
              onOpen: (ch) => ch.send({ type: 'terms', chainId: init.domain.chainId, escrow: getAddress(init.domain.verifyingContract), token, payee, pricePerGiB: price, softAllowance: init.softAllowance }),
              onMessage: (msg) => onMessage(s, msg),
            },
            log,
          )
          sessions.set(k, s)
          conn.once('close', () => {
            if (sessions.get(k) === s) sessions.delete(k)
            // its started pieces will not be finished here: release what they held in the window
            if (s.account !== undefined) for (const left of s.open.values()) s.account.reservedBytes -= left
            s.open.clear()
            payments.peerClosed?.(conn.id)
          })
        },
        uploadGate(conn: SellerConnection, ref: BlockRef, infoHash: string): boolean {
          const s = sessions.get(key(infoHash, conn.id))
          if (s?.state === 'admitted') {
            const a = s.account!
            if (!s.proven) {
              if (a.banned || s.unprovenServed + ref.length > unprovenLimit(infoHash)) {
                refused(s)
                return false
              }
              s.unprovenServed += ref.length
              s.inflight += ref.length
              stats.paidBytes += ref.length
              components.onServed?.(infoHash, ref.length, true)
              return true
            }
            if (!grantProven(s, ref, infoHash)) {
              if (!enforce(a)) refused(s)
              return false
            }
            s.inflight += ref.length
            stats.paidBytes += ref.length
            components.onServed?.(infoHash, ref.length, true)
            return true
          }
          if (!freeFor(infoHash)) return false
          stats.freeBytes += ref.length
          components.onServed?.(infoHash, ref.length, false)
          return true
        },
        uploadSettled(conn: SellerConnection, ref: BlockRef, infoHash: string, _sent: boolean): void {
          const s = sessions.get(key(infoHash, conn.id))
          if (s === undefined || s.inflight === 0) return // a free block, or the session ended
          s.inflight = Math.max(0, s.inflight - ref.length)
          if (s.inflight === 0 && s.held) {
            s.held = false
            rechoke(infoHash)
          }
        },
        chokePolicy,
      },
      attach(c: Pick<SwarmClient, 'get'>) {
        client = c
      },
      stats: () => structuredClone(stats),
      account: (payer: Address) => {
        const a = accounts.get(getAddress(payer))
        return a === undefined ? undefined : { ...a }
      },
      owed: (payer: Address) => {
        const a = accounts.get(getAddress(payer))
        return a === undefined ? 0n : owedOf(a)
      },
      close: () => clearInterval(timer),
    })
    return this_ as PaidSeller
  }
}
