/**
 * The seller's settlement side in one service, for the node: the payee ledger, the escrow watcher
 * and the cash-out, wired together.
 *
 * - The ledger trusts the signers the watcher reads from the escrow (current, and the previous one
 *   during its grace in chain time).
 * - A buyer that asks the escrow for a withdrawal is claimed at once: the watcher's
 *   `WithdrawRequested` marks it urgent in the cash-out and starts a pass, so the claim lands
 *   inside the notice period, before the funds can leave.
 * - Cheques arrive through `receive()`, which keeps only the newest verified cheque per buyer and
 *   token (`ledger.acceptNewest`: cumulative cheques supersede each other, so one signature check
 *   per buyer per burst, not per cheque). Credit grows only by what the ledger verified and
 *   stored; a forged or stale cheque never extends it.
 * - Reading the chain for a cheque's payer is bounded (a cheque can name any address): cheques are
 *   screened first without any read (payee, token, amount, signature form), and for a payer not
 *   tracked yet the signer is recovered once, locally. The payer's first cheque costs one lookup
 *   (signer + funds), later ones none. Lookups for new payers go through a `PayerGate`: a token
 *   bucket (`lookupBurst`, `lookupsPerSecond`) and a negative cache of payers found without escrow
 *   funds or signed by a key they have not authorized (`BITCDN_ERR_CHEQUE_PAYER_UNKNOWN` until the
 *   entry expires; `BITCDN_ERR_LOOKUP_RATE_LIMITED` past the bucket). Tracked payers bypass the
 *   gate; their signer rotations arrive through the watcher's `SignerChanged` events.
 */
import { getAddress, hexToBytes, type Address, type PublicClient, type WalletClient } from 'viem'
import { silentLogger, tokenUnits, type Clock, type Logger, type Startable, type TokenUnits } from '@bitcdn/core'
import { createCashout, type Cashout, type CashoutInit } from '../cashout/cashout.js'
import { BuyerCredit, collateralAvailable, type BuyerCreditInit, type CreditAction } from '../credit/credit-rules.js'
import { createEscrowWatcher, type EscrowWatcher } from '../credit/escrow-watcher.js'
import { createPayeeLedger, type AcceptResult, type PayeeLedger } from '../ledger/payee-ledger.js'
import { MAX_CUMULATIVE, type ChequeDomain, type SignedCheque } from '../cheques/types.js'
import { PayError } from '../cheques/errors.js'
import { parseSignatureBytes } from '../cheques/signature.js'
import { createChequeVerifier } from '../cheques/verify.js'
import { createPayerGate, type PayerGate, type PayerGateInit } from './payer-gate.js'

export interface SellerSettlementInit {
  /** The payee ledger's SQLite file. */
  ledgerPath: string
  /** This seller's payee address (the cash-out wallet's account). */
  payee: Address
  /** The escrow (chain id and address). */
  domain: ChequeDomain
  /** Tokens accepted; any when omitted. */
  tokens?: readonly Address[]
  /** Cash-out settings (threshold, age, gas cap, confirmations, batch size…). */
  cashout?: Omit<CashoutInit, 'escrow' | 'watchWithdrawals'>
  /** Event and block polling of the watcher, ms. @default 1000 */
  pollingIntervalMs?: number
  /**
   * Bounds on chain lookups for payers not tracked yet (defaults: burst 16, 2 per second,
   * negative cache of 4096 entries for 5 minutes). See `PayerGateInit`.
   */
  lookups?: PayerGateInit
}

export interface SellerSettlementComponents {
  publicClient: PublicClient
  walletClient: WalletClient
  clock?: Clock
  logger?: Logger
}

/** What `receive()` did with a burst. */
export interface ReceiveResult {
  accepted: AcceptResult[]
  rejected: { signed: SignedCheque; error: unknown }[]
}

export interface SellerSettlement extends Startable {
  readonly ledger: PayeeLedger
  readonly watcher: EscrowWatcher
  readonly cashout: Cashout
  /** The lookup limiter for new payers (counters for metrics). */
  readonly gate: PayerGate
  /**
   * Records a burst of cheques (newest per buyer verified first); credits each buyer with what
   * the ledger accepted, and starts following new buyers' escrow funds.
   */
  receive(cheques: readonly SignedCheque[]): Promise<ReceiveResult>
  /** The running credit of a buyer in a token (created on first use). */
  credit(payer: Address, token: Address): BuyerCredit
  /** What the escrow can still pay us for this buyer: free − pending withdrawal + allocation − our unsettled cheques. */
  collateral(payer: Address, token: Address): TokenUnits
  /** serve / request-payment / choke / disconnect for a buyer right now. */
  action(payer: Address, token: Address): CreditAction
}

/**
 * @example
 * const seller = createSellerSettlement({ ledgerPath, payee, domain, tokens: [usdc] })({ publicClient, walletClient })
 * await seller.start()
 * seller.credit(buyer, usdc).delivered(pieceValue)
 * await seller.receive(chequesFromTheWire)
 * if (seller.action(buyer, usdc) === 'choke') ...
 */
