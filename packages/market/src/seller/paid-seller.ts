/**
 * The seller side of `bitcdn_pay`: a node that serves pieces for cheques. It plugs into the swarm
 * client through its three slots — `extendWire` (the extension on every connection), `uploadGate`
 * (serve a request only within the buyer's credit) and `chokePolicy` (unchoke paying buyers with
 * credit left; plain peers only when the free policy allows) — and calls `rechoke()` so an
 * admission or a payment unchokes at once.
 *
 * Per connection: announce terms (with a fresh nonce) → the buyer's hello (payer, signer, its
 * nonce, and the signer's signature over the payer, our terms, the torrent and our nonce:
 * wire/payer-proof.ts — checked before anything is looked up) → `payments.admit` (escrow funds and
 * signer checked) → the payee proof (our payee key signs the terms, the torrent and the buyer's
 * nonce: wire/payee-proof.ts) → admitted: serve up to the payer's credit beyond what is paid. Money
 * is keyed by the payer the hello proves and the connection, never the self-declared peer id; one
 * payer's connections share one account, and every byte on any of them is that payer's debt from
 * the first block, under one window — a hello naming someone else's payer is refused unsigned, so
 * there is no allowance to take per connection or per reconnection (protocol v2's `unprovenBytes`
 * was: review F2/F3 of session 5).
 *
 * Debt is the value of bytes *sent* (the swarm's `uploadSettled`: a block granted and then dropped
 * by a choke, a cancel or a close is never charged) minus the cheques accepted; it is also
 * recorded durably in pay's credit (`payments.delivered`, in batches of at most 1 MiB or 100 ms
 * per payer — bytes sent and not recorded yet count in every window check), whose window (`payments.mayDeliver`:
 * one piece's worth, doubling per window's worth paid) bounds a payer with a large allocation that
 * stops paying, across restarts. A grant is checked with the blocks granted and not yet sent
 * counted as debt, so what is on its way never takes the buyer past its bound. Every ack announces
 * what the seller will still honour (`credit`: the window and collateral left, minus what is
 * granted or reserved), so a paying buyer that keeps its requests within it streams without
 * being refused. At 100% of credit or outside the window requests are refused and the peer is
 * choked (once the blocks granted to it are out), at 125% (credit shrank under it: a withdrawal,
 * cheques drawing on it) it is disconnected and its payer banned.
 *
 * A debt pay wrote off (an idle payer forgiven: `payments.writtenOff`, pay's
 * `forgiveUnpaidAfterMs`) is cleared from the payer's account here too — looked at when it says
 * hello and on every credit check of its connections — so a payer locked out by a debt it never
 * paid (a relay kept its blocks) is served again, from pay's first window; a ban for that debt is
 * lifted with it.
 */
import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import { getAddress, type Address } from 'viem'
import { silentLogger, tokenUnits, type BitcdnError, type Logger, type TokenUnits } from '@bitcdn/core'
import { decodeSessionCheque, PayError, type ChequeDomain, type SignedCheque } from '@bitcdn/pay'
import { rateChokePolicy, type BlockRef, type ChokePolicy, type HardenedWire, type SwarmClient } from '@bitcdn/swarm'
import { marketError } from '../errors.js'
import { bytesValue, bytesWithin } from '../price.js'
import { HELLO_NONCE_BYTES, RefuseReason, type PayMessage } from '../wire/codec.js'
import { attachPayChannel, type PayChannel } from '../wire/pay-channel.js'
import { signPayeeProof, type PayeeKey } from '../wire/payee-proof.js'
import { verifyPayerProof } from '../wire/payer-proof.js'
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
   * How often every buyer's debt is checked against its (possibly shrunk) credit, and a changed
   * credit (an allocation seen, a claim, a notice) announced to it, ms. @default 250
   */
  checkIntervalMs?: number
}

