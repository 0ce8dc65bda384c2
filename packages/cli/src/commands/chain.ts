/**
 * `bitcdn chain`: a local settlement chain for development — starts anvil, deploys test USDC/USDT
 * and the BitCDN escrow, funds anvil's dev accounts, writes the deployment file
 * (`$BITCDN_HOME/deployment.json` by default), prints what a developer needs, and runs until Ctrl-C.
 *
 * `bitcdn chain fund ADDRESS`: the local chain's faucet — gas money (anvil_setBalance) and test
 * USDC/USDT (the test token's open `mint`) for a new wallet; refused on any chain but anvil.
 *
 * `bitcdn chain deploy --preset NAME`: deploys the escrow to a real network through the same code,
 * with the preset's USDC/USDT and a withdrawal notice of at least 48 h. The deployer key comes
 * from an encrypted keystore (`--key`, as made by `bitcdn wallet new`) or, for CI, from an
 * environment variable (`--private-key-env`) — never from a flag, so it stays out of shell
 * history and process listings.
 */
import { Command, InvalidArgumentError, Option } from 'commander'
import { createPublicClient, createTestClient, createWalletClient, getAddress, http, isAddress, type Address } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { BitcdnError } from '@bitcdn/core'
import {
  anvilAccounts,
  bitcdnHome,
  chainFailure,
  ChainError,
  findKeystore,
  formatNative,
  formatTokenAmount,
  loadDeployment,
  parseTokenAmount,
  readKeystoreAddress,
  testTokenAbi,
  defaultDeploymentPath,
  keystorePath,
  unlockKeystoreFile,
  deploy,
  deployLocal,
  getPreset,
  presetNames,
  presetRpcUrl,
  startAnvil,
  writeDeployment,
  MIN_PRODUCTION_WITHDRAW_DELAY_SECONDS,
  type Deployment,
} from '@bitcdn/pay'
import { untilInterrupted } from '../interrupt.js'
import { parsePort } from '../option-parsers.js'

/** Options of `bitcdn chain`. */
export interface ChainOptions {
  port: number
  chainId: number
  withdrawDelay: number
  accounts: number
  /** Test USDC (and USDT) minted to each account, in whole tokens. */
  fund: number
  blockTime?: number
  /** Seconds between empty blocks while transactions still mine at once; 0 for none. @default 1 */
  heartbeat?: number
  out: string
}

/** Options of `bitcdn chain deploy`. */
export interface ChainDeployOptions {
  preset: string
  rpcUrl?: string
  /** Keystore name ($BITCDN_HOME/keys/<name>.json, else ~/.foundry/keystores/<name>) holding the deployer key. @default 'default' */
  key?: string
  /** The same as `key` (cast's flag name); wins when both are given. */
  account?: string
  /** Variable holding the keystore passphrase. @default 'BITCDN_PASSPHRASE' */
  passphraseEnv?: string
  /** Variable holding a raw 0x private key instead of a keystore (CI). */
  privateKeyEnv?: string
  withdrawDelay?: number
  admin?: string
  out: string
}

function parseNonNegativeInt(what: string) {
  return (value: string): number => {
    const n = Number(value)
    if (value.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`expected ${what}.`)
    return n
  }
}
function parsePositiveInt(what: string) {
  return (value: string): number => {
    const n = Number(value)
    if (value.trim() === '' || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`expected ${what}.`)
    return n
  }
}

/**
 * Registers `bitcdn chain` and `bitcdn chain deploy`.
 * @example registerChain(program) // bitcdn chain --port 8545 --withdraw-delay 60
 */
