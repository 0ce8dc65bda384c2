/**
 * The node's chain: the deployment file (escrow, tokens), the RPC endpoint and viem clients for
 * the node's key. No deployment file means no chain: the node then serves only what its free
 * policy allows and has nothing to cash out.
 */
import { access } from 'node:fs/promises'
import { createPublicClient, createWalletClient, defineChain, http, type Address, type Hex, type PublicClient, type WalletClient } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { defaultDeploymentPath, getPreset, loadDeployment, presetRpcUrl, type Deployment } from '@bitcdn/pay'
import { nodeError } from './errors.js'
import type { NodeConfig } from './config/schema.js'

/** Everything the node's money side talks to. */
export interface NodeChain {
  deployment: Deployment
  rpcUrl: string
  token: Address
  publicClient: PublicClient
  walletClient: WalletClient
}

/**
 * The deployment file the config points at (default `$BITCDN_HOME/deployment.json`), or
 * undefined when there is none.
 * @throws chain's BITCDN_ERR_DEPLOYMENT_INVALID for a file that is there but broken;
 *   BITCDN_ERR_CONFIG_INVALID when it is not on the configured preset or lacks the price token
 * @example const d = await readNodeDeployment(config)
 */
export async function readNodeDeployment(config: NodeConfig, env: NodeJS.ProcessEnv = process.env): Promise<{ deployment: Deployment; token: Address; rpcUrl: string } | undefined> {
  const file = config.chain.deployment || defaultDeploymentPath(env)
  try {
    await access(file)
  } catch {
    if (config.chain.deployment) throw nodeError('configInvalid', `config chain.deployment: no file at ${file}`, { field: 'chain.deployment' })
    return undefined
  }
  const deployment = await loadDeployment(file)
  let rpcUrl = config.chain.rpcUrl || deployment.rpcUrl
  if (config.chain.preset) {
    const preset = getPreset(config.chain.preset)
    if (preset.chainId !== deployment.chainId) {
      throw nodeError('configInvalid', `config chain.preset: ${preset.name} is chain ${preset.chainId}, but ${file} is chain ${deployment.chainId}`, { field: 'chain.preset' })
    }
    rpcUrl = presetRpcUrl(preset, config.chain.rpcUrl || undefined, env)
  }
  const token = deployment.tokens[config.price.token]
  if (!token) throw nodeError('configInvalid', `config price.token: ${config.price.token} is not in ${file}`, { field: 'price.token' })
  return { deployment, token, rpcUrl }
}

/**
 * Clients for the node's key on the deployment's chain.
 * @example const chain = connectChain(found, privateKey)
 */
export function connectChain(found: { deployment: Deployment; token: Address; rpcUrl: string }, privateKey: Hex): NodeChain {
  const { deployment, rpcUrl, token } = found
  const chain = defineChain({
    id: deployment.chainId,
    name: deployment.network,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  })
  const transport = http(rpcUrl)
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 500 }) as PublicClient
  const walletClient = createWalletClient({ chain, transport, account: privateKeyToAccount(privateKey) })
  return { deployment, rpcUrl, token, publicClient, walletClient }
}
