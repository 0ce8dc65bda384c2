/**
 * Error codes of the settlement library's off-chain half (cheques, wallet, ledger, credit,
 * cash-out, keystore). Each is documented in docs/errors.md; callers switch on `code`.
 */
import { BitcdnError, type BitcdnErrorOptions } from '@bitcdn/core'

/** Every code this part of `@bitcdn/pay` throws. */
export type PayErrorCode =
  | 'BITCDN_ERR_CHEQUE_INVALID'
  | 'BITCDN_ERR_CHEQUE_SIGNATURE'
  | 'BITCDN_ERR_CHEQUE_NOT_NEWER'
  | 'BITCDN_ERR_CHEQUE_WRONG_PAYEE'
  | 'BITCDN_ERR_CHEQUE_WRONG_TOKEN'
  | 'BITCDN_ERR_CHEQUE_WRONG_DOMAIN'
  | 'BITCDN_ERR_CHEQUE_OVERFLOW'
  | 'BITCDN_ERR_WALLET_CLOSED'
  | 'BITCDN_ERR_LEDGER_CLOSED'
  | 'BITCDN_ERR_AMOUNT_INVALID'
  | 'BITCDN_ERR_KEYSTORE_PASSPHRASE'
  | 'BITCDN_ERR_KEYSTORE_INVALID'
  | 'BITCDN_ERR_KEYSTORE_NOT_FOUND'
  | 'BITCDN_ERR_KEYSTORE_EXISTS'
  | 'BITCDN_ERR_CASHOUT_FAILED'
  | 'BITCDN_ERR_CHEQUE_PAYER_UNKNOWN'
  | 'BITCDN_ERR_LOOKUP_RATE_LIMITED'
  | 'BITCDN_ERR_CHEQUE_UNBACKED'
  | 'BITCDN_ERR_AMOUNT_RANGE'
  | 'BITCDN_ERR_PEER_VERIFY_LIMIT'
  | 'BITCDN_ERR_SIGNER_REVOKED'

/**
 * An error from the payment library, with a stable code.
 * @example
 * throw new PayError('BITCDN_ERR_CHEQUE_INVALID', 'cheque amount is not a decimal integer')
 */
export class PayError extends BitcdnError {
  override readonly name = 'PayError'
  declare readonly code: PayErrorCode
  constructor(code: PayErrorCode, message: string, options: BitcdnErrorOptions = {}) {
    super(code, message, options)
  }
}

/** The refusal of a cheque past its peer's budget of signature checks (one wording everywhere). */
export const peerVerifyLimitError = (): PayError =>
  new PayError('BITCDN_ERR_PEER_VERIFY_LIMIT', 'this peer used up its budget of signature checks; cheque not checked')
