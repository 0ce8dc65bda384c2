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
 */
import { getAddress, type Address, type PublicClient, type WalletClient } from 'viem'
import { silentLogger, tokenUnits, type Clock, type Logger, type Startable, type TokenUnits } from '@bitcdn/core'
import { createCashout, type Cashout, type CashoutInit } from '../cashout/cashout.js'
import { BuyerCredit, collateralAvailable, type BuyerCreditInit, type CreditAction } from '../credit/credit-rules.js'
import { createEscrowWatcher, type EscrowWatcher } from '../credit/escrow-watcher.js'
import { createPayeeLedger, type AcceptResult, type PayeeLedger } from '../ledger/payee-ledger.js'
import type { ChequeDomain, SignedCheque } from '../cheques/types.js'

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
    const watcher = createEscrowWatcher({ escrow, payee: init.payee, pollingIntervalMs: init.pollingIntervalMs })(components)
    const ledger = createPayeeLedger({
      dbPath: init.ledgerPath,
      payee: init.payee,
      domain: init.domain,
      tokens: init.tokens,
      signersOf: (payer) => watcher.signersOf(payer),
      now: components.clock ? () => components.clock!.now() : undefined,
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

    const seller: SellerSettlement = {
      ledger,
      watcher,
      cashout,
      async receive(cheques) {
        // a buyer seen for the first time: learn its signers before verifying its cheques
        for (const c of cheques) await track(getAddress(c.cheque.payer), getAddress(c.cheque.token))
        const r = ledger.acceptNewest(cheques)
        // only what the ledger verified and stored counts as paid
        for (const a of r.accepted) seller.credit(a.payer, a.token).paid(a.increment)
        return r
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
