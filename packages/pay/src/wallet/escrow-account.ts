/**
 * The payer's (owner key's) side of the escrow on chain: allocations that follow a relationship
 * (`ensureAllocation`), cancelling a deallocation, revoking a leaked hot signer, and the spending
 * cap on what the hot signers' cheques may draw. Each write is simulated first, so a refusal comes
 * back as the escrow's custom error in words (BITCDN_ERR_ESCROW_REVERTED) and no gas is spent on it.
 */
import { getAddress, type Account, type Address, type Chain, type Hex, type PublicClient, type Transport, type WalletClient } from 'viem'
import { escrowAbi } from '../contracts/index.js'
import { rethrowEscrowError } from '../chain/revert.js'

export interface EscrowAccountInit {
  escrow: Address
  /** Token of allocations when a call names none (the deployment's USDC). */
  token: Address
}

export interface EscrowAccountComponents {
  /** Signs as the payer (owner key). */
  walletClient: WalletClient<Transport, Chain | undefined, Account>
  publicClient: PublicClient
}

/** What {@link EscrowAccount.ensureAllocation} did. */
export interface EnsureAllocationResult {
  /** The allocation after the call (a pending decrease, if any, is announced, not applied). */
  allocated: bigint
  /** Pending decrease after the call (0 when none). */
  pendingDecrease: bigint
  /** The transactions sent, in order. */
  actions: { action: 'cancelDeallocate' | 'allocate'; txHash: Hex }[]
}

/** The payer's signer cap as the escrow applies it now. */
export interface SignerCapState {
  capPerPeriod: bigint
  periodSeconds: bigint
  spentThisPeriod: bigint
  periodStart: bigint
}

export interface EscrowAccount {
  /**
   * Makes `payee`'s allocation at least `amount` that will stay: a pending decrease that would
   * take it below is cancelled first, then only the difference is allocated from the free
   * balance. Never lowers an allocation (that needs `requestDeallocate` and the withdrawal delay
   * as notice). Sends nothing when the allocation already suffices.
   * @throws {ChainError} BITCDN_ERR_ESCROW_REVERTED (e.g. InsufficientBalance: not enough free
   *   balance for the top-up), BITCDN_ERR_RPC_FAILED
   */
  ensureAllocation(payee: Address, amount: bigint, opts?: { token?: Address }): Promise<EnsureAllocationResult>
  /**
   * Drops the pending decrease of `payee`'s allocation.
   * @throws {ChainError} BITCDN_ERR_ESCROW_REVERTED (NoPendingDeallocation), BITCDN_ERR_RPC_FAILED
   */
  cancelDeallocate(payee: Address, opts?: { token?: Address }): Promise<Hex>
  /**
   * Revokes the hot signer (and cuts a rotated-out one's grace) to the escrow's REVOKE_DELAY.
   * @throws {ChainError} BITCDN_ERR_ESCROW_REVERTED (NoSignerToRevoke), BITCDN_ERR_RPC_FAILED
   */
  revokeSigner(): Promise<Hex>
  /**
   * Caps what delegated signers' cheques may draw from the free balance per period (0 = none).
   * A first or lower cap takes effect after the withdrawal delay; a higher one or none at once.
   * @throws {ChainError} BITCDN_ERR_ESCROW_REVERTED (CapPeriodOutOfRange), BITCDN_ERR_RPC_FAILED
   */
  setSignerCap(capPerPeriod: bigint, periodSeconds: number): Promise<Hex>
  /** The cap as it applies now. @throws {ChainError} BITCDN_ERR_RPC_FAILED */
  signerCap(): Promise<SignerCapState>
}

/**
 * @example
 * const account = createEscrowAccount({ escrow, token: usdc })({ walletClient, publicClient })
 * await account.ensureAllocation(nodeAddress, 50_000_000n) // 50 USDC of hard collateral for that node
 */
export function createEscrowAccount(init: EscrowAccountInit): (components: EscrowAccountComponents) => EscrowAccount {
  return ({ walletClient, publicClient }) => {
    const escrow = getAddress(init.escrow)
    const payer = walletClient.account.address
    const tokenOf = (opts?: { token?: Address }): Address => getAddress(opts?.token ?? init.token)

    const send = async (functionName: string, args: readonly unknown[]): Promise<Hex> => {
      try {
        const { request } = await publicClient.simulateContract({
          address: escrow,
          abi: escrowAbi,
          functionName,
          args,
          account: walletClient.account,
        } as never)
        const hash = await walletClient.writeContract(request as never)
        const receipt = await publicClient.waitForTransactionReceipt({ hash })
        if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`)
        return hash
      } catch (err) {
        return rethrowEscrowError(err, functionName)
      }
    }
    const read = async <T,>(functionName: string, args: readonly unknown[]): Promise<T> => {
      try {
        return (await publicClient.readContract({ address: escrow, abi: escrowAbi, functionName, args } as never)) as T
      } catch (err) {
        return rethrowEscrowError(err, functionName)
      }
    }

    return {
      async ensureAllocation(payeeIn, amount, opts) {
        if (typeof amount !== 'bigint' || amount < 0n) throw new TypeError('ensureAllocation: amount must be a non-negative bigint')
        const payee = getAddress(payeeIn)
        const token = tokenOf(opts)
        let [allocated, pending] = await read<readonly [bigint, bigint, bigint]>('allocation', [payer, payee, token])
        const actions: EnsureAllocationResult['actions'] = []
        if (pending > 0n && allocated - pending < amount) {
          actions.push({ action: 'cancelDeallocate', txHash: await send('cancelDeallocate', [payee, token]) })
          pending = 0n
        }
        if (allocated < amount) {
          actions.push({ action: 'allocate', txHash: await send('allocate', [payee, token, amount - allocated]) })
          allocated = amount
        }
        return { allocated, pendingDecrease: pending, actions }
      },
      cancelDeallocate: (payee, opts) => send('cancelDeallocate', [getAddress(payee), tokenOf(opts)]),
      revokeSigner: () => send('revokeSigner', []),
      setSignerCap: (cap, period) => send('setSignerCap', [cap, BigInt(period)]),
      async signerCap() {
        const [capPerPeriod, periodSeconds, spentThisPeriod, periodStart] = await read<readonly [bigint, bigint, bigint, bigint]>('signerCap', [payer])
        return { capPerPeriod, periodSeconds: BigInt(periodSeconds), spentThisPeriod, periodStart: BigInt(periodStart) }
      },
    }
  }
}
