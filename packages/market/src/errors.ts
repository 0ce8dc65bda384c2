/**
 * The error codes of paid delivery (the `bitcdn_pay` extension, seller and buyer policy). Each is
 * documented under `## market` in docs/errors.md. A peer's bad message or cheque closes only that
 * connection, with one of these codes in the log line; nothing here stops the process.
 */
import { errorFactory } from '@bitcdn/core'

/** Stable codes this package throws, logs or sends to peers. */
export const MarketErrorCode = {
  /** A `bitcdn_pay` message is malformed: wrong length, unknown type, bad field. */
  messageInvalid: 'BITCDN_ERR_PAY_MESSAGE_INVALID',
  /** A `bitcdn_pay` message names a protocol version we do not speak. */
  versionUnsupported: 'BITCDN_ERR_PAY_VERSION',
  /** A message arrived out of order (a cheque before the hello, a second hello, terms to a seller). */
  messageUnexpected: 'BITCDN_ERR_PAY_UNEXPECTED',
  /** The seller's terms do not suit the buyer (other chain or escrow, token, price above the maximum). */
  termsRefused: 'BITCDN_ERR_PAY_TERMS_REFUSED',
  /** The seller's payee proof does not recover to the payee its terms name (F9 payee binding). */
  payeeUnproven: 'BITCDN_ERR_PAY_PAYEE_UNPROVEN',
  /** The buyer's hello is not signed by the signer it names over this connection's terms and nonce (v3 payer binding). */
  payerUnproven: 'BITCDN_ERR_PAY_PAYER_UNPROVEN',
  /** The buyer left a connection whose source asked it to sign more hellos than its budget (each costs a signature). */
  helloRateLimited: 'BITCDN_ERR_PAY_HELLO_RATE_LIMITED',
  /** The seller will not serve this payer (no escrow funds, signer not authorized, banned). */
  payerRefused: 'BITCDN_ERR_PAY_PAYER_REFUSED',
  /** A cheque raises the total by more than the buyer owes (plus the allowed prepayment). */
  chequeOversized: 'BITCDN_ERR_CHEQUE_OVERSIZED',
  /** A buyer owes 125% of its credit: disconnected and its payer banned. */
  creditExceeded: 'BITCDN_ERR_CREDIT_EXCEEDED',
  /** The buyer's budget cannot pay for more. */
  budgetExhausted: 'BITCDN_ERR_BUDGET_EXHAUSTED',
} as const

export type MarketErrorCode = (typeof MarketErrorCode)[keyof typeof MarketErrorCode]

/**
 * Build a market error.
 * @example throw marketError('messageInvalid', 'cheque message has 12 bytes, expected 82')
 */
export const marketError = errorFactory(MarketErrorCode)
