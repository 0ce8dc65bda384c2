/**
 * Funding a payer: approve the escrow for the token, then deposit (Node or any viem environment;
 * in the Node entry because it uses @bitcdn/pay's ABIs).
 */
import { createPublicClient, createWalletClient, erc20Abi, http, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { escrowAbi } from '@bitcdn/pay'
import { sdkError } from '../errors.js'

export interface DepositInit {
  rpcUrl: string
  escrow: Address
  token: Address
  privateKey: Hex
  /** Token base units. */
  amount: bigint
}

/**
 * @throws BitcdnError BITCDN_ERR_SDK_INVALID_ARGUMENT (amount ≤ 0), viem's errors; a reverted transaction as BITCDN_ERR_SDK_BAD_RESPONSE
 * @example await depositToEscrow({ rpcUrl, escrow, token: usdc, privateKey, amount: 5_000_000n })
 * @returns the deposit transaction's hash
 */
export async function depositToEscrow(init: DepositInit): Promise<Hex> {
  if (init.amount <= 0n) throw sdkError('invalidArgument', `deposit amount must be positive (got ${init.amount})`)
  const account = privateKeyToAccount(init.privateKey)
  const transport = http(init.rpcUrl)
  const publicClient = createPublicClient({ transport, pollingInterval: 100 })
  const wallet = createWalletClient({ account, transport })
  const send = async (hash: Hex, what: string) => {
    const r = await publicClient.waitForTransactionReceipt({ hash })
    if (r.status !== 'success') throw sdkError('badResponse', `${what} transaction ${hash} reverted`, { hash })
    return hash
  }
  await send(await wallet.writeContract({ chain: null, address: init.token, abi: erc20Abi, functionName: 'approve', args: [init.escrow, init.amount] }), 'approve')
  return send(await wallet.writeContract({ chain: null, address: init.escrow, abi: escrowAbi, functionName: 'deposit', args: [init.token, init.amount] }), 'deposit')
}
