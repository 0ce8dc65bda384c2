/**
 * Error codes of the chain half of `@bitcdn/pay`: the local anvil, deployments and presets. Each is
 * documented in docs/errors.md; callers switch on `code`.
 */
import { BitcdnError, type BitcdnErrorOptions } from '@bitcdn/core'

/** Every code src/chain throws. */
export type ChainErrorCode =
  | 'BITCDN_ERR_ANVIL_START'
  | 'BITCDN_ERR_DEPLOYMENT_NOT_FOUND'
  | 'BITCDN_ERR_DEPLOYMENT_INVALID'
  | 'BITCDN_ERR_DEPLOY_FAILED'
  | 'BITCDN_ERR_PRESET_UNKNOWN'
  | 'BITCDN_ERR_PRESET_INVALID'
  | 'BITCDN_ERR_ESCROW_REVERTED'
  | 'BITCDN_ERR_RPC_FAILED'
  | 'BITCDN_ERR_RPC_UNREACHABLE'
  | 'BITCDN_ERR_CHAIN_MISMATCH'
  | 'BITCDN_ERR_DEPLOYMENT_STALE'
  | 'BITCDN_ERR_TX_REVERTED'
  | 'BITCDN_ERR_GAS_INSUFFICIENT'
  | 'BITCDN_ERR_TX_FAILED'
  | 'BITCDN_ERR_FAUCET_NOT_LOCAL'

/**
 * An error from starting a chain, deploying, or reading a deployment file.
 * @example
 * throw new ChainError('BITCDN_ERR_DEPLOYMENT_NOT_FOUND', `no deployment at ${file}`)
 */
export class ChainError extends BitcdnError {
  override readonly name = 'ChainError'
  declare readonly code: ChainErrorCode
  constructor(code: ChainErrorCode, message: string, options: BitcdnErrorOptions = {}) {
    super(code, message, options)
  }
}
