/**
 * The chain a command talks to, from its flags: the deployment file (`--deployment`, default
 * `$BITCDN_HOME/deployment.json`), the token (`--token`), the RPC (`--rpc-url`, else the preset's
 * environment variable with `--preset`, else the deployment file's). Checked before any work: the
 * RPC answers, serves the deployment's chain, and the escrow is there — each failure one coded
 * line (`chainFailure`: an unreachable RPC names its URL). Shared by `bitcdn wallet` and
 * `bitcdn get --wallet`.
 */
import { Option, type Command } from 'commander'
import { createPublicClient, defineChain, http, type Address, type Chain, type Hex, type HttpTransport, type PublicClient } from 'viem'
import { BitcdnError } from '@bitcdn/core'
import { chainFailure, ChainError, defaultDeploymentPath, getPreset, loadDeployment, presetNames, presetRpcUrl, type Deployment } from '@bitcdn/pay'

/** The chain flags as commander parses them. */
export interface ChainFlags {
  deployment?: string
  token: string
  rpcUrl?: string
  /** Only commands that offer `--preset`. */
  preset?: string
}

/** Token decimals of every deployment's stablecoins (USDC, USDT). */
export const TOKEN_DECIMALS = 6

/**
 * Adds `--deployment`, `--token`, `--rpc-url` (and `--preset` when asked) to a command.
 * @example addChainOptions(cmd, { preset: true })
 */
export function addChainOptions(cmd: Command, { preset = false }: { preset?: boolean } = {}): Command {
  cmd.addOption(new Option('--deployment <file>', 'deployment file (default: $BITCDN_HOME/deployment.json)'))
  cmd.addOption(new Option('--token <symbol>', 'token: USDC or USDT').default('USDC'))
  cmd.addOption(new Option('--rpc-url <url>', "RPC endpoint (default: the preset's variable, else the deployment file's)"))
  if (preset) cmd.addOption(new Option('--preset <name>', `network the deployment must be on, and whose RPC variable to read: ${presetNames.join(', ')}`))
  return cmd
}

/**
 * Loads the deployment and checks the chain behind it.
 * @throws BITCDN_ERR_DEPLOYMENT_NOT_FOUND / _INVALID, BITCDN_ERR_TOKEN_UNKNOWN, BITCDN_ERR_PRESET_*,
 *   BITCDN_ERR_RPC_UNREACHABLE, BITCDN_ERR_CHAIN_MISMATCH, BITCDN_ERR_DEPLOYMENT_STALE
 * @example const ctx = await connectCliChain({ token: 'USDC' })
 */
export async function connectCliChain(opts: ChainFlags): Promise<CliChain> {
  const file = opts.deployment ?? defaultDeploymentPath()
  const deployment: Deployment = await loadDeployment(file)
  const symbol = opts.token.toUpperCase()
  const token = deployment.tokens[symbol as keyof Deployment['tokens']]
  if (!token) {
    throw new BitcdnError('BITCDN_ERR_TOKEN_UNKNOWN', `token '${opts.token}' is not in the deployment (has: ${Object.keys(deployment.tokens).join(', ')})`)
  }
  let rpcUrl = opts.rpcUrl ?? deployment.rpcUrl
  if (opts.preset !== undefined) {
    const preset = getPreset(opts.preset)
    if (preset.chainId !== deployment.chainId) {
      throw new ChainError('BITCDN_ERR_CHAIN_MISMATCH', `--preset ${preset.name} is chain ${preset.chainId}, but ${file} is for chain ${deployment.chainId}`)
    }
    rpcUrl = presetRpcUrl(preset, opts.rpcUrl)
  }
  const chain = defineChain({
    id: deployment.chainId,
    name: deployment.network,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  })
  // one quick try: a CLI reports an unreachable RPC at once instead of retrying for seconds
  const transport = http(rpcUrl, { retryCount: 0, timeout: 30_000 })
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 250 }) as PublicClient<HttpTransport, Chain>
  const local = deployment.network === 'anvil' || deployment.chainId === 31337
  const tokens = Object.entries(deployment.tokens).map(([sym, address]) => ({ address: address as Address, symbol: sym, decimals: TOKEN_DECIMALS }))
  // the command's token first: token errors (which do not name the token) are about it
  tokens.sort((a, b) => (a.address === token ? -1 : b.address === token ? 1 : 0))
  const failure = (err: unknown, what: string, account?: Address) =>
    chainFailure(err, {
      rpcUrl,
      what,
      tokens,
      ...(account ? { account } : {}),
      ...(local ? { unreachableHint: 'is the local chain running? start it with `bitcdn chain`', faucetHint: `on the local chain: bitcdn chain fund ${account ?? 'ADDRESS'}` } : {}),
    })
  // the RPC answers, serves the deployment's chain, and the escrow is there (a restarted anvil
  // keeps no state, so an old deployment file points at nothing)
  const [chainId, code] = await Promise.all([publicClient.getChainId(), publicClient.getCode({ address: deployment.escrow })]).catch((err) => {
    throw failure(err, 'reading the chain')
  })
  if (chainId !== deployment.chainId) {
    throw new ChainError('BITCDN_ERR_CHAIN_MISMATCH', `the RPC at ${rpcUrl} serves chain ${chainId}, but the deployment file is for chain ${deployment.chainId}`)
  }
  if (!code || code === '0x') {
    throw new ChainError(
      'BITCDN_ERR_DEPLOYMENT_STALE',
      `no escrow contract at ${deployment.escrow} on ${rpcUrl}: ${local ? 'the local chain was restarted since the deployment file was written (it keeps no state); restart `bitcdn chain` in the background and run again' : 'the deployment file does not match this chain'}`,
    )
  }
  // asked only by the commands that keep cheque totals (one more RPC call, not on every wallet command)
  const instance = async (): Promise<Hex | undefined> =>
    (await publicClient.getBlock({ blockNumber: BigInt(deployment.deployedAtBlock) }).catch(() => undefined))?.hash ?? undefined
  return { deployment, token, symbol, chain, rpcUrl, transport, publicClient, failure, instance }
}

/** A checked chain: deployment, token, clients, and the one-line failure mapper. */
export interface CliChain {
  deployment: Deployment
  /** The `--token` address. */
  token: Address
  symbol: string
  chain: Chain
  rpcUrl: string
  transport: HttpTransport
  publicClient: PublicClient<HttpTransport, Chain>
  /** Any chain failure as one coded line (unreachable RPC, revert in words, no gas). */
  failure: (err: unknown, what: string, account?: Address) => BitcdnError
  /**
   * The hash of the escrow's deployment block: which chain instance this is (a local chain
   * restarted from nothing deploys the same escrow address again, in another block). Payer
   * wallets keep their totals per instance (pay's `PayerWalletInit.instance`). Undefined when the
   * RPC has no such block.
   */
  instance(): Promise<Hex | undefined>
}
