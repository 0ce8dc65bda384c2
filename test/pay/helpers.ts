/** Shared set-up of the pay integration tests: a fresh anvil, a local deployment, clients. */
import { createPublicClient, createTestClient, createWalletClient, http, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { anvilAccounts, deployLocal, escrowAbi, startAnvil, testTokenAbi, type AnvilInstance, type Deployment } from '@bitcdn/pay'

export interface PayChain {
  anvil: AnvilInstance
  deployment: Deployment
  publicClient: ReturnType<typeof publicClientFor>
  testClient: ReturnType<typeof createTestClient>
  accounts: { address: Address; privateKey: Hex }[]
  wallet(privateKey: Hex): ReturnType<typeof walletFor>
  /** Approves and deposits `amount` of USDC for the key's account. */
  deposit(privateKey: Hex, amount: bigint): Promise<void>
}

function publicClientFor(rpcUrl: string) {
  return createPublicClient({ chain: foundry, transport: http(rpcUrl), pollingInterval: 50 })
}
function walletFor(rpcUrl: string, privateKey: Hex) {
  return createWalletClient({ chain: foundry, transport: http(rpcUrl), account: privateKeyToAccount(privateKey) })
}

export async function startPayChain(opts: { fundAmount?: bigint; withdrawDelaySeconds?: number } = {}): Promise<PayChain> {
  const anvil = await startAnvil({ accounts: 10 })
  const accounts = anvilAccounts(10)
  const deployment = await deployLocal({
    rpcUrl: anvil.rpcUrl,
    withdrawDelaySeconds: opts.withdrawDelaySeconds ?? 60,
    fund: { accounts: accounts.map((a) => a.address), amount: opts.fundAmount ?? 1_000_000_000_000n },
  })
  const publicClient = publicClientFor(anvil.rpcUrl)
  const testClient = createTestClient({ chain: foundry, mode: 'anvil', transport: http(anvil.rpcUrl) })
  return {
    anvil,
    deployment,
    publicClient,
    testClient,
    accounts,
    wallet: (pk) => walletFor(anvil.rpcUrl, pk),
    async deposit(privateKey, amount) {
      const w = walletFor(anvil.rpcUrl, privateKey)
      const a = await w.writeContract({ address: deployment.tokens.USDC, abi: testTokenAbi, functionName: 'approve', args: [deployment.escrow, amount] })
      await publicClient.waitForTransactionReceipt({ hash: a })
      const d = await w.writeContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'deposit', args: [deployment.tokens.USDC, amount] })
      const r = await publicClient.waitForTransactionReceipt({ hash: d })
      if (r.status !== 'success') throw new Error('deposit reverted')
    },
  }
}
