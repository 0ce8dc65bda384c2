/**
 * Contract reverts in words — the one revert decoder of `@bitcdn/pay` (the CLI's `chainFailure`
 * and the payer's escrow calls, `rethrowEscrowError`, both use it). A failed call or transaction carries the revert data somewhere in
 * viem's `cause` chain; it is decoded against every custom error the escrow and the token ABIs
 * declare (generated from the compiled contracts, so errors added later decode too), OpenZeppelin's
 * ERC-6093 token errors (`ERC20InsufficientBalance`, selector 0xe450d38c) and Solidity's
 * `Error(string)` / `Panic(uint256)`. Known errors read as a sentence with amounts in tokens
 * ("deposit of 1000 USDC exceeds your token balance of 90 USDC"); any other one as its name and
 * named values.
 */
import { BaseError, decodeErrorResult, formatEther, getAddress, isHex, type Abi, type Address, type Hex } from 'viem'
import { escrowAbi, testTokenAbi } from '../contracts/index.js'
import { formatTokenAmount } from '../wallet/amount.js'
import { ChainError } from './errors.js'

type AbiError = Extract<Abi[number], { type: 'error' }>

/** What a sentence may say about the call that reverted. */
export interface RevertContext {
  /** The user's action, as the sentence's subject ("deposit", "withdrawal"). @default 'the call' */
  action?: string
  /** The sender: its balances read as "your". */
  account?: Address
  /** Tokens by address, to name amounts ("1000 USDC"); the first is the default for token errors. */
  tokens?: ReadonlyArray<{ address: Address; symbol: string; decimals: number }>
  /** Seconds since the epoch, for "ready in N s". @default the clock */
  nowSeconds?: number
}

/** A decoded revert. */
export interface DecodedRevert {
  /** The error's name as the ABI declares it (`Error` and `Panic` for Solidity's own). */
  errorName: string
  /** Its values by parameter name. */
  args: Record<string, unknown>
  /** The 4-byte selector. */
  selector: Hex
  /** One sentence a user understands. */
  sentence: string
}

/** Every error declared in the ABIs, de-duplicated by signature (both inherit OpenZeppelin's). */
const errorAbi: Abi = (() => {
  const seen = new Set<string>()
  const out: AbiError[] = []
  for (const item of [...escrowAbi, ...testTokenAbi] as readonly { type: string }[]) {
    if (item.type !== 'error') continue
    const e = item as AbiError
    const sig = `${e.name}(${e.inputs.map((i) => i.type).join(',')})`
    if (!seen.has(sig)) seen.add(sig), out.push(e)
  }
  return out
})()

const PANIC: Record<number, string> = {
  0x01: 'assertion failed',
  0x11: 'arithmetic overflow or underflow',
  0x12: 'division by zero',
  0x21: 'invalid enum value',
  0x31: 'pop from an empty array',
  0x32: 'array index out of bounds',
  0x41: 'out of memory',
}

/**
 * The revert data in an error's cause chain (viem puts it in `raw`, `data`, or an RPC error's
 * `data`), or undefined.
 * @example const data = revertData(err) // '0xe450d38c…'
 */
export function revertData(err: unknown): Hex | undefined {
  for (let e = err as Record<string, unknown> | undefined, depth = 0; e && depth < 12; e = e.cause as Record<string, unknown> | undefined, depth++) {
    for (const v of [e.raw, e.data, (e.data as { data?: unknown } | undefined)?.data, (e.error as { data?: unknown } | undefined)?.data]) {
      if (typeof v === 'string' && isHex(v) && v.length >= 10) return v
    }
  }
  return undefined
}

/**
 * Decodes the revert in `err` (a viem error, or raw revert data) into a sentence; undefined when
 * there is no revert data or it matches no known error.
 * @example
 * const r = decodeRevert(err, { action: 'deposit', account, tokens: [{ address: usdc, symbol: 'USDC', decimals: 6 }] })
 * r?.sentence // 'deposit of 1000 USDC exceeds your token balance of 90 USDC'
 */
