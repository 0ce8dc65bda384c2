/**
 * `bitcdn wallet`: the operator's key and escrow account. Keys live encrypted in
 * `$BITCDN_HOME/keys/<name>.json` (Web3 Secret Storage v3, mode 0600); the passphrase comes from
 * `$BITCDN_PASSPHRASE` (or the variable named by `--passphrase-env`) or a terminal prompt, never
 * a flag. Amounts are human units ("12.5" = 12.5 USDC) and exact. Chain and escrow come from the
 * deployment file (`$BITCDN_HOME/deployment.json`, or `--deployment FILE`).
 */
import { join } from 'node:path'
import { Command, Option } from 'commander'
import { createPublicClient, createWalletClient, defineChain, getAddress, http, isAddress, type Address, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { BitcdnError, describeError } from '@bitcdn/core'
import {
  bitcdnHome,
  createCashout,
  createPayeeLedger,
  defaultDeploymentPath,
  escrowAbi,
  formatTokenAmount,
  keystorePath,
  loadDeployment,
  parseTokenAmount,
  readKeystoreAddress,
  readKeystoreFile,
  resolvePassphrase,
  testTokenAbi,
  writeKeystoreFile,
  type Deployment,
} from '@bitcdn/pay'

/** Options every wallet subcommand takes. */
interface WalletOptions {
  key: string
  deployment?: string
  passphraseEnv: string
  token: string
  rpcUrl?: string
}

const DECIMALS = 6

function addCommon(cmd: Command, { chain = true }: { chain?: boolean } = {}): Command {
  cmd.addOption(new Option('--key <name>', 'key name: $BITCDN_HOME/keys/<name>.json').default('default'))
  cmd.addOption(new Option('--passphrase-env <var>', 'environment variable holding the passphrase').default('BITCDN_PASSPHRASE'))
  if (chain) {
    cmd.addOption(new Option('--deployment <file>', 'deployment file (default: $BITCDN_HOME/deployment.json)'))
    cmd.addOption(new Option('--token <symbol>', 'token: USDC or USDT').default('USDC'))
    cmd.addOption(new Option('--rpc-url <url>', 'RPC endpoint (default: the deployment file\'s)'))
  }
  return cmd
}

function out(line: string): void {
  process.stdout.write(`${line}\n`)
}

async function context(opts: WalletOptions) {
  const deployment: Deployment = await loadDeployment(opts.deployment ?? defaultDeploymentPath())
  const symbol = opts.token.toUpperCase()
  const token = deployment.tokens[symbol as keyof Deployment['tokens']]
  if (!token) {
    throw new BitcdnError('BITCDN_ERR_TOKEN_UNKNOWN', `token '${opts.token}' is not in the deployment (has: ${Object.keys(deployment.tokens).join(', ')})`)
  }
  const rpcUrl = opts.rpcUrl ?? deployment.rpcUrl
  const chain = defineChain({
    id: deployment.chainId,
    name: deployment.network,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  })
  const publicClient = createPublicClient({ chain, transport: http(rpcUrl), pollingInterval: 250 })
  return { deployment, token, symbol, chain, rpcUrl, publicClient }
}

async function unlock(opts: WalletOptions): Promise<{ privateKey: Hex; address: Address }> {
  const file = keystorePath(bitcdnHome(), opts.key)
  const passphrase = await resolvePassphrase({ envVar: opts.passphraseEnv })
  return readKeystoreFile(file, passphrase)
}

async function signerContext(opts: WalletOptions) {
  const ctx = await context(opts)
  const { privateKey } = await unlock(opts)
  const account = privateKeyToAccount(privateKey)
  const walletClient = createWalletClient({ chain: ctx.chain, transport: http(ctx.rpcUrl), account })
  /** Sends one escrow/token call and waits for it; a revert becomes a one-line error. */
  const send = async (what: string, req: Parameters<typeof walletClient.writeContract>[0]): Promise<Hex> => {
    let hash: Hex
    try {
      hash = await walletClient.writeContract(req)
    } catch (cause) {
      const short = (cause as { shortMessage?: string }).shortMessage ?? describeError(cause)
      throw new BitcdnError('BITCDN_ERR_TX_FAILED', `${what} failed: ${short}`, { cause })
    }
    const receipt = await ctx.publicClient.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw new BitcdnError('BITCDN_ERR_TX_FAILED', `${what} reverted (tx ${hash})`)
    return hash
  }
  return { ...ctx, account, walletClient, send }
}

const amountArg = (value: string) => value // validated in the action, so the error names the token's decimals

/**
 * Registers `bitcdn wallet` and its subcommands.
 * @example registerWallet(program) // bitcdn wallet deposit 12.5 --token USDC
 */
export function registerWallet(program: Command): void {
  const wallet = program.command('wallet').description('your key and your escrow account: deposit, withdraw, signer, claim earnings')

  addCommon(
    wallet
      .command('new')
      .description('create a new key, encrypted with your passphrase, at $BITCDN_HOME/keys/<name>.json')
      .addOption(new Option('--scrypt-n <n>', 'scrypt cost (power of two); lower is faster and weaker').default('262144')),
    { chain: false },
  ).action(async (opts: WalletOptions & { scryptN: string }) => {
    const n = Number(opts.scryptN)
    if (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0) throw new BitcdnError('BITCDN_ERR_KEYSTORE_INVALID', '--scrypt-n must be a power of two')
    const file = keystorePath(bitcdnHome(), opts.key)
    const passphrase = await resolvePassphrase({ envVar: opts.passphraseEnv, confirm: true })
    const pk = generatePrivateKey()
    await writeKeystoreFile(file, pk, passphrase, { scryptN: n })
    out(`address  ${privateKeyToAccount(pk).address}`)
    out(`keystore ${file}`)
  })

  addCommon(wallet.command('show').description('print the address of a key (no passphrase needed)'), { chain: false }).action(
    async (opts: WalletOptions) => {
      const file = keystorePath(bitcdnHome(), opts.key)
      out(`address  ${await readKeystoreAddress(file)}`)
      out(`keystore ${file}`)
    },
  )

  addCommon(wallet.command('balance').description('token balance, escrow balance, pending withdrawal, earnings and signer')).action(
    async (opts: WalletOptions) => {
      const ctx = await context(opts)
      const who = await readKeystoreAddress(keystorePath(bitcdnHome(), opts.key))
      const read = <T>(p: Promise<T>) => p
      const [wallet, free, pending, earned, signer] = await Promise.all([
        read(ctx.publicClient.readContract({ address: ctx.token, abi: testTokenAbi, functionName: 'balanceOf', args: [who] })),
        ctx.publicClient.readContract({ address: ctx.deployment.escrow, abi: escrowAbi, functionName: 'balanceOf', args: [who, ctx.token] }),
        ctx.publicClient.readContract({ address: ctx.deployment.escrow, abi: escrowAbi, functionName: 'pendingWithdrawal', args: [who, ctx.token] }),
        ctx.publicClient.readContract({ address: ctx.deployment.escrow, abi: escrowAbi, functionName: 'earnings', args: [who, ctx.token] }),
        ctx.publicClient.readContract({ address: ctx.deployment.escrow, abi: escrowAbi, functionName: 'signerOf', args: [who] }),
      ])
      const f = (u: bigint) => `${formatTokenAmount(u, DECIMALS)} ${ctx.symbol}`
      out(`address             ${who}`)
      out(`wallet              ${f(wallet)}`)
      out(`escrow free         ${f(free)}`)
      out(`pending withdrawal  ${f(pending[0])}${pending[0] > 0n ? ` (ready at ${new Date(Number(pending[1]) * 1000).toISOString()})` : ''}`)
      out(`earnings            ${f(earned)}`)
      out(`signer              ${signer[0] === '0x0000000000000000000000000000000000000000' ? '(the key itself)' : signer[0]}`)
    },
  )

  addCommon(
    wallet.command('deposit').description('approve and deposit tokens into the escrow (e.g. deposit 12.5)').argument('<amount>', 'amount in tokens, up to 6 decimals', amountArg),
  ).action(async (amountText: string, opts: WalletOptions) => {
    const amount = parseTokenAmount(amountText, DECIMALS)
    const ctx = await signerContext(opts)
    const base = { account: ctx.account, chain: ctx.chain }
    await ctx.send('approve', { ...base, address: ctx.token, abi: testTokenAbi, functionName: 'approve', args: [ctx.deployment.escrow, amount] })
    const tx = await ctx.send('deposit', { ...base, address: ctx.deployment.escrow, abi: escrowAbi, functionName: 'deposit', args: [ctx.token, amount] })
    out(`deposited ${formatTokenAmount(amount, DECIMALS)} ${ctx.symbol} (tx ${tx})`)
  })

  const withdraw = wallet.command('withdraw').description('take deposited funds back out (after the withdrawal notice)')
  addCommon(
    withdraw
      .command('request')
      .description('announce a withdrawal; it can be finalized after the notice period')
      .argument('<amount>', 'amount in tokens, up to 6 decimals', amountArg),
  ).action(async (amountText: string, opts: WalletOptions) => {
    const amount = parseTokenAmount(amountText, DECIMALS)
    const ctx = await signerContext(opts)
    const tx = await ctx.send('requestWithdraw', {
      account: ctx.account,
      chain: ctx.chain,
      address: ctx.deployment.escrow,
      abi: escrowAbi,
      functionName: 'requestWithdraw',
      args: [ctx.token, amount],
    })
    const [, readyAt] = await ctx.publicClient.readContract({ address: ctx.deployment.escrow, abi: escrowAbi, functionName: 'pendingWithdrawal', args: [ctx.account.address, ctx.token] })
    out(`withdrawal of ${formatTokenAmount(amount, DECIMALS)} ${ctx.symbol} requested; ready at ${new Date(Number(readyAt) * 1000).toISOString()} (tx ${tx})`)
  })
  for (const [name, fn, desc] of [
    ['finalize', 'finalizeWithdraw', 'pay out a requested withdrawal once its notice has passed'],
    ['cancel', 'cancelWithdraw', 'cancel a requested withdrawal'],
  ] as const) {
    addCommon(withdraw.command(name).description(desc)).action(async (opts: WalletOptions) => {
      const ctx = await signerContext(opts)
      const tx = await ctx.send(fn, { account: ctx.account, chain: ctx.chain, address: ctx.deployment.escrow, abi: escrowAbi, functionName: fn, args: [ctx.token] })
      out(`withdrawal ${name === 'finalize' ? 'finalized' : 'cancelled'} (tx ${tx})`)
    })
  }

  addCommon(
    wallet
      .command('set-signer')
      .description('delegate cheque signing to another key (the previous one stays valid for the withdrawal notice)')
      .argument('<address>', 'the new signer address'),
  ).action(async (signerText: string, opts: WalletOptions) => {
    if (!isAddress(signerText)) throw new BitcdnError('BITCDN_ERR_ADDRESS_INVALID', `'${signerText}' is not a valid address`)
    const signer = getAddress(signerText)
    const ctx = await signerContext(opts)
    const tx = await ctx.send('setSigner', { account: ctx.account, chain: ctx.chain, address: ctx.deployment.escrow, abi: escrowAbi, functionName: 'setSigner', args: [signer] })
    out(`signer set to ${signer} (tx ${tx})`)
  })

  addCommon(
    wallet
      .command('claim')
      .description('claim every unsettled cheque in your ledger and withdraw the earnings to your wallet')
      .addOption(new Option('--ledger <file>', 'payee ledger (default: $BITCDN_HOME/ledger.db)'))
      .addOption(new Option('--confirmations <n>', 'blocks to wait before a claim counts').default('1')),
  ).action(async (opts: WalletOptions & { ledger?: string; confirmations: string }) => {
    const ctx = await signerContext(opts)
    const confirmations = Number(opts.confirmations)
    if (!Number.isInteger(confirmations) || confirmations < 1) throw new BitcdnError('BITCDN_ERR_AMOUNT_INVALID', '--confirmations must be a positive integer')
    const ledger = createPayeeLedger({
      dbPath: opts.ledger ?? join(bitcdnHome(), 'ledger.db'),
      payee: ctx.account.address,
      domain: { chainId: ctx.deployment.chainId, verifyingContract: ctx.deployment.escrow },
    })
    try {
      const cashout = createCashout({ escrow: ctx.deployment.escrow, thresholdUnits: 1n, confirmations, watchWithdrawals: false })({
        ledger,
        walletClient: ctx.walletClient,
        publicClient: ctx.publicClient,
      })
      const owed = ledger.exposure(ctx.token)
      let withdrawn = 0n
      let claims = 0
      // claim, then wait block by block for the confirmations, then withdraw
      for (let i = 0; i < 120; i++) {
        const t = await cashout.tick()
        claims += t.sent.length
        withdrawn += t.withdrawn.filter((w) => w.token === ctx.token).reduce((s, w) => s + w.amount, 0n)
        if (ledger.pendingTxs().length === 0 && t.sent.length === 0) break
        await new Promise((r) => setTimeout(r, 500))
      }
      out(`claimed ${formatTokenAmount(owed, DECIMALS)} ${ctx.symbol} in ${claims} transaction(s); withdrew ${formatTokenAmount(withdrawn, DECIMALS)} ${ctx.symbol}`)
    } finally {
      ledger.close()
    }
  })
}
