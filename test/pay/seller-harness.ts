/**
 * Shared parts of the seller attack and property tests: funded actors on a real anvil (fresh keys
 * with gas and test USDC), cheques signed by any key, a seller settlement with explicit cash-out
 * passes, and the seller's loss measured from the chain (`paidOut`) against what it delivered.
 */
import { join } from 'node:path'
import { parseEther, type Address, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { tokenUnits, type Clock, type TokenUnits } from '@bitcdn/core'
import {
  createPrivateKeyChequeSigner,
  createSellerSettlement,
  escrowAbi,
  testTokenAbi,
  type SellerSettlement,
  type SellerSettlementInit,
  type SignedCheque,
} from '@bitcdn/pay'
import type { PayChain } from './helpers.js'

export interface Actor {
  address: Address
  privateKey: Hex
  /** Sends an escrow call from this actor and waits for it; throws if it reverts. */
  escrow(functionName: string, args: readonly unknown[]): Promise<void>
  /** Signs a cheque from this actor (as payer) with `signerKey` (default its own key). */
  cheque(payee: Address, cumulative: bigint, signerKey?: Hex): Promise<SignedCheque>
}

export async function newActor(chain: PayChain, usdc = 0n): Promise<Actor> {
  const privateKey = generatePrivateKey()
  const address = privateKeyToAccount(privateKey).address
  await chain.testClient.setBalance({ address, value: parseEther('100') })
  const w = chain.wallet(privateKey)
  const { escrow, tokens, chainId } = chain.deployment
  const send = async (address_: Address, abi: unknown, functionName: string, args: readonly unknown[]): Promise<void> => {
    const hash = await w.writeContract({ address: address_, abi, functionName, args } as never)
    const r = await chain.publicClient.waitForTransactionReceipt({ hash })
    if (r.status !== 'success') throw new Error(`${functionName} reverted`)
  }
  if (usdc > 0n) {
    await send(tokens.USDC, testTokenAbi, 'mint', [address, usdc])
    await send(tokens.USDC, testTokenAbi, 'approve', [escrow, usdc])
  }
  return {
    address,
    privateKey,
    escrow: (fn, args) => send(escrow, escrowAbi, fn, args),
    async cheque(payee, cumulative, signerKey = privateKey) {
      const cheque = { payer: address, payee, token: tokens.USDC, cumulativeAmount: tokenUnits(cumulative) }
      return { cheque, signature: (await createPrivateKeyChequeSigner(signerKey, { chainId, verifyingContract: escrow }).sign(cheque)) as Hex }
    },
  }
}

/** A seller with explicit cash-out passes (no background claims except urgent ones). */
export async function startSeller(
  chain: PayChain,
  dir: string,
  name: string,
  payee: Actor,
  piece: TokenUnits,
  extra: Partial<SellerSettlementInit> = {},
  /** The settlement's clock (forgiveness periods moved, not slept on). */
  clock?: Clock,
): Promise<SellerSettlement> {
  const { deployment } = chain
  const seller = createSellerSettlement(
    {
      ledgerPath: join(dir, `${name}.db`),
      payee: payee.address,
      domain: { chainId: deployment.chainId, verifyingContract: deployment.escrow },
      tokens: [deployment.tokens.USDC],
      pollingIntervalMs: 50,
      signerMarginS: 60,
      ...extra,
      cashout: { thresholdUnits: 10n ** 15n, maxAgeMs: 86_400_000, confirmations: 1, pollIntervalMs: 3_600_000, ...extra.cashout },
    },
    () => ({ pieceValue: piece, maxWindow: tokenUnits(piece * 16n) }),
  )({ publicClient: chain.publicClient, walletClient: chain.wallet(payee.privateKey), ...(clock ? { clock } : {}) })
  await seller.start()
  return seller
}

/** Delivers up to `pieces` pieces, each only when the seller's credit rules allow it; returns the count. */
export function serve(seller: SellerSettlement, buyer: Address, token: Address, piece: TokenUnits, pieces: number): number {
  let n = 0
  for (; n < pieces; n++) {
    if (!seller.mayDeliver(buyer, token, piece)) break
    seller.credit(buyer, token).delivered(piece)
  }
  return n
}

/** Wall-clock time a test moves forward instead of sleeping. */
export function movableClock(): Clock & { advance(ms: number): void } {
  let offset = 0
  return {
    now: () => Date.now() + offset,
    advance(ms) {
      offset += ms
    },
  }
}

export async function paidOut(chain: PayChain, payer: Address, payee: Address): Promise<bigint> {
  return chain.publicClient.readContract({ address: chain.deployment.escrow, abi: escrowAbi, functionName: 'paidOut', args: [payer, payee, chain.deployment.tokens.USDC] })
}

/** Claims everything the seller holds and confirms it (cash-out passes with a block mined between). */
export async function settleAll(chain: PayChain, seller: SellerSettlement): Promise<void> {
  for (const e of seller.ledger.unsettled()) seller.cashout.urgent(e.payer)
  for (let i = 0; i < 6; i++) {
    await seller.cashout.tick()
    await chain.testClient.mine({ blocks: 1 })
    if (seller.ledger.pendingTxs().length === 0 && i > 0) break
  }
}

/** Polls `check`, failing after `limitMs` (a bound on a hang, not a performance assertion). */
export async function until(what: string, check: () => boolean | Promise<boolean>, limitMs = 20_000): Promise<void> {
  const end = Date.now() + limitMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
