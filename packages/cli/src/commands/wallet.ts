/**
 * `bitcdn wallet`: the operator's key and escrow account. Keys live encrypted in
 * `$BITCDN_HOME/keys/<name>.json` (Web3 Secret Storage v3, mode 0600; `--key`/`--account NAME`
 * also finds Foundry's `~/.foundry/keystores/NAME`); the passphrase comes from
 * `$BITCDN_PASSPHRASE` (or the variable named by `--passphrase-env`) or a terminal prompt, never
 * a flag. Amounts are human units ("12.5" = 12.5 USDC) and exact. Chain and escrow come from the
 * deployment file (`$BITCDN_HOME/deployment.json`, or `--deployment FILE`). Every chain failure is
 * one line with a code (`chainFailure`): an unreachable RPC names its URL, a revert reads as the
 * contract's error in words.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Command, Option } from 'commander'
import { createWalletClient, getAddress, isAddress, type Address, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { BitcdnError } from '@bitcdn/core'
import {
  bitcdnHome,
  findKeystore,
  formatNative,
  listKeystores,
  parsePrivateKey,
  promptHidden,
  ChainError,
  createCashout,
  createPayeeLedger,
  escrowAbi,
  formatTokenAmount,
  keystorePath,
  parseTokenAmount,
  readKeystoreAddress,
  unlockKeystoreFile,
  resolvePassphrase,
  testTokenAbi,
  writeKeystoreFile,
} from '@bitcdn/pay'
import { addChainOptions, connectCliChain, TOKEN_DECIMALS } from '../chain-context.js'
import { registerAllocationCommands } from './wallet-allocation.js'
import { parseScryptN, SCRYPT_N_HELP } from '../option-parsers.js'

/** Options every wallet subcommand takes. */
interface WalletOptions {
  key: string
  account?: string
  deployment?: string
  passphraseEnv: string
  token: string
  rpcUrl?: string
}

const DECIMALS = TOKEN_DECIMALS

function addCommon(cmd: Command, { chain = true }: { chain?: boolean } = {}): Command {
  cmd.addOption(new Option('--key <name>', 'key name: $BITCDN_HOME/keys/<name>.json (or ~/.foundry/keystores/<name>)').default('default'))
  cmd.addOption(new Option('--account <name>', 'the same as --key (as in cast)'))
  cmd.addOption(new Option('--passphrase-env <var>', 'environment variable holding the passphrase').default('BITCDN_PASSPHRASE'))
  if (chain) addChainOptions(cmd)
  return cmd
}

function out(line: string): void {
  process.stdout.write(`${line}\n`)
}

/** The key name from `--account` or `--key`. */
const keyName = (opts: WalletOptions): string => opts.account ?? opts.key

const context = (opts: WalletOptions) => connectCliChain(opts)

async function keyFile(opts: WalletOptions): Promise<string> {
  return findKeystore(bitcdnHome(), keyName(opts))
}

async function unlock(opts: WalletOptions): Promise<{ privateKey: Hex; address: Address }> {
  const file = await keyFile(opts)
  return unlockKeystoreFile(file, { envVar: opts.passphraseEnv })
}

async function signerContext(opts: WalletOptions) {
  const ctx = await context(opts)
  const { privateKey } = await unlock(opts)
  const account = privateKeyToAccount(privateKey)
  const walletClient = createWalletClient({ chain: ctx.chain, transport: ctx.transport, account })
  /** Sends one escrow/token call and waits for it; any failure becomes a one-line error. */
  const send = async (what: string, req: Parameters<typeof walletClient.writeContract>[0]): Promise<Hex> => {
    try {
      const hash = await walletClient.writeContract(req)
      const receipt = await ctx.publicClient.waitForTransactionReceipt({ hash })
      if (receipt.status !== 'success') throw new ChainError('BITCDN_ERR_TX_REVERTED', `${what} reverted on-chain (tx ${hash})`)
      return hash
    } catch (err) {
      throw ctx.failure(err, what, account.address)
    }
  }
  return { ...ctx, account, walletClient, send }
}