export function registerChain(program: Command): void {
  const chain = program
    .command('chain')
    .description('run a local chain (anvil) with test USDC/USDT and the BitCDN escrow deployed; Ctrl-C stops it')
    .addOption(new Option('--port <n>', 'RPC port on 127.0.0.1 (0 picks a free one)').argParser(parsePort).default(8545))
    .addOption(new Option('--chain-id <id>', 'chain id').argParser(parsePositiveInt('a positive chain id')).default(31337))
    .addOption(
      new Option('--withdraw-delay <seconds>', 'notice before payer withdrawals (and signer grace)')
        .argParser(parseNonNegativeInt('a whole number of seconds'))
        .default(60),
    )
    .addOption(new Option('--accounts <n>', 'dev accounts to create and fund').argParser(parsePositiveInt('a positive count')).default(10))
    .addOption(new Option('--fund <tokens>', 'test USDC and USDT minted to each account, in whole tokens').argParser(parseNonNegativeInt('a whole token amount')).default(10_000))
    .addOption(new Option('--block-time <seconds>', 'mine only on an interval: transactions wait for the next block (overrides --heartbeat)').argParser(parsePositiveInt('a positive number of seconds')))
    .addOption(
      new Option('--heartbeat <seconds>', 'mine each transaction at once and also an empty block every <seconds>, so claims gain confirmations on an idle chain (0: only per transaction)')
        .argParser(parseNonNegativeInt('a whole number of seconds'))
        .default(1),
    )
    .option('--out <file>', 'where to write the deployment file', defaultDeploymentPath())
    .addHelpText(
      'after',
      '\nThe dev accounts are anvil\'s well-known test keys: never send real money to them.\n\nExamples:\n  bitcdn chain\n  bitcdn chain --port 8546 --withdraw-delay 30 --accounts 4 --out ./deployment.json\n  bitcdn chain deploy --preset base-sepolia --rpc-url https://sepolia.base.org',
    )
    .action(async (opts: ChainOptions) => {
      await runLocalChain(opts, untilInterrupted())
    })

  chain
    .command('fund')
    .description('local chain only: give an address (or a key by name) gas money and test tokens')
    .argument('<address|key>', 'an address, or the name of a key (see `bitcdn wallet list`)')
    .option('--eth <n>', 'native currency (gas) to add', '10')
    .option('--usdc <n>', 'test USDC to mint', '1000')
    .option('--usdt <n>', 'test USDT to mint', '0')
    .option('--deployment <file>', 'deployment file (default: $BITCDN_HOME/deployment.json)')
    .option('--rpc-url <url>', "RPC endpoint (default: the deployment file's)")
    .addHelpText('after', '\nRefused on any chain but a local anvil (real networks have no faucet here).\n\nExamples:\n  bitcdn chain fund 0x70997970C51812dc3A010C7d01b50e0d17dc79C8\n  bitcdn chain fund default --eth 1 --usdc 250')
    .action(async (who: string, opts: ChainFundOptions) => {
      await runChainFund(who, opts)
    })

  chain
    .command('deploy')
    .description('deploy the BitCDN escrow to a real network preset (USDC/USDT, ≥ 48 h withdrawal notice)')
    .addOption(new Option('--preset <name>', 'network').choices(presetNames).makeOptionMandatory())
    .option('--rpc-url <url>', 'JSON-RPC endpoint (default: the preset\'s BITCDN_RPC_URL_* variable)')
    .option('--key <name>', 'deployer keystore: $BITCDN_HOME/keys/<name>.json or ~/.foundry/keystores/<name> (see `bitcdn wallet new`)', 'default')
    .option('--account <name>', 'the same as --key (as in cast)')
    .option('--passphrase-env <VAR>', 'environment variable holding the keystore passphrase (else a prompt)', 'BITCDN_PASSPHRASE')
    .option('--private-key-env <VAR>', 'instead of a keystore: environment variable holding a raw 0x private key (CI)')
    .addOption(
      new Option('--withdraw-delay <seconds>', `withdrawal notice, at least ${MIN_PRODUCTION_WITHDRAW_DELAY_SECONDS} (48 h)`).argParser(
        parseNonNegativeInt('a whole number of seconds'),
      ),
    )
    .option('--admin <address>', 'escrow admin (may only open/close tokens); default: the deployer')
    .option('--out <file>', 'where to write the deployment file', defaultDeploymentPath())
    .addHelpText(
      'after',
      '\nExamples:\n  bitcdn chain deploy --preset base-sepolia --rpc-url https://sepolia.base.org --key deployer\n  DEPLOYER_KEY=0x... bitcdn chain deploy --preset base-sepolia --private-key-env DEPLOYER_KEY',
    )
    .action(async (opts: ChainDeployOptions) => {
      await runPresetDeploy(opts)
    })
}

/** Options of `bitcdn chain fund`. */
export interface ChainFundOptions {
  eth: string
  usdc: string
  usdt: string
  deployment?: string
  rpcUrl?: string
}

/**
 * The dev faucet: adds `--eth` to the address's native balance and mints `--usdc`/`--usdt` test
 * tokens to it, on a local anvil only.
 * @throws {BitcdnError} BITCDN_ERR_FAUCET_NOT_LOCAL on any other chain, BITCDN_ERR_RPC_UNREACHABLE,
 *   BITCDN_ERR_ADDRESS_INVALID, BITCDN_ERR_AMOUNT_INVALID
 * @example await runChainFund('0x7099…79C8', { eth: '10', usdc: '1000', usdt: '0' })
 */
