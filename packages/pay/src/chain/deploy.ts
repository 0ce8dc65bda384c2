/**
 * Deploys BitCDNEscrow. One path for every network: {@link deploy} takes an RPC URL, a key, and
 * either a preset (real USDC/USDT, ≥ 48 h notice, chain id checked) or explicit tokens;
 * {@link deployLocal} first deploys test stablecoins on a dev chain (anvil), funds accounts, and then
 * calls the same {@link deploy}.
 */
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
  http,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type WalletClient,
  type Transport,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { escrowAbi, escrowBytecode, testTokenAbi, testTokenBytecode } from '../contracts/index.js'
import { anvilAccounts } from './anvil.js'
import type { Deployment } from './deployment.js'
import { ChainError } from './errors.js'
import { getPreset, MIN_PRODUCTION_WITHDRAW_DELAY_SECONDS, type ChainPreset, type PresetName } from './presets.js'

/** The escrow's `MAX_WITHDRAW_DELAY`: longer notices are refused by its constructor. */
export const MAX_WITHDRAW_DELAY_SECONDS = 30 * 86_400

/** Parameters of {@link deploy}. */
export interface DeployParams {
  /** JSON-RPC endpoint of the target chain. */
  rpcUrl: string
  /** 0x-prefixed private key paying for deployment; becomes the escrow admin unless `admin` is set. */
  deployerKey: Hex
  /** Network preset (name or object). Sets tokens, delay and the expected chain id. */
  preset?: PresetName | ChainPreset
  /** Tokens to allow; required without a preset, overrides the preset's otherwise. */
  tokens?: { USDC: Address; USDT?: Address }
  /** Withdrawal notice in seconds, 1 to 30 days' worth. @default the preset's (48 h), required without a preset */
  withdrawDelaySeconds?: number
  /** Admin (Ownable2Step) of the escrow: may only open/close tokens. @default the deployer */
  admin?: Address
  /** `network` written into the deployment. @default the preset name, else 'local' */
  network?: string
  /** Receipt polling interval in ms. @default 100 for local, 1000 with a preset */
  pollingIntervalMs?: number
}

/**
 * Deploys the escrow (with the preset's or the given tokens on its allowlist) and returns the
 * {@link Deployment} to save with `writeDeployment`.
 * @throws {ChainError} BITCDN_ERR_PRESET_INVALID if the RPC's chain id differs from the preset's, or
 *   the delay is under 48 h on a preset; BITCDN_ERR_DEPLOY_FAILED if a token has no code or a
 *   transaction fails.
 * @example
 * const d = await deploy({ preset: 'base-sepolia', rpcUrl, deployerKey })
 * await writeDeployment(defaultDeploymentPath(), d)
 */