export interface PaidSellerComponents {
  payments: SellerPayments
  /** The key of `init.payee`: signs each connection's payee proof (a viem `LocalAccount`). */
  payeeKey: PayeeKey
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
  /** What pay wrote off of this process's deliveries (an idle payer forgiven): no longer owed. @default 0n */
  writtenOff: TokenUnits
  /** pay's written-off total for this payer when last looked at (`payments.writtenOff`). @default 0n */
  writtenOffSeen: TokenUnits
  /** Bytes of pieces started on its connections but not granted yet: held in pay's window. */
  reservedBytes: number
  /** Bytes granted on its connections and not yet sent: counted as debt by every check. */
  inflightBytes: number
  /** Of `servedBytes`, how many are recorded in pay's credit (`payments.delivered`); the rest count in window checks. */
  recordedBytes: number
  banned: boolean
  /**
   * `servedBytes + inflightBytes` may grow to this and the debt stays under the choke threshold
   * (`bytesWithin(credit · choke% + paid)`): derived while `payments.creditVersion()` equals
   * `limitVersion` and `paid` is unchanged (an accepted cheque sets `limitVersion` to -1), so the
   * per-block check is one Number comparison and exactly the BigInt one it replaces.
   */
  limitBytes: number
  limitVersion: number
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
  /** Requests of admitted buyers refused for credit or window (each leads to a choke). */
  requestsRefused: number
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
  /** The nonce of our terms on this connection: the buyer's hello must sign it. */
  nonce: Uint8Array
  /** Pieces this connection was granted part of: index → bytes of it not granted yet (reserved in the window). */
  open: Map<number, number>
  /** Bytes granted and not yet sent or dropped by the swarm: while any are on their way the peer stays unchoked. */
  inflight: number
  /** Paid grants not yet settled, by block (index · 2^32 + begin → count): what `uploadSettled` charges. */
  granted: Map<number, number>
  /** A request was refused since the last unchoke: choke once the blocks granted are out (a choke, then an unchoke, lets the buyer ask for that piece anew). */
  refused: boolean
  /** The payer's credit (pay's `credit`) when our last ack on this connection was sent: a change is announced unasked. */
  creditSent?: TokenUnits
}

const MIB = 1024 * 1024
const GIB = 1n << 30n
/**
 * Deliveries reach pay's credit — a SQLite write each — in batches: at most this many bytes or
 * `RECORD_DELAY_MS` behind (a call per block cost more than the rest of the block's accounting).
 * The node's window piece is at least one MiB (`sellerCreditInit`), so a crash forgets at most
 * one piece's worth or 100 ms of deliveries, as SELLER-BOUND.md states.
 */
