/**
 * Contract reverts as one line a person can read: viem decodes the escrow's custom error (OpenZeppelin
 * style, carrying the numbers) from the revert data; this names it with its values in words
 * ("free balance 5 is below the 8 needed (InsufficientBalance)"). Amounts are token base units
 * (6-decimal stablecoins); times are unix seconds.
 */
import { BaseError, ContractFunctionRevertedError, decodeErrorResult, type Hex } from 'viem'
import { escrowAbi, testTokenAbi } from '../contracts/index.js'
import { ChainError } from './errors.js'

// the escrow's own errors, plus the ERC-20 ones (OpenZeppelin's, as the test tokens raise them) it bubbles up
const revertAbi = [...escrowAbi.filter((x) => x.type === 'error'), ...testTokenAbi.filter((x) => x.type === 'error' && !escrowAbi.some((y) => y.type === 'error' && y.name === x.name))]

/** A decoded revert: the custom error's name and arguments (by name where the ABI names them). */
export interface EscrowRevert {
  errorName: string
  args: readonly unknown[]
  /** The error with its values in words. */
  message: string
}

const at = (t: unknown): string => `${String(t)} (unix s)`

/** Words for the escrow's custom errors, keyed by name; arguments in ABI order. */
const WORDS: Record<string, (a: readonly unknown[]) => string> = {
  InsufficientBalance: ([payer, token, balance, needed]) => `balance ${balance} of ${payer} in ${token} is below the ${needed} needed`,
  NoticeNotElapsed: ([readyAt, now]) => `the notice has not elapsed: ready at ${at(readyAt)}, now ${at(now)}`,
  NoticeLapsed: ([expiredAt, now]) => `the matured notice lapsed at ${at(expiredAt)} (now ${at(now)}); request it again`,
  NoPendingWithdrawal: ([payer, token]) => `${payer} has no pending withdrawal of ${token}`,
  NoPendingDeallocation: ([payer, payee, token]) => `${payer} has no pending deallocation for ${payee} in ${token}`,
  SignerRotationTooSoon: ([previous, until]) => `the previous signer ${previous} still counts until ${at(until)}; rotate after that or use revokeSigner`,
  SignerWasRevoked: ([signer, until]) => `signer ${signer} was revoked (counts until ${at(until)}); name a new key`,
  NoSignerToRevoke: ([payer]) => `${payer} has no delegated signer that counts beyond the revocation delay`,
  TokenNotAllowed: ([token]) => `token ${token} is not open for deposits`,
  TokenNotListed: ([token]) => `token ${token} was never listed on this escrow`,
  AmountTooLarge: ([amount, max]) => `amount ${amount} exceeds the maximum ${max}`,
  ZeroAmount: () => 'the amount must be more than 0',
  ZeroAddress: () => 'an address is the zero address',
  NothingToWithdraw: ([payee, token]) => `${payee} has no earnings in ${token}`,
  WithdrawDelayOutOfRange: ([delay, min, max]) => `withdrawal delay ${delay} s is outside ${min}..${max} s`,
  CapPeriodOutOfRange: ([period, min, max]) => `cap period ${period} s is outside ${min}..${max} s`,
  MalformedRows: ([length, rowBytes]) => `claim rows of ${length} bytes are not a multiple of ${rowBytes}`,
  TransferAmountMismatch: ([token, expected, received]) => `token ${token} moved ${received} instead of ${expected} (fee-on-transfer tokens are refused)`,
  ERC20InsufficientBalance: ([sender, balance, needed]) => `token balance ${balance} of ${sender} is below the ${needed} needed`,
  ERC20InsufficientAllowance: ([spender, allowance, needed]) => `token allowance ${allowance} for ${spender} is below the ${needed} needed`,
  OwnableUnauthorizedAccount: ([account]) => `${account} is not the escrow admin`,
}

/**
 * The custom error inside a viem error from a contract call, or undefined if it is no decoded revert.
 * @example
 * try { await simulate() } catch (err) { const r = decodeEscrowRevert(err); if (r) console.error(r.message) }
 */
export function decodeEscrowRevert(err: unknown): EscrowRevert | undefined {
  if (!(err instanceof BaseError)) return undefined
  const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError)
  let name: string | undefined
  let args: readonly unknown[] = []
  if (reverted instanceof ContractFunctionRevertedError) {
    name = reverted.data?.errorName
    args = reverted.data?.args ?? []
    if (!name) {
      const reason = reverted.reason ?? 'no reason given'
      return { errorName: 'Error', args: [reason], message: `reverted: ${reason}` }
    }
  } else {
    // a raw call (eth_call, a deployment) carries only the revert bytes
    const raw = err.walk((e) => typeof (e as { data?: unknown }).data === 'string') as { data?: Hex } | null
    if (!raw?.data?.startsWith('0x') || raw.data.length < 10) return undefined
    try {
      const decoded = decodeErrorResult({ abi: revertAbi, data: raw.data })
      name = decoded.errorName
      args = decoded.args ?? []
    } catch {
      return undefined
    }
  }
  const words = WORDS[name]?.(args) ?? `${name}(${args.map(String).join(', ')})`
  return { errorName: name, args, message: `${words} (${name})` }
}

/**
 * Rethrows a failed escrow call as a ChainError: BITCDN_ERR_ESCROW_REVERTED naming the custom
 * error (`details.errorName`, `details.args`) when the chain refused it, else BITCDN_ERR_RPC_FAILED
 * with the first line of the cause (unreachable RPC, timeouts).
 * @throws {ChainError} always
 * @example await send().catch((err) => rethrowEscrowError(err, 'allocate'))
 */
export function rethrowEscrowError(err: unknown, what: string): never {
  const revert = decodeEscrowRevert(err)
  if (revert) {
    throw new ChainError('BITCDN_ERR_ESCROW_REVERTED', `${what}: ${revert.message}`, {
      cause: err,
      details: { errorName: revert.errorName, args: revert.args.map(String) },
    })
  }
  const first = (err instanceof BaseError ? err.shortMessage : (err as Error)?.message ?? String(err)).split('\n')[0]
  throw new ChainError('BITCDN_ERR_RPC_FAILED', `${what}: ${first}`, { cause: err })
}