export async function deploy(params: DeployParams): Promise<Deployment> {
  const preset = typeof params.preset === 'string' ? getPreset(params.preset) : params.preset
  const tokens = params.tokens ?? preset?.tokens
  if (!tokens) {
    throw new ChainError('BITCDN_ERR_PRESET_INVALID', 'deploy needs a preset or explicit tokens (USDC at least)')
  }
  const withdrawDelaySeconds = params.withdrawDelaySeconds ?? preset?.withdrawDelaySeconds
  if (withdrawDelaySeconds === undefined || !Number.isInteger(withdrawDelaySeconds) || withdrawDelaySeconds < 1 || withdrawDelaySeconds > MAX_WITHDRAW_DELAY_SECONDS) {
    // the escrow's constructor refuses the same (WithdrawDelayOutOfRange); say so before spending gas
    throw new ChainError('BITCDN_ERR_PRESET_INVALID', `deploy needs a whole withdrawDelaySeconds from 1 to ${MAX_WITHDRAW_DELAY_SECONDS} (30 days), got ${String(withdrawDelaySeconds)}`, {
      details: { withdrawDelaySeconds, min: 1, max: MAX_WITHDRAW_DELAY_SECONDS },
    })
  }
  if (preset && withdrawDelaySeconds < MIN_PRODUCTION_WITHDRAW_DELAY_SECONDS) {
    throw new ChainError(
      'BITCDN_ERR_PRESET_INVALID',
      `withdrawal delay on ${preset.label} must be at least ${MIN_PRODUCTION_WITHDRAW_DELAY_SECONDS} s (48 h), got ${withdrawDelaySeconds} s`,
      { details: { withdrawDelaySeconds, min: MIN_PRODUCTION_WITHDRAW_DELAY_SECONDS } },
    )
  }

  const { publicClient, walletClient, account, chainId } = await connect(
    params.rpcUrl,
    params.deployerKey,
    params.pollingIntervalMs ?? (preset ? 1_000 : 100),
  )
  if (preset && chainId !== preset.chainId) {
    throw new ChainError(
      'BITCDN_ERR_PRESET_INVALID',
      `RPC ${redact(params.rpcUrl)} serves chain ${chainId}, but preset ${preset.name} is chain ${preset.chainId}`,
      { details: { chainId, expected: preset.chainId } },
    )
  }

  const allowed = [tokens.USDC, ...(tokens.USDT ? [tokens.USDT] : [])].map((t) => getAddress(t))
  for (const token of allowed) {
    const code = await publicClient.getCode({ address: token })
    if (!code || code === '0x') {
      throw new ChainError('BITCDN_ERR_DEPLOY_FAILED', `token ${token} has no code on chain ${chainId}`, {
        details: { token, chainId },
      })
    }
  }

  const admin = params.admin ?? account.address
  const { address: escrow, blockNumber } = await deployContract(publicClient, walletClient, account, {
    abi: escrowAbi,
    bytecode: escrowBytecode,
    args: [admin, BigInt(withdrawDelaySeconds), allowed],
    what: 'BitCDNEscrow',
  })

  const deployedTokens: Deployment['tokens'] = { USDC: getAddress(tokens.USDC) }
  if (tokens.USDT) deployedTokens.USDT = getAddress(tokens.USDT)
  return {
    chainId,
    rpcUrl: params.rpcUrl,
    escrow,
    tokens: deployedTokens,
    withdrawDelaySeconds,
    deployedAtBlock: Number(blockNumber),
    network: params.network ?? preset?.name ?? 'local',
  }
}

/** Parameters of {@link deployLocal}. */
export interface DeployLocalParams {
  rpcUrl: string
  /** @default anvil's first dev account */
  deployerKey?: Hex
  /** @default 60 */
  withdrawDelaySeconds?: number
  /** Mint test USDC (and USDT) to these accounts. */
  fund?: { accounts: Address[]; amount: bigint }
  /** Also deploy a test USDT. @default true */
  usdt?: boolean
  /** `network` written into the deployment. @default 'local' */
  network?: string
}

/**
 * Deploys test stablecoins (`TestStablecoin`: 6 decimals, permit, EIP-3009, open mint) as USDC and
 * USDT on a dev chain, funds `fund.accounts`, then the escrow through {@link deploy}.
 * @throws {ChainError} BITCDN_ERR_DEPLOY_FAILED if a transaction fails.
 * @example
 * const anvil = await startAnvil()
 * const d = await deployLocal({ rpcUrl: anvil.rpcUrl, fund: { accounts: [alice], amount: 1_000_000_000n } })
 */
export async function deployLocal(params: DeployLocalParams): Promise<Deployment> {
  const deployerKey = params.deployerKey ?? anvilAccounts(1)[0]!.privateKey
  const { publicClient, walletClient, account } = await connect(params.rpcUrl, deployerKey, 50)
  const usdc = await deployTestToken(publicClient, walletClient, account, 'USD Coin (BitCDN test)', 'USDC')
  const usdt =
    params.usdt === false
      ? undefined
      : await deployTestToken(publicClient, walletClient, account, 'Tether USD (BitCDN test)', 'USDT')
  if (params.fund) {
    for (const token of [usdc, ...(usdt ? [usdt] : [])]) {
      for (const to of params.fund.accounts) {
        await send(publicClient, walletClient, account, {
          address: token,
          abi: testTokenAbi,
          functionName: 'mint',
          args: [to, params.fund.amount],
          what: `mint to ${to}`,
        })
      }
    }
  }
  const tokens: Deployment['tokens'] = { USDC: usdc }
  if (usdt) tokens.USDT = usdt
  return deploy({
    rpcUrl: params.rpcUrl,
    deployerKey,
    tokens,
    withdrawDelaySeconds: params.withdrawDelaySeconds ?? 60,
    network: params.network ?? 'local',
    pollingIntervalMs: 50,
  })
}