/** Reads the private key to import: from `file`, else a prompt with echo off. */
async function privateKeyToImport(file: string | undefined): Promise<Hex> {
  if (file !== undefined) {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      throw new BitcdnError('BITCDN_ERR_KEYSTORE_NOT_FOUND', `cannot read the key file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
    }
    return parsePrivateKey(text)
  }
  if (!process.stdin.isTTY) {
    throw new BitcdnError('BITCDN_ERR_KEYSTORE_INVALID', 'no private key: give --from-file FILE, or run in a terminal to type it (echo off)')
  }
  return parsePrivateKey(await promptHidden('Private key (hex, not shown): '))
}

const amountArg = (value: string) => value // validated in the action, so the error names the token's decimals

/**
 * Registers `bitcdn wallet` and its subcommands.
 * @example registerWallet(program) // bitcdn wallet deposit 12.5 --token USDC
 */
export function registerWallet(program: Command): void {
  const wallet = program.command('wallet').description('your key and your escrow account: deposit, withdraw, allocate to sellers, signer, claim earnings')

  addCommon(
    wallet
      .command('new')
      .description('create a new key, encrypted with your passphrase, at $BITCDN_HOME/keys/<name>.json')
      .addOption(new Option('--scrypt-n <n>', SCRYPT_N_HELP).default('262144')),
    { chain: false },
  ).action(async (opts: WalletOptions & { scryptN: string }) => {
    const n = parseScryptN(opts.scryptN)
    const file = keystorePath(bitcdnHome(), keyName(opts))
    const passphrase = await resolvePassphrase({ envVar: opts.passphraseEnv, confirm: true })
    const pk = generatePrivateKey()
    await writeKeystoreFile(file, pk, passphrase, { scryptN: n })
    out(`address  ${privateKeyToAccount(pk).address}`)
    out(`keystore ${file}`)
  })

  addCommon(
    wallet
      .command('import')
      .description('encrypt an existing private key (typed with echo off, or read from a file) into $BITCDN_HOME/keys/<name>.json')
      .addOption(new Option('--from-file <file>', 'read the key (64 hex digits, optional 0x) from this file instead of a prompt'))
      .addOption(new Option('--scrypt-n <n>', SCRYPT_N_HELP).default('262144'))
      .addHelpText('after', '\nThe key is never echoed, printed or logged; only the encrypted keystore is written.\n\nExamples:\n  bitcdn wallet import --key dev0\n  bitcdn wallet import --key ci --from-file ./key.txt'),
    { chain: false },
  ).action(async (opts: WalletOptions & { scryptN: string; fromFile?: string }) => {
    const n = parseScryptN(opts.scryptN)
    const file = keystorePath(bitcdnHome(), keyName(opts))
    const pk = await privateKeyToImport(opts.fromFile)
    const passphrase = await resolvePassphrase({ envVar: opts.passphraseEnv, confirm: true })
    await writeKeystoreFile(file, pk, passphrase, { scryptN: n })
    out(`address  ${privateKeyToAccount(pk).address}`)
    out(`keystore ${file}`)
  })

  wallet
    .command('list')
    .description('the keys --key/--account can name: $BITCDN_HOME/keys and ~/.foundry/keystores (no passphrase needed)')
    .action(async () => {
      const keys = await listKeystores(bitcdnHome())
      if (keys.length === 0) out('no keys yet: bitcdn wallet new, or bitcdn wallet import')
      for (const k of keys) {
        const address = await readKeystoreAddress(k.file).catch(() => '(no address in file)')
        out(`${k.name.padEnd(16)} ${address}  ${k.file}`)
      }
    })

  addCommon(wallet.command('show').description('print the address of a key (no passphrase needed)'), { chain: false }).action(
    async (opts: WalletOptions) => {
      const file = await keyFile(opts)
      out(`address  ${await readKeystoreAddress(file)}`)
      out(`keystore ${file}`)
    },
  )

  addCommon(wallet.command('balance').description('gas balance, token balance, escrow balance, pending withdrawal, earnings and signer')).action(
    async (opts: WalletOptions) => {
      const ctx = await context(opts)
      const who = await readKeystoreAddress(await keyFile(opts))
      const { publicClient: c, deployment: d, token } = ctx
      const [gas, wallet, free, pending, earned, signer] = await Promise.all([
        c.getBalance({ address: who }),
        c.readContract({ address: token, abi: testTokenAbi, functionName: 'balanceOf', args: [who] }),
        c.readContract({ address: d.escrow, abi: escrowAbi, functionName: 'balanceOf', args: [who, token] }),
        c.readContract({ address: d.escrow, abi: escrowAbi, functionName: 'pendingWithdrawal', args: [who, token] }),
        c.readContract({ address: d.escrow, abi: escrowAbi, functionName: 'earnings', args: [who, token] }),
        c.readContract({ address: d.escrow, abi: escrowAbi, functionName: 'signerOf', args: [who] }),
      ]).catch((err) => {
        throw ctx.failure(err, 'reading balances', who)
      })
      const f = (u: bigint) => `${formatTokenAmount(u, DECIMALS)} ${ctx.symbol}`
      out(`address             ${who}`)
      // gas to 6 decimals (display only; the wei amount is on-chain)
      out(`gas                 ${formatNative((gas / 10n ** 12n) * 10n ** 12n)}${gas === 0n ? '  (none: transactions will fail; on the local chain run `bitcdn chain fund ' + who + '`)' : ''}`)
      out(`wallet              ${f(wallet)}`)
      out(`escrow free         ${f(free)}${pending[0] > 0n ? ` (includes the ${f(pending[0])} requested for withdrawal)` : ''}`)
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
    const tx = await ctx.send('withdrawal request', {
      account: ctx.account,
      chain: ctx.chain,
      address: ctx.deployment.escrow,
      abi: escrowAbi,
      functionName: 'requestWithdraw',
      args: [ctx.token, amount],
    })
    const [, readyAt] = await ctx.publicClient
      .readContract({ address: ctx.deployment.escrow, abi: escrowAbi, functionName: 'pendingWithdrawal', args: [ctx.account.address, ctx.token] })
      .catch((err) => {
        throw ctx.failure(err, 'reading the withdrawal', ctx.account.address)
      })
    out(`withdrawal of ${formatTokenAmount(amount, DECIMALS)} ${ctx.symbol} requested; ready at ${new Date(Number(readyAt) * 1000).toISOString()} (tx ${tx})`)
  })
  for (const [name, fn, what, desc] of [
    ['finalize', 'finalizeWithdraw', 'withdrawal finalization', 'pay out a requested withdrawal once its notice has passed'],
    ['cancel', 'cancelWithdraw', 'withdrawal cancellation', 'cancel a requested withdrawal'],
  ] as const) {
    addCommon(withdraw.command(name).description(desc)).action(async (opts: WalletOptions) => {
      const ctx = await signerContext(opts)
      const tx = await ctx.send(what, { account: ctx.account, chain: ctx.chain, address: ctx.deployment.escrow, abi: escrowAbi, functionName: fn, args: [ctx.token] })
      out(`withdrawal ${name === 'finalize' ? 'finalized' : 'cancelled'} (tx ${tx})`)
    })
  }

  registerAllocationCommands<WalletOptions>(wallet, {
    addCommon: (cmd) => addCommon(cmd),
    context,
    signerContext: signerContext as never,
    address: async (opts) => readKeystoreAddress(await keyFile(opts)),
    out,
    decimals: DECIMALS,
  })

  addCommon(
    wallet
      .command('set-signer')
      .description('delegate cheque signing to another key (the previous one stays valid for the withdrawal notice)')
      .argument('<address>', 'the new signer address'),
  ).action(async (signerText: string, opts: WalletOptions) => {
    if (!isAddress(signerText)) throw new BitcdnError('BITCDN_ERR_ADDRESS_INVALID', `'${signerText}' is not a valid address`)
    const signer = getAddress(signerText)
    const ctx = await signerContext(opts)
    const tx = await ctx.send('signer change', { account: ctx.account, chain: ctx.chain, address: ctx.deployment.escrow, abi: escrowAbi, functionName: 'setSigner', args: [signer] })
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
    } catch (err) {
      throw ctx.failure(err, 'claim', ctx.account.address)
    } finally {
      ledger.close()
    }
  })
}