export function createSellerSettlement(
  init: SellerSettlementInit,
  creditInit: (payer: Address, token: Address) => BuyerCreditInit = () => ({ pieceValue: tokenUnits(1n) }),
): (components: SellerSettlementComponents) => SellerSettlement {
  return (components) => {
    const log = (components.logger ?? silentLogger).child({ component: 'seller-settlement' })
    const escrow = getAddress(init.domain.verifyingContract)
    const now = components.clock ? () => components.clock!.now() : Date.now
    const verifier = createChequeVerifier(init.domain)
    const gate = createPayerGate(init.lookups, now)
    const payee = getAddress(init.payee)
    const tokens = init.tokens ? new Set(init.tokens.map((t) => getAddress(t))) : undefined
    const watcher = createEscrowWatcher({ escrow, payee: init.payee, pollingIntervalMs: init.pollingIntervalMs })(components)
    const ledger = createPayeeLedger({
      dbPath: init.ledgerPath,
      payee: init.payee,
      domain: init.domain,
      tokens: init.tokens,
      signersOf: (payer) => watcher.signersOf(payer),
      verifier,
      now,
    })
    // the watcher is the one subscriber to WithdrawRequested; it hands the payer to the cash-out
    const cashout = createCashout({ ...init.cashout, escrow, watchWithdrawals: false })({ ...components, ledger })
    const credits = new Map<string, BuyerCredit>()
    const tracked = new Set<string>()

    const track = async (payer: Address, token: Address): Promise<void> => {
      const k = `${payer}:${token}`
      if (tracked.has(k)) return
      tracked.add(k)
      try {
        await watcher.track(payer, token)
      } catch (err) {
        tracked.delete(k)
        log.warn({ err, payer, token }, 'cannot read the buyer’s escrow funds')
      }
    }

    /** Checks that cost no chain read; the error, or undefined when the cheque may go on. */
    const screen = (signed: SignedCheque): PayError | undefined => {
      const c = signed?.cheque
      if (!c || typeof c.cumulativeAmount !== 'bigint' || typeof signed.signature !== 'string') {
        return new PayError('BITCDN_ERR_CHEQUE_INVALID', 'cheque is missing fields')
      }
      let p: Address, t: Address, e: Address
      try {
        p = getAddress(c.payer)
        t = getAddress(c.token)
        e = getAddress(c.payee)
      } catch (cause) {
        return new PayError('BITCDN_ERR_CHEQUE_INVALID', 'cheque has an invalid address', { cause })
      }
      if (e !== payee) return new PayError('BITCDN_ERR_CHEQUE_WRONG_PAYEE', `cheque pays ${e}, not ${payee}`)
      if (tokens && !tokens.has(t)) return new PayError('BITCDN_ERR_CHEQUE_WRONG_TOKEN', `token ${t} is not accepted`)
      if (p === '0x0000000000000000000000000000000000000000') return new PayError('BITCDN_ERR_CHEQUE_INVALID', 'cheque payer is the zero address')
      if (c.cumulativeAmount <= 0n || c.cumulativeAmount > MAX_CUMULATIVE) {
        return new PayError('BITCDN_ERR_CHEQUE_INVALID', 'cheque amount is not within 1..uint128')
      }
      try {
        parseSignatureBytes(hexToBytes(signed.signature))
      } catch (err) {
        return err instanceof PayError ? err : new PayError('BITCDN_ERR_CHEQUE_INVALID', 'signature is not hex', { cause: err })
      }
      return undefined
    }

    const inflight = new Map<string, Promise<void>>()
    /** One gated lookup of a new payer (shared by concurrent bursts); throws a coded PayError when refused. */
    const lookup = async (payer: Address, token: Address): Promise<void> => {
      const k = `${payer}:${token}`
      const running = inflight.get(k)
      if (running) return running
      if (!gate.tryLookup()) {
        throw new PayError('BITCDN_ERR_LOOKUP_RATE_LIMITED', `too many lookups of new payers; ${payer} not looked up (resend later)`, {
          details: { payer },
        })
      }
      const p = (async () => {
        const wasTracked = watcher.isTracked(payer)
        try {
          await watcher.track(payer, token)
        } catch (err) {
          if (!wasTracked) watcher.untrack(payer)
          log.warn({ err, payer, token }, 'cannot read the buyer’s escrow funds')
          throw err
        }
      })()
      inflight.set(k, p)
      try {
        await p
      } finally {
        inflight.delete(k)
      }
    }

    const seller: SellerSettlement = {
      ledger,
      watcher,
      cashout,
      gate,
      async receive(cheques) {
        const rejected: ReceiveResult['rejected'] = []
        const pass: SignedCheque[] = []
        const groups = new Map<string, { payer: Address; token: Address; cheques: SignedCheque[] }>()
        for (const signed of cheques) {
          const error = screen(signed)
          if (error) {
            rejected.push({ signed, error })
            continue
          }
          const payer = getAddress(signed.cheque.payer)
          const token = getAddress(signed.cheque.token)
          const k = `${payer}:${token}`
          const g = groups.get(k) ?? { payer, token, cheques: [] }
          g.cheques.push(signed)
          groups.set(k, g)
        }
        for (const [k, g] of groups) {
          // a known buyer: the ledger verifies against the signers the watcher already holds
          if (tracked.has(k)) {
            pass.push(...g.cheques)
            continue
          }
          const { payer, token } = g
          const rejectAll = (error: unknown, list = g.cheques): void => {
            for (const signed of list) rejected.push({ signed, error })
          }
          if (gate.isRejected(`${payer}:${token}`)) {
            rejectAll(new PayError('BITCDN_ERR_CHEQUE_PAYER_UNKNOWN', `payer ${payer} has no escrow funds in ${token} (looked up recently)`, { details: { payer, token } }))
            continue
          }
          // recover each signer once, locally; no candidates, so an unproven payer's key is not
          // cached (a table per random key would cost CPU and evict real buyers' keys)
          const known = (): Address[] => [payer, ...watcher.signersOf(payer).map((s) => getAddress(s))]
          const recovered = g.cheques.map((signed) => ({ signed, signer: verifier.recoverSigner(signed) }))
          const bad = recovered.filter((r) => !r.signer)
          rejectAll(new PayError('BITCDN_ERR_CHEQUE_SIGNATURE', 'cheque signature does not recover to a key', { details: { payer } }), bad.map((r) => r.signed))
          // signers already negatively cached for this payer: rejected with no read
          const live = recovered.filter((r) => r.signer && !gate.isRejected(`${payer}/${r.signer}`))
          for (const r of recovered) {
            if (r.signer && !live.includes(r)) {
              rejected.push({ signed: r.signed, error: new PayError('BITCDN_ERR_CHEQUE_PAYER_UNKNOWN', `signer ${r.signer} is not authorized by ${payer} (looked up recently)`, { details: { payer, recovered: r.signer } }) })
            }
          }
          if (live.length === 0) continue
          try {
            await lookup(payer, token)
          } catch (error) {
            rejectAll(error, live.map((r) => r.signed))
            continue
          }
          const f = watcher.funds(payer, token)
          if (!f || f.free + f.pendingWithdrawal + f.allocatedToUs === 0n) {
            gate.reject(`${payer}:${token}`)
            // forget a payer the seller follows in no token (keeps an attacker's payers out of memory)
            if (!ledger.entry(payer, token) && ![...tracked].some((t) => t.startsWith(`${payer}:`))) watcher.untrack(payer)
            rejectAll(new PayError('BITCDN_ERR_CHEQUE_PAYER_UNKNOWN', `payer ${payer} has no escrow funds in ${token}`, { details: { payer, token } }), live.map((r) => r.signed))
            continue
          }
          tracked.add(k)
          const authorized = known()
          for (const r of live) {
            if (authorized.includes(r.signer!)) pass.push(r.signed)
            else {
              gate.reject(`${payer}/${r.signer}`)
              rejected.push({ signed: r.signed, error: new PayError('BITCDN_ERR_CHEQUE_SIGNATURE', `cheque is not signed by ${payer} or an authorized signer`, { details: { payer, recovered: r.signer } }) })
            }
          }
        }
        const r = ledger.acceptNewest(pass)
        // only what the ledger verified and stored counts as paid
        for (const a of r.accepted) seller.credit(a.payer, a.token).paid(a.increment)
        return { accepted: r.accepted, rejected: [...rejected, ...r.rejected] }
      },
      credit(payerIn, tokenIn) {
        const payer = getAddress(payerIn)
        const token = getAddress(tokenIn)
        const k = `${payer}:${token}`
        let c = credits.get(k)
        if (!c) {
          c = new BuyerCredit(creditInit(payer, token))
          credits.set(k, c)
        }
        return c
      },
      collateral(payer, token) {
        const f = watcher.funds(payer, token)
        if (!f) return tokenUnits(0n) // unknown funds: no credit
        return collateralAvailable({ ...f, ourExposure: ledger.exposure(token, payer) })
      },
      action(payer, token) {
        return seller.credit(payer, token).action(seller.collateral(payer, token))
      },
      async start() {
        watcher.onWithdrawRequested((payer, token, amount) => {
          log.info({ payer, token, amount }, 'buyer requested a withdrawal; claiming now')
          cashout.urgent(payer)
          cashout.tick().catch((err: unknown) => log.warn({ err, payer }, 'urgent claim failed'))
        })
        await watcher.start()
        for (const e of ledger.unsettled()) await track(e.payer, e.token)
        await cashout.start()
      },
      async stop() {
        await cashout.stop()
        await watcher.stop()
        ledger.close()
      },
    }
    return seller
  }
}