const RECORD_BYTES = 1024 * 1024
const RECORD_DELAY_MS = 100
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
    // a key that is not the payee's would make every buyer leave at the proof: say so at once
    if (getAddress(components.payeeKey.address) !== payee) throw marketError('payeeUnproven', `the payee key ${components.payeeKey.address} is not the payee ${payee}`, { payee })
    const chokePct = BigInt(init.chokePercent ?? 100)
    const dropPct = BigInt(init.disconnectPercent ?? 125)
    const prepay = init.prepayAllowance ?? bytesValue(16 * MIB, price)
    const freeFor = (infoHash: string) => (typeof init.free === 'function' ? init.free(infoHash) : init.free === true)
    const sessions = new Map<string, Session>()
    /** The same sessions by connection: the per-block slots find theirs without building a key. */
    const byConn = new WeakMap<SellerConnection, Session>()
    const accounts = new Map<Address, BuyerAccount>()
    const stats: SellerStats = { paidBytes: 0, freeBytes: 0, chequesAccepted: 0, chequesRefused: {}, closed: {}, requestsRefused: 0 }
    let client: Pick<SwarmClient, 'get'> | undefined
    const pendingRechoke = new Set<string>()
    const key = (infoHash: string, id: string) => `${infoHash}/${id}`

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
      stats.requestsRefused++
      s.refused = true
      if (s.inflight === 0) rechoke(s.infoHash)
    }

    /** A rechoke after this one (a choked buyer that may be served again gets its unchoke). */
    const rechokeSoon = (infoHash: string) => {
      const t = setTimeout(() => rechoke(infoHash), 50)
      t.unref()
    }

    const owedOf = (a: BuyerAccount, extraBytes = 0): bigint => bytesValue(a.servedBytes + extraBytes, price) - a.paid - a.writtenOff

    /**
     * Look whether pay wrote `a`'s debt off (asking writes off one that is due): then nothing it
     * recorded is owed here either — only bytes sent and not recorded yet, which pay will count as
     * a new delivery — and a ban for that debt is lifted. True when it did.
     */
    const syncWriteOff = (a: BuyerAccount): boolean => {
      const total = payments.writtenOff?.(a.payer, token)
      if (total === undefined || total === a.writtenOffSeen) return false
      a.writtenOffSeen = total
      const recordedOwed = bytesValue(a.recordedBytes, price) - a.paid - a.writtenOff
      if (recordedOwed > 0n) a.writtenOff = tokenUnits(a.writtenOff + recordedOwed)
      a.limitVersion = -1
      if (a.banned) {
        a.banned = false
        log.info({ payer: a.payer }, 'payer’s debt written off: ban lifted')
      }
      log.info({ payer: a.payer, total: total.toString() }, 'payer’s unpaid debt written off (idle): served again from its first window')
      return true
    }

    /** Cut off a payer whose debt reached the disconnect threshold; true when it did. */
    const enforce = (a: BuyerAccount): boolean => {
      // once: requests its connections still send before they close are refused without a second ban
      if (a.banned) return true
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

    /**
     * True while `a` may be granted `bytes` more: the debt, with what is on its way, stays under the
     * choke threshold (owed ≤ credit · choke%, owed ≤ 0 always allowed). Asked per block, so the
     * threshold is kept as a byte limit (`a.limitBytes`), re-derived when credit or payment changed.
     */
    const withinCredit = (a: BuyerAccount, bytes: number): boolean => {
      if (a.banned) return false
      const v = payments.creditVersion?.()
      if (v === undefined || v !== a.limitVersion) {
        // owed = value(total) − paid ≤ floor(credit · choke% / 100)  ⇔  total ≤ bytesWithin(that + paid)
        const credit = payments.credit(a.payer, token)
        a.limitBytes = bytesWithin(((credit > 0n ? credit : 0n) * chokePct) / 100n + a.paid + a.writtenOff, price)
        a.limitVersion = v ?? -1
      }
      return a.servedBytes + a.inflightBytes + bytes <= a.limitBytes
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
    const windowAllows = (a: BuyerAccount, bytes: number): boolean =>
      payments.mayDeliver?.(a.payer, token, blockValue(a.servedBytes - a.recordedBytes + a.reservedBytes + a.inflightBytes + bytes)) ?? true

    /**
     * What the seller will still honour for `s`, announced in every ack: the window and collateral
     * left (pay's `remaining`, or the credit threshold without it) minus what is granted or
     * reserved.
     */
    const honoured = (s: Session): TokenUnits => {
      const a = s.account!
      if (a.banned) return tokenUnits(0n)
      const credit = payments.credit(a.payer, token)
      let left = (credit * chokePct) / 100n - owedOf(a, a.inflightBytes)
      const windowLeft = payments.remaining?.(a.payer, token)
      if (windowLeft !== undefined) {
        const w = windowLeft - blockValue(a.servedBytes - a.recordedBytes + a.reservedBytes + a.inflightBytes)
        if (w < left) left = w
      }
      return tokenUnits(left > 0n ? left : 0n)
    }

    /** An admitted connection may be granted another block: within credit, and a piece it started to finish or room for a new one. */
    const canServe = (s: Session): boolean =>
      withinCredit(s.account!, 16 * 1024) && (s.open.size > 0 || windowAllows(s.account!, pieceBytes(s.infoHash, 0, 16 * 1024)))

    /**
     * Whether an admitted buyer holds an upload slot. An unchoked one keeps it until a request of
     * it is refused (the gate, not the round, decides when it reached its credit: a buyer that
     * keeps within the credit it was announced is never choked), and then until the blocks
     * granted to it are out — a choke drops them (BEP 6), and it could not finish, verify and pay
     * those pieces. A choked one is unchoked while it may be served more.
     */
    const unchokeBuyer = (s: Session, p: { interested: boolean; unchoked: boolean }): boolean => {
      if (s.account!.banned) return false
      if (p.unchoked && (s.inflight > 0 || (!s.refused && p.interested))) return true
      if (p.unchoked) {
        // refused, and its granted blocks are out: choke, then unchoke anew as soon as it may be served
        rechokeSoon(s.infoHash)
        return false
      }
      if (!p.interested || !canServe(s)) return false
      s.refused = false
      return true
    }

    /** Grant block `ref` of an admitted connection, or refuse it (false). */
    const grant = (s: Session, ref: BlockRef, infoHash: string): boolean => {
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
      return true
    }

    /** Note a paid grant: on its way until the swarm settles it. */
    const addGrant = (s: Session, ref: BlockRef): void => {
      const k = ref.index * 0x1_0000_0000 + ref.begin
      s.granted.set(k, (s.granted.get(k) ?? 0) + 1)
      s.inflight += ref.length
      s.account!.inflightBytes += ref.length
    }

    /**
     * Record what `a` was charged and pay's credit not told yet — at the step of the cumulative
     * value, so the recorded debt rounds exactly as the buyer's cheques do (no drift).
     */
    const record = (a: BuyerAccount): void => {
      if (a.recordedBytes === a.servedBytes) return
      const step = bytesValue(a.servedBytes, price) - bytesValue(a.recordedBytes, price)
      a.recordedBytes = a.servedBytes
      if (step > 0n) payments.delivered?.(a.payer, token, tokenUnits(step))
    }
    const recordTimers = new Map<BuyerAccount, NodeJS.Timeout>()
    const recordLater = (a: BuyerAccount): void => {
      if (recordTimers.has(a)) return
      const t = setTimeout(() => {
        recordTimers.delete(a)
        record(a)
      }, RECORD_DELAY_MS)
      t.unref()
      recordTimers.set(a, t)
    }

    /** Charge `bytes` to `a`: in memory now, in pay's credit within `RECORD_BYTES` or `RECORD_DELAY_MS`. */
    const charge = (a: BuyerAccount, bytes: number): void => {
      a.servedBytes += bytes
      if (a.servedBytes - a.recordedBytes >= RECORD_BYTES) record(a)
      else recordLater(a)
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
      const owed = owedOf(a)
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
        a.limitVersion = -1 // the byte limit counts what is paid
        stats.chequesAccepted++
        this_.emit('cheque', a.payer, ok.cumulative, tokenUnits(increment))
        s.creditSent = payments.credit(a.payer, token)
        s.ch.send({ type: 'ack', cumulative: a.accepted, credit: honoured(s) })
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
          const known = accounts.get(payer)
          // a ban stands until pay writes the debt behind it off (the payer idle for its period)
          if (known?.banned && !syncWriteOff(known)) return s.ch.close(marketError('payerRefused', `payer ${payer} is banned`, { payer }), RefuseReason.payer)
          try {
            // the signer named must have signed our nonce: before any lookup, so a hello naming
            // someone else's payer costs one local recovery and is refused
            verifyPayerProof(msg.signature, { domain: init.domain, payer, signer: msg.signer, payee, token, pricePerGiB: price, infoHash: s.infoHash, nonce: s.nonce })
          } catch (err) {
            return s.ch.close(err as BitcdnError, RefuseReason.payer)
          }
          try {
            await payments.admit(payer, msg.signer, token, s.conn.id)
          } catch (err) {
            return s.ch.close(err as BitcdnError, RefuseReason.payer)
          }
          // the peer may have left while the lookup ran (its close handler found no account to
          // release): release the admission here, or the payer stays followed and its account kept
          const gone = () => s.ch.closed || s.conn.closed
          if (gone()) {
            payments.released?.(payer, token, s.conn.id)
            return
          }
          // prove we are the payee our terms name, for this connection only (its nonce, its torrent);
          // after the admission, so hellos the lookups refuse cost no signature
          let signature: Uint8Array
          try {
            signature = await signPayeeProof(components.payeeKey, { domain: init.domain, payee, token, pricePerGiB: price, softAllowance: init.softAllowance, infoHash: s.infoHash, nonce: msg.nonce })
          } catch (err) {
            payments.released?.(payer, token, s.conn.id)
            throw err
          }
          if (gone()) {
            payments.released?.(payer, token, s.conn.id)
            return
          }
          s.ch.send({ type: 'proof', signature })
          let a = accounts.get(payer)
          if (a === undefined) {
            // asking pay's written-off total first writes off a debt due from before (a restart)
            const writtenOffSeen = payments.writtenOff?.(payer, token) ?? tokenUnits(0n)
            a = { payer, servedBytes: 0, accepted: payments.accepted(payer, token), paid: tokenUnits(0n), writtenOff: tokenUnits(0n), writtenOffSeen, reservedBytes: 0, inflightBytes: 0, recordedBytes: 0, banned: false, limitBytes: 0, limitVersion: -1 }
            accounts.set(payer, a)
          } else syncWriteOff(a) // a debt of an earlier connection written off (a relay's, an idle payer's)
          s.account = a
          s.state = 'admitted'
          log.info({ peer: s.conn.id, payer, credit: payments.credit(payer, token).toString() }, 'buyer admitted')
          s.creditSent = payments.credit(payer, token)
          s.ch.send({ type: 'ack', cumulative: a.accepted, credit: honoured(s) })
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
        case 'proof':
          return // another seller talking to us: nothing to sell it
      }
    }

    const chokePolicy: ChokePolicy = {
      mayUnchoke(p, ctx) {
        const s = sessions.get(key(ctx.infoHash ?? '', p.id))
        if (s?.state === 'admitted') return unchokeBuyer(s, p)
        // everyone else only under the free policy, and then only into a free slot
        return freeFor(ctx.infoHash ?? '') && ctx.unchoked < ctx.slots + 1
      },
      // a paying buyer that asks nothing for a while waits on its credit (an ack, an allocation): its
      // slot is not a free one, and choking it would only cost a round trip when it asks again
      keepsIdle(p, infoHash) {
        const s = sessions.get(key(infoHash ?? '', p.id))
        return s?.state === 'admitted' && s.account !== undefined && !s.account.banned
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
            if (unchokeBuyer(s, p)) unchoke.add(p.id)
          } else others.push(p)
        }
        if (!freeFor(infoHash)) return { unchoke, optimistic: new Map() }
        const d = rateChokePolicy.unchokeSort(others, opts)
        for (const id of d.unchoke) unchoke.add(id)
        return { unchoke, optimistic: d.optimistic }
      },
    }

    const timer = setInterval(() => {
      // one pass over the connections (never accounts × connections)
      const live = new Set<BuyerAccount>()
      for (const s of sessions.values()) if (s.account !== undefined && !s.account.banned) live.add(s.account)
      // a connected payer locked out by its debt is forgiven while it waits (pay's period), not only at a new hello
      const forgiven = new Set<BuyerAccount>()
      for (const a of live) if (syncWriteOff(a)) forgiven.add(a)
      for (const a of live) if (!a.banned) enforce(a)
      // a credit that changed (an allocation seen, a cheque claimed, a withdrawal notice) reaches the
      // buyer now: a buyer capped by its credit sends no cheque, so it would wait for an ack forever
      let look: BuyerAccount | undefined
      for (const s of sessions.values()) {
        const a = s.account
        if (s.state !== 'admitted' || a === undefined || a.banned || s.ch.closed) continue
        // a buyer with less than a piece of credit left waits for collateral (its allocation
        // is on its way, or it stopped paying): read the chain now, not at the watcher's next poll
        if (look === undefined && honoured(s) < bytesValue(pieceBytes(s.infoHash, 0, MIB), price)) look = a
        const credit = payments.credit(a.payer, token)
        if (credit === s.creditSent && !forgiven.has(a)) continue
        s.creditSent = credit
        s.ch.send({ type: 'ack', cumulative: a.accepted, credit: honoured(s) })
        rechoke(s.infoHash)
      }
      if (look !== undefined) payments.lookAgain?.(look.payer, token)
    }, init.checkIntervalMs ?? 250)
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
            nonce: randomBytes(HELLO_NONCE_BYTES),
            open: new Map(),
            inflight: 0,
            granted: new Map(),
            refused: false,
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
              onOpen: (ch) => ch.send({ type: 'terms', chainId: init.domain.chainId, escrow: getAddress(init.domain.verifyingContract), token, payee, pricePerGiB: price, softAllowance: init.softAllowance, nonce: s.nonce }),
              onMessage: (msg) => onMessage(s, msg),
            },
            log,
          )
          sessions.set(k, s)
          byConn.set(conn, s)
          conn.once('close', () => {
            if (sessions.get(k) === s) sessions.delete(k)
            if (byConn.get(conn) === s) byConn.delete(conn)
            // its started pieces will not be finished here: release what they held in the window
            if (s.account !== undefined) {
              for (const left of s.open.values()) s.account.reservedBytes -= left
              s.account.inflightBytes -= s.inflight
            }
            s.open.clear()
            s.granted.clear()
            s.inflight = 0
            const a = s.account
            if (a !== undefined) {
              // pay's credit decides from the debt whether the payer is still followed
              record(a)
              payments.released?.(a.payer, token, conn.id)
              // an account nothing was charged to and no connection uses is forgotten (a hello naming a payer costs no memory)
              if (!a.banned && a.servedBytes === 0 && a.paid === 0n && a.reservedBytes === 0 && a.inflightBytes === 0 && ![...sessions.values()].some((x) => x.account === a)) accounts.delete(a.payer)
            }
            payments.peerClosed?.(conn.id)
          })
        },
        uploadGate(conn: SellerConnection, ref: BlockRef, infoHash: string): boolean {
          const s = byConn.get(conn)
          if (s?.state === 'admitted') {
            const a = s.account!
            if (!grant(s, ref, infoHash)) {
              if (!enforce(a)) refused(s)
              return false
            }
            addGrant(s, ref)
            return true
          }
          return freeFor(infoHash)
        },
        uploadSettled(conn: SellerConnection, ref: BlockRef, infoHash: string, sent: boolean): void {
          const s = byConn.get(conn)
          const k = ref.index * 0x1_0000_0000 + ref.begin
          const n = s?.granted.get(k)
          if (n === undefined) {
            // not a paid grant: a free block (or one of a session that ended, released at its close)
            if (sent) {
              stats.freeBytes += ref.length
              components.onServed?.(infoHash, ref.length, false)
            }
            return
          }
          if (n > 1) s!.granted.set(k, n - 1)
          else s!.granted.delete(k)
          const a = s!.account!
          s!.inflight -= ref.length
          a.inflightBytes -= ref.length
          if (sent) {
            // charged now it is on the wire
            charge(a, ref.length)
            stats.paidBytes += ref.length
            components.onServed?.(infoHash, ref.length, true)
          } else {
            // dropped: the piece is not finished on this connection; what it held goes back to it
            s!.open.set(ref.index, (s!.open.get(ref.index) ?? 0) + ref.length)
            a.reservedBytes += ref.length
          }
          if (s!.inflight === 0 && s!.refused) rechoke(infoHash)
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
      close: () => {
        clearInterval(timer)
        // what was sent and not recorded yet goes to pay's credit (the node closes its settlement after)
        for (const [a, t] of recordTimers) {
          clearTimeout(t)
          record(a)
        }
        recordTimers.clear()
      },
    })
    return this_ as PaidSeller
  }
}