export async function runChainFund(who: string, opts: ChainFundOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const address = await resolveAddress(who)
  const eth = parseAmount(opts.eth, 18, '--eth')
  const usdc = parseAmount(opts.usdc, 6, '--usdc')
  const usdt = parseAmount(opts.usdt, 6, '--usdt')
  const deployment = await loadDeployment(opts.deployment ?? defaultDeploymentPath())
  const rpcUrl = opts.rpcUrl ?? deployment.rpcUrl
  const transport = http(rpcUrl, { retryCount: 0 })
  const client = createPublicClient({ transport, pollingInterval: 250 })
  const failure = (err: unknown) => chainFailure(err, { rpcUrl, what: 'funding', unreachableHint: 'is the local chain running? start it with `bitcdn chain`' })
  const version = await client.request({ method: 'web3_clientVersion' }).catch((err) => {
    throw failure(err)
  })
  if (!/^anvil\//i.test(String(version))) {
    throw new ChainError('BITCDN_ERR_FAUCET_NOT_LOCAL', `bitcdn chain fund works only on a local anvil chain; ${rpcUrl} is ${String(version)} (chain ${deployment.chainId}): fund this wallet from an exchange or a faucet for that network`)
  }
  try {
    const before = await client.getBalance({ address })
    if (eth > 0n) await createTestClient({ mode: 'anvil', transport }).setBalance({ address, value: before + eth })
    // the test tokens' mint is open to anyone; anvil's first dev account pays the gas
    const minter = createWalletClient({ transport, account: privateKeyToAccount(anvilAccounts(1)[0]!.privateKey), chain: { id: deployment.chainId, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } } })
    const minted: string[] = []
    for (const [symbol, amount] of [['USDC', usdc], ['USDT', usdt]] as const) {
      if (amount === 0n) continue
      const token = deployment.tokens[symbol]
      if (!token) throw new BitcdnError('BITCDN_ERR_TOKEN_UNKNOWN', `the deployment has no ${symbol}`)
      const hash = await minter.writeContract({ address: token, abi: testTokenAbi, functionName: 'mint', args: [address, amount] })
      await client.waitForTransactionReceipt({ hash })
      minted.push(`${formatTokenAmount(amount, 6)} ${symbol}`)
    }
    const now = await client.getBalance({ address })
    const usdcNow = await client.readContract({ address: deployment.tokens.USDC, abi: testTokenAbi, functionName: 'balanceOf', args: [address] })
    out.write(`funded ${address}: +${formatNative(eth)}${minted.length ? `, +${minted.join(', +')}` : ''} (now ${formatNative(now)}, ${formatTokenAmount(usdcNow, 6)} USDC)\n`)
  } catch (err) {
    throw failure(err)
  }
}

async function resolveAddress(who: string): Promise<Address> {
  if (isAddress(who, { strict: false })) return getAddress(who)
  if (/^0x/i.test(who)) throw new BitcdnError('BITCDN_ERR_ADDRESS_INVALID', `'${who}' is not a valid address`)
  return readKeystoreAddress(await findKeystore(bitcdnHome(), who))
}

function parseAmount(text: string, decimals: number, flag: string): bigint {
  try {
    return parseTokenAmount(text, decimals, { allowZero: true })
  } catch (err) {
    throw new BitcdnError('BITCDN_ERR_AMOUNT_INVALID', `${flag}: ${(err as Error).message}`)
  }
}

/**
 * Starts anvil, deploys, writes the deployment file, prints a summary, and keeps running until
 * `until` resolves; then stops anvil.
 * @throws {BitcdnError} BITCDN_ERR_ANVIL_START, BITCDN_ERR_DEPLOY_FAILED
 * @example await runLocalChain({ ...opts }, untilInterrupted())
 */