export function decodeRevert(err: unknown, ctx: RevertContext = {}): DecodedRevert | undefined {
  const data = typeof err === 'string' && isHex(err) ? err : revertData(err)
  if (!data) return undefined
  let decoded: { errorName: string; args: readonly unknown[] | undefined; abiItem: AbiError }
  try {
    decoded = decodeErrorResult({ abi: errorAbi, data }) as unknown as typeof decoded
  } catch {
    return undefined
  }
  const args: Record<string, unknown> = {}
  decoded.abiItem.inputs.forEach((input, i) => (args[input.name || `arg${i}`] = decoded.args?.[i]))
  return { errorName: decoded.errorName, args, selector: data.slice(0, 10) as Hex, sentence: sentence(decoded.errorName, args, ctx) }
}

function sentence(name: string, a: Record<string, unknown>, ctx: RevertContext): string {
  const action = ctx.action ?? 'the call'
  const tokens = ctx.tokens ?? []
  const tokenOf = (addr: unknown) => (typeof addr === 'string' ? tokens.find((t) => t.address.toLowerCase() === addr.toLowerCase()) : undefined) ?? tokens[0]
  const amount = (v: unknown, token?: unknown) => {
    const t = token === undefined ? tokens[0] : tokenOf(token)
    return t ? `${formatTokenAmount(v as bigint, t.decimals)} ${t.symbol}` : `${String(v)} base units`
  }
  const symbol = (token: unknown) => tokenOf(token)?.symbol ?? String(token)
  const whose = (who: unknown) => (ctx.account && typeof who === 'string' && getAddress(who) === getAddress(ctx.account) ? 'your' : `${String(who)}'s`)
  const at = (seconds: unknown) => {
    const s = Number(seconds)
    const now = ctx.nowSeconds ?? Math.floor(Date.now() / 1000)
    return `${new Date(s * 1000).toISOString()}${s > now ? ` (in ${s - now} s)` : ''}`
  }
  switch (name) {
    case 'ERC20InsufficientBalance':
      return `${action} of ${amount(a.needed)} exceeds ${whose(a.sender)} token balance of ${amount(a.balance)}`
    case 'ERC20InsufficientAllowance':
      return `${action} of ${amount(a.needed)} exceeds the allowance of ${amount(a.allowance)} given to ${String(a.spender)}`
    case 'ERC20InvalidReceiver':
      return `${action} was refused by the token: invalid receiver ${String(a.receiver)}`
    case 'ERC20InvalidSender':
      return `${action} was refused by the token: invalid sender ${String(a.sender)}`
    case 'InsufficientBalance':
      return `${action} of ${amount(a.needed, a.token)} exceeds ${whose(a.payer)} free escrow balance of ${amount(a.balance, a.token)}`
    case 'TokenNotAllowed':
      return `${action} refused: token ${symbol(a.token)} is not open in this escrow`
    case 'ZeroAmount':
      return `${action} refused: the amount must be more than zero`
    case 'ZeroAddress':
      return `${action} refused: an address is the zero address`
    case 'AmountTooLarge':
      return `${action} refused: amount ${amount(a.amount)} is above the most the escrow takes (${amount(a.max)})`
    case 'TransferAmountMismatch':
      return `${action} refused: the token moved ${amount(a.received, a.token)} instead of ${amount(a.expected, a.token)} (fee-on-transfer tokens are not supported)`
    case 'NoPendingWithdrawal':
      return `${action} refused: there is no pending withdrawal of ${symbol(a.token)} (request one first)`
    case 'NoPendingDeallocation':
      return `${action} refused: there is no pending deallocation from ${String(a.payee)} in ${symbol(a.token)}`
    case 'NoticeNotElapsed':
      return `${action} refused: the notice period has not passed; ready at ${at(a.readyAt)}`
    case 'NoticeLapsed':
      return `${action} refused: the matured notice lapsed at ${at(a.expiredAt)}; request it again`
    case 'SignerWasRevoked':
      return `${action} refused: signer ${String(a.signer)} was revoked (it counts until ${at(a.validUntil)}); name a new key`
    case 'NoSignerToRevoke':
      return `${action} refused: ${String(a.payer)} has no delegated signer that counts beyond the revocation delay`
    case 'TokenNotListed':
      return `${action} refused: token ${symbol(a.token)} was never listed on this escrow`
    case 'WithdrawDelayOutOfRange':
      return `${action} refused: withdrawal delay ${String(a.delay)} s is outside ${String(a.min)}..${String(a.max)} s`
    case 'CapPeriodOutOfRange':
      return `${action} refused: cap period ${String(a.period)} s is outside ${String(a.min)}..${String(a.max)} s`
    case 'MalformedRows':
      return `${action} refused: claim rows of ${String(a.length)} bytes are not a multiple of ${String(a.rowBytes)}`
    case 'NothingToWithdraw':
      return `${action} refused: there are no earnings in ${symbol(a.token)} to withdraw`
    case 'SignerRotationTooSoon':
      return `${action} refused: the previous signer ${String(a.previous)} stays valid until ${at(a.previousValidUntil)}; rotate again after that or use revokeSigner`
    case 'OwnableUnauthorizedAccount':
      return `${action} refused: ${String(a.account)} is not the escrow's admin`
    case 'SafeERC20FailedOperation':
      return `${action} failed: token ${symbol(a.token)} refused the transfer`
    case 'ReentrancyGuardReentrantCall':
      return `${action} refused: reentrant call`
    case 'Error':
      return `${action} reverted: ${String(Object.values(a)[0])}`
    case 'Panic': {
      const code = Number(Object.values(a)[0])
      return `${action} failed: the contract panicked (0x${code.toString(16)}: ${PANIC[code] ?? 'unknown panic'})`
    }
    default: {
      // an error this file has no sentence for (e.g. one added to the contract later): its name
      // and values, amounts as they are
      const values = Object.entries(a).map(([k, v]) => `${k} ${typeof v === 'bigint' ? v.toString() : String(v)}`)
      return `${action} refused by the contract: ${name}${values.length ? ` (${values.join(', ')})` : ''}`
    }
  }
}

