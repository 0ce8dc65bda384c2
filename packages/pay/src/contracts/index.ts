/**
 * Compiled contracts for viem: ABIs (`as const`, so reads and writes are fully typed) and creation
 * bytecode. The sources live in packages/pay/contracts; `scripts/compile-contracts.js` (run by
 * `npm run build`) generates ./generated from them.
 *
 * @example
 * import { escrowAbi } from '@bitcdn/pay'
 * const paid = await client.readContract({ address, abi: escrowAbi, functionName: 'paidOut', args: [payer, payee, token] })
 */
// The attack tokens (fee-on-transfer, no-bool-return, reentrant) are generated too but stay out of
// the public surface: tests import them from ./generated directly.
export { escrowAbi, escrowBytecode, testTokenAbi, testTokenBytecode } from './generated/index.js'

/**
 * Why `claim` skipped a row: the `reason` byte of the escrow's `ChequeRejected` event (mirrors the
 * Solidity `RejectReason` enum).
 */
export const ChequeRejectReason = {
  ZeroAddress: 1,
  UnknownToken: 2,
  BadSignature: 3,
  UnauthorizedSigner: 4,
  NotNewer: 5,
  /** payee == payer: paying oneself would bypass the withdrawal notice. */
  PayeeIsPayer: 6,
} as const
export type ChequeRejectReason = (typeof ChequeRejectReason)[keyof typeof ChequeRejectReason]
