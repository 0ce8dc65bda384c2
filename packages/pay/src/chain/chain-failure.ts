/**
 * One line with a stable code for anything that goes wrong talking to a chain: an RPC that cannot
 * be reached (instead of viem's multi-line dump), a revert decoded into the contract's custom
 * error (`revert.ts`), too little gas money, or else the node's short reason.
 */
import { BitcdnError } from '@bitcdn/core'
import { ChainError } from './errors.js'
import { decodeRevert, type RevertContext } from './revert.js'

type ErrorLike = { name?: string; code?: unknown; message?: string; shortMessage?: string; status?: number; url?: string; cause?: unknown }

/** Each error of `err`'s cause chain, outermost first (bounded: chains are not attacker-sized, but cycles exist). */
function chain(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = []
  for (let e = err as ErrorLike | undefined; e && typeof e === 'object' && out.length < 12; e = e.cause as ErrorLike | undefined) out.push(e)
  return out
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET'])

/**
 * Why the RPC could not be reached ("connection refused", "HTTP 502", "timed out"), or undefined
 * when `err` is not a transport failure.
 * @example rpcUnreachableReason(err) // 'connection refused'
 */
export function rpcUnreachableReason(err: unknown): string | undefined {
  const errs = chain(err)
  for (const e of errs) {
    if (typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) {
      return e.code === 'ECONNREFUSED' ? 'connection refused' : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' ? 'host not found' : e.code.toLowerCase()
    }
  }
  for (const e of errs) {
    if (e.name === 'TimeoutError') return 'timed out'
    if (e.name === 'HttpRequestError') return e.status ? `HTTP ${e.status}` : 'request failed'
  }
  return undefined
}

/** What `chainFailure` needs to word its line. */
export interface ChainFailureContext extends RevertContext {
  /** The RPC URL, named when it cannot be reached. */
  rpcUrl: string
  /** Shown when the node refuses a transaction for a reason we do not decode. */
  what: string
  /** Appended to the unreachable line: how to bring the chain up. */
  unreachableHint?: string
  /** Appended to the out-of-gas line: where gas money comes from. */
  faucetHint?: string
}

/**
 * Maps an error from a viem call to a one-line BitcdnError; a BitcdnError passes through.
 * @returns BITCDN_ERR_RPC_UNREACHABLE, BITCDN_ERR_TX_REVERTED (decoded), BITCDN_ERR_GAS_INSUFFICIENT
 *   or BITCDN_ERR_TX_FAILED
 * @example
 * try { await publicClient.readContract(...) } catch (err) { throw chainFailure(err, { rpcUrl, what: 'balance' }) }
 */
export function chainFailure(err: unknown, ctx: ChainFailureContext): BitcdnError {
  if (err instanceof BitcdnError) return err
  const unreachable = rpcUnreachableReason(err)
  if (unreachable) {
    return new ChainError('BITCDN_ERR_RPC_UNREACHABLE', `cannot reach the chain RPC at ${ctx.rpcUrl} (${unreachable})${ctx.unreachableHint ? `; ${ctx.unreachableHint}` : ''}`, {
      details: { rpcUrl: ctx.rpcUrl, reason: unreachable },
      cause: err,
    })
  }
  const revert = decodeRevert(err, { ...ctx, action: ctx.action ?? ctx.what })
  if (revert) {
    return new ChainError('BITCDN_ERR_TX_REVERTED', revert.sentence, { details: { errorName: revert.errorName, args: revert.args, selector: revert.selector }, cause: err })
  }
  const errs = chain(err)
  if (errs.some((e) => e.name === 'InsufficientFundsError')) {
    return new ChainError(
      'BITCDN_ERR_GAS_INSUFFICIENT',
      `${ctx.what} failed: ${ctx.account ?? 'the account'} has not enough native currency (ETH) to pay for gas${ctx.faucetHint ? `; ${ctx.faucetHint}` : ''}`,
      { cause: err },
    )
  }
  const short = errs.find((e) => e.shortMessage)?.shortMessage ?? (err instanceof Error ? err.message.split('\n')[0] : String(err))
  return new ChainError('BITCDN_ERR_TX_FAILED', `${ctx.what} failed: ${short}`, { cause: err })
}