/**
 * Native (gas) amounts as text: "0.5 ETH".
 * @example formatNative(10n ** 18n) // '1 ETH'
 */
export function formatNative(wei: bigint, symbol = 'ETH'): string {
  return `${formatEther(wei)} ${symbol}`
}

/**
 * Rethrows a failed escrow call as a ChainError: BITCDN_ERR_ESCROW_REVERTED with the custom error
 * in words and its name (`details.errorName`, `details.args` by parameter name) when the chain
 * refused it, else BITCDN_ERR_RPC_FAILED with the first line of the cause (unreachable RPC,
 * timeouts).
 * @throws {ChainError} always
 * @example await send().catch((err) => rethrowEscrowError(err, 'allocate'))
 */
export function rethrowEscrowError(err: unknown, what: string): never {
  const revert = decodeRevert(err, { action: what })
  if (revert) {
    throw new ChainError('BITCDN_ERR_ESCROW_REVERTED', `${revert.sentence} (${revert.errorName})`, {
      cause: err,
      details: { errorName: revert.errorName, args: Object.fromEntries(Object.entries(revert.args).map(([k, v]) => [k, String(v)])) },
    })
  }
  // a revert with no data at all (`revert()`, `require(x)`): still the chain's refusal
  if (err instanceof BaseError && err.walk((e) => (e as { name?: string }).name === 'ContractFunctionRevertedError')) {
    throw new ChainError('BITCDN_ERR_ESCROW_REVERTED', `${what} reverted with no reason`, { cause: err, details: { errorName: 'Error', args: {} } })
  }
  const first = (err instanceof BaseError ? err.shortMessage : (err as Error)?.message ?? String(err)).split('\n')[0]
  throw new ChainError('BITCDN_ERR_RPC_FAILED', `${what}: ${first}`, { cause: err })
}