export async function runLocalChain(
  opts: ChainOptions,
  until: Promise<unknown>,
  out: NodeJS.WritableStream = process.stdout,
): Promise<Deployment> {
  const anvil = await startAnvil({
    port: opts.port,
    chainId: opts.chainId,
    accounts: opts.accounts,
    // a node counts a claim once it is `confirmations` deep: per-transaction mining alone would
    // leave the last claim of an idle chain pending forever, so a heartbeat block ticks by default
    ...(opts.blockTime !== undefined ? { blockTime: opts.blockTime } : (opts.heartbeat ?? 1) > 0 ? { blockTime: opts.heartbeat ?? 1, mixedMining: true } : {}),
  })
  try {
    const accounts = anvilAccounts(opts.accounts)
    const amount = BigInt(opts.fund) * 1_000_000n
    const deployment = await deployLocal({
      rpcUrl: anvil.rpcUrl,
      withdrawDelaySeconds: opts.withdrawDelay,
      ...(amount > 0n ? { fund: { accounts: accounts.map((a) => a.address), amount } } : {}),
    })
    await writeDeployment(opts.out, deployment)
    out.write(
      [
        `chain      ${deployment.chainId} (anvil, pid ${anvil.pid})`,
        `rpc        ${deployment.rpcUrl}`,
        `escrow     ${deployment.escrow}`,
        `USDC       ${deployment.tokens.USDC}  (test token, 6 decimals)`,
        ...(deployment.tokens.USDT ? [`USDT       ${deployment.tokens.USDT}  (test token, 6 decimals)`] : []),
        `withdraw   ${deployment.withdrawDelaySeconds} s notice`,
        `deployment ${opts.out}`,
        '',
        `funded accounts (${opts.fund} USDC + ${opts.fund} USDT and 10000 ETH each; anvil's public test keys):`,
        ...accounts.map((a, i) => `  (${i}) ${a.address}  ${a.privateKey}`),
        '',
        'next: use a funded dev key:  bitcdn wallet import --key dev0   (paste key (0) above at the prompt)',
        '      or fund a new wallet:  bitcdn wallet new && bitcdn chain fund default',
        '',
        'Ctrl-C stops the chain (its state is not kept).',
        '',
      ].join('\n'),
    )
    await until
    process.stderr.write('stopping chain\n')
    return deployment
  } finally {
    await anvil.stop()
  }
}

/**
 * Deploys the escrow to a preset network and writes the deployment file.
 * @throws {BitcdnError} BITCDN_ERR_PRESET_UNKNOWN, BITCDN_ERR_PRESET_INVALID, BITCDN_ERR_DEPLOY_FAILED,
 *   BITCDN_ERR_KEYSTORE_* (keystore missing, bad passphrase)
 * @example await runPresetDeploy({ preset: 'base-sepolia', key: 'deployer', out })
 */
export async function runPresetDeploy(
  opts: ChainDeployOptions,
  env: NodeJS.ProcessEnv = process.env,
  out: NodeJS.WritableStream = process.stdout,
): Promise<Deployment> {
  const preset = getPreset(opts.preset)
  const rpcUrl = presetRpcUrl(preset, opts.rpcUrl, env)
  const key = await deployerKey(opts, env)
  if (opts.admin !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(opts.admin)) {
    throw new BitcdnError('BITCDN_ERR_PRESET_INVALID', `--admin ${opts.admin} is not an address`)
  }
  const deployment = await deploy({
    preset,
    rpcUrl,
    deployerKey: key,
    ...(opts.withdrawDelay !== undefined ? { withdrawDelaySeconds: opts.withdrawDelay } : {}),
    ...(opts.admin ? { admin: opts.admin as `0x${string}` } : {}),
  })
  await writeDeployment(opts.out, deployment)
  out.write(
    [
      `network    ${preset.label} (chain ${deployment.chainId})`,
      `escrow     ${deployment.escrow}  (block ${deployment.deployedAtBlock})`,
      `USDC       ${deployment.tokens.USDC}`,
      ...(deployment.tokens.USDT ? [`USDT       ${deployment.tokens.USDT}`] : []),
      `withdraw   ${deployment.withdrawDelaySeconds} s notice`,
      `deployment ${opts.out}`,
      '',
    ].join('\n'),
  )
  return deployment
}

/** The deployer key: from `--private-key-env` if given, else the keystore `--key` (B's keystore format). */
async function deployerKey(opts: ChainDeployOptions, env: NodeJS.ProcessEnv): Promise<`0x${string}`> {
  if (opts.privateKeyEnv !== undefined) {
    const key = env[opts.privateKeyEnv]?.trim()
    if (!key || !/^0x[0-9a-fA-F]{64}$/.test(key)) {
      throw new BitcdnError(
        'BITCDN_ERR_PRESET_INVALID',
        `set ${opts.privateKeyEnv} to the deployer's 0x-prefixed 32-byte private key, or use a keystore with --key`,
      )
    }
    return key as `0x${string}`
  }
  const file = await findKeystore(bitcdnHome(env), opts.account ?? opts.key ?? 'default', env)
  return (await unlockKeystoreFile(file, { envVar: opts.passphraseEnv ?? 'BITCDN_PASSPHRASE', env })).privateKey
}