/**
 * Deploys one `TestStablecoin` and returns its address (tests use it for extra tokens).
 * @throws {ChainError} BITCDN_ERR_DEPLOY_FAILED
 * @example const eurc = await deployTestStablecoin({ rpcUrl, deployerKey, name: 'Euro', symbol: 'EURC' })
 */
export async function deployTestStablecoin(params: {
  rpcUrl: string
  deployerKey?: Hex
  name: string
  symbol: string
}): Promise<Address> {
  const key = params.deployerKey ?? anvilAccounts(1)[0]!.privateKey
  const { publicClient, walletClient, account } = await connect(params.rpcUrl, key, 50)
  return deployTestToken(publicClient, walletClient, account, params.name, params.symbol)
}

// ---------------------------------------------------------------- helpers

interface Connection {
  publicClient: PublicClient
  walletClient: WalletClient<Transport, Chain, Account>
  account: Account
  chainId: number
}

async function connect(rpcUrl: string, key: Hex, pollingInterval: number): Promise<Connection> {
  let account: Account
  try {
    account = privateKeyToAccount(key)
  } catch (err) {
    throw new ChainError('BITCDN_ERR_DEPLOY_FAILED', 'deployer key is not a valid 32-byte hex private key', { cause: err })
  }
  const probe = createPublicClient({ transport: http(rpcUrl, { retryCount: 1 }) })
  let chainId: number
  try {
    chainId = await probe.getChainId()
  } catch (err) {
    throw new ChainError('BITCDN_ERR_DEPLOY_FAILED', `cannot reach RPC ${redact(rpcUrl)}: ${(err as Error).message.split('\n')[0]}`, {
      cause: err,
    })
  }
  const chain = defineChain({
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  })
  const transport = http(rpcUrl)
  const publicClient = createPublicClient({ chain, transport, pollingInterval }) as PublicClient
  const walletClient = createWalletClient({ chain, transport, account, pollingInterval })
  return { publicClient, walletClient, account, chainId }
}

async function deployTestToken(
  publicClient: PublicClient,
  walletClient: WalletClient<Transport, Chain, Account>,
  account: Account,
  name: string,
  symbol: string,
): Promise<Address> {
  const { address } = await deployContract(publicClient, walletClient, account, {
    abi: testTokenAbi,
    bytecode: testTokenBytecode,
    args: [name, symbol],
    what: `TestStablecoin ${symbol}`,
  })
  return address
}

async function deployContract(
  publicClient: PublicClient,
  walletClient: WalletClient<Transport, Chain, Account>,
  account: Account,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  c: { abi: any; bytecode: Hex; args: readonly unknown[]; what: string },
): Promise<{ address: Address; blockNumber: bigint }> {
  try {
    const hash = await walletClient.deployContract({ abi: c.abi, bytecode: c.bytecode, args: c.args, account })
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success' || !receipt.contractAddress) {
      throw new Error(`transaction ${hash} reverted`)
    }
    return { address: getAddress(receipt.contractAddress), blockNumber: receipt.blockNumber }
  } catch (err) {
    if (err instanceof ChainError) throw err
    throw new ChainError('BITCDN_ERR_DEPLOY_FAILED', `deploying ${c.what} failed: ${(err as Error).message.split('\n')[0]}`, {
      cause: err,
    })
  }
}

async function send(
  publicClient: PublicClient,
  walletClient: WalletClient<Transport, Chain, Account>,
  account: Account,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  c: { address: Address; abi: any; functionName: string; args: readonly unknown[]; what: string },
): Promise<void> {
  try {
    const hash = await walletClient.writeContract({
      address: c.address,
      abi: c.abi,
      functionName: c.functionName,
      args: c.args,
      account,
    })
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`)
  } catch (err) {
    throw new ChainError('BITCDN_ERR_DEPLOY_FAILED', `${c.what} failed: ${(err as Error).message.split('\n')[0]}`, {
      cause: err,
    })
  }
}

/** RPC URLs of hosted providers often carry an API key in the path or query; never print it. */
function redact(rpcUrl: string): string {
  try {
    const u = new URL(rpcUrl)
    return u.hostname === '127.0.0.1' || u.hostname === 'localhost' ? rpcUrl : `${u.protocol}//${u.host}/…`
  } catch {
    return '(invalid URL)'
  }
}
