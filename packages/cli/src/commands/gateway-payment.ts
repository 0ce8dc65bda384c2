/**
 * The paying side of `bitcdn gateway`: the operator's key (`--account`/`--key`, as in
 * `bitcdn wallet`), the chain (deployment file, `--rpc-url`, `--preset`), the payer wallet
 * (cheque totals, SQLite, `--wallet`), and market's paid buyer with `--max-price` and `--budget`.
 * Nodes it buys from steadily get a hard allocation (pay's `ensureAllocation`) of `--allocation`,
 * capped so all allocations together never exceed the budget. The same key signs the hub
 * catalogue entries of pull-zone torrents.
 */
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { createPublicClient, createWalletClient, getAddress, http, type Address, type PublicClient } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { silentLogger, tokenUnits, type Logger, type TokenUnits } from '@bitcdn/core'
import { createPaidBuyer, type PaidBuyer } from '@bitcdn/market'
import {
  bitcdnHome,
  createEscrowAccount,
  createPayerWallet,
  createPrivateKeyChequeSigner,
  findKeystore,
  parseTokenAmount,
  unlockKeystoreFile,
} from '@bitcdn/pay'
import { signCatalogueEntry } from '@bitcdn/hub'
import type { CatalogueEntryInput } from '@bitcdn/gateway'
import { payerWalletPath } from '../paid-download.js'
import { connectCliChain } from '../chain-context.js'

export interface GatewayPaymentOptions {
  /** Key name or keystore file (`--account`/`--key`). */
  account: string
  passphraseEnv: string
  deployment?: string
  rpcUrl?: string
  preset?: string
  token: string
  /** Tokens per GiB, human units ("0.50"). */
  maxPrice: string
  /** Tokens, human units. */
  budget: string
  /** Tokens kept allocated to each node bought from steadily; "0": none. */
  allocation: string
  /** Payer wallet database (default: the key's own, `$BITCDN_HOME/payer/<address>.db`, as `get --wallet`). */
  wallet?: string
}

export interface GatewayPayment {
  buyer: PaidBuyer
  payer: Address
  signCatalogue: (input: CatalogueEntryInput) => Promise<{ fields: unknown; signature: string }>
  close(): Promise<void>
}

const DECIMALS = 6

/**
 * Opens the key, chain, wallet and buyer.
 * @throws BitcdnError keystore/passphrase errors, BITCDN_ERR_DEPLOYMENT_* (also _STALE), BITCDN_ERR_TOKEN_UNKNOWN,
 *   BITCDN_ERR_RPC_UNREACHABLE,
 *   BITCDN_ERR_AMOUNT_INVALID, BITCDN_ERR_PRESET_*, BITCDN_ERR_CHAIN_MISMATCH
 * @example const pay = await openGatewayPayment({ account: 'gateway', maxPrice: '1', budget: '10', ... })
 */
export async function openGatewayPayment(opts: GatewayPaymentOptions, logger: Logger = silentLogger): Promise<GatewayPayment> {
  const maxPricePerGiB = parseTokenAmount(opts.maxPrice, DECIMALS, { allowZero: true })
  const budget = parseTokenAmount(opts.budget, DECIMALS)
  const allocation = parseTokenAmount(opts.allocation, DECIMALS, { allowZero: true })
  // the same checks as `get --wallet` (deployment, token, preset, an RPC that answers with the
  // deployment's chain and escrow), the same one-line errors (BITCDN_ERR_RPC_UNREACHABLE, …)
  const ctx = await connectCliChain({ deployment: opts.deployment, rpcUrl: opts.rpcUrl, preset: opts.preset, token: opts.token })
  const { deployment, token, symbol, chain, rpcUrl } = ctx
  const chainId = deployment.chainId
  const key = await unlockKeystoreFile(await findKeystore(bitcdnHome(), opts.account), { envVar: opts.passphraseEnv })
  const account = privateKeyToAccount(key.privateKey)
  // a long-running gateway retries a flaky RPC (viem's default), unlike the CLI's one quick try
  const transport = http(rpcUrl)
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 500 }) as PublicClient
  const walletClient = createWalletClient({ chain, transport, account })
  const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
  const dbPath = opts.wallet ?? defaultGatewayWallet(account.address, logger)
  await mkdir(dirname(dbPath), { recursive: true, mode: 0o700 })
  // the digest signer (libsecp256k1): viem's typed-data path cost milliseconds per cheque
  const instance = await ctx.instance()
  const wallet = createPayerWallet({ dbPath, signer: createPrivateKeyChequeSigner(key.privateKey, domain), payer: account.address, domain, ...(instance ? { instance } : {}) })
  if (wallet.replacedInstance !== undefined) logger.warn({ rpcUrl, instance, was: wallet.replacedInstance }, 'another chain instance than this wallet paid on before (a local chain restarted?): cheque totals start from zero, the old ones kept aside')
  const escrow = createEscrowAccount({ escrow: deployment.escrow, token })({ walletClient, publicClient })
  const allocator = budgetedAllocator(budget, (payee, amount) => escrow.ensureAllocation(payee, amount, { token }), logger)
  const buyer = createPaidBuyer({
    payer: account.address,
    signer: account.address,
    domain,
    token,
    maxPricePerGiB: tokenUnits(maxPricePerGiB),
    budget: tokenUnits(budget),
    allowFree: true,
    ...(allocation > 0n ? { allocation: { after: tokenUnits(allocation / 10n > 0n ? allocation / 10n : 1n), amount: tokenUnits(allocation) } } : {}),
  })({ wallet, signerKey: account, allocator, logger })
  logger.info({ payer: account.address, chainId, escrow: deployment.escrow, token: symbol, maxPricePerGiB: opts.maxPrice, budget: opts.budget, allocation: opts.allocation }, 'gateway pays nodes')
  return {
    buyer,
    payer: account.address,
    signCatalogue: (input) => signCatalogueEntry(account, input),
    async close() {
      buyer.close()
      wallet.close()
    },
  }
}

/**
 * The key's own cheque ledger, the one `bitcdn get --wallet` uses: a second ledger for the same key
 * starts from zero and every node that holds a cheque from the other refuses it ("not above").
 * A gateway that already kept `$BITCDN_HOME/gateway/wallet.db` (the old default) goes on with it,
 * warned, so its totals are not lost.
 */
function defaultGatewayWallet(payer: Address, logger: Logger): string {
  const legacy = join(bitcdnHome(), 'gateway', 'wallet.db')
  if (!existsSync(legacy)) return payerWalletPath(payer)
  logger.warn(
    { wallet: legacy, shared: payerWalletPath(payer) },
    'using the old gateway cheque ledger: `bitcdn get --wallet` with this key keeps another, and nodes refuse whichever is behind; pay from a key get does not use',
  )
  return legacy
}

/**
 * An allocation manager that never holds more than `budget` allocated across all payees: each
 * top-up is cut to what the budget leaves beside the others' targets.
 * @example budgetedAllocator(10_000_000n, (payee, amount) => escrow.ensureAllocation(payee, amount))
 */
export function budgetedAllocator(budget: bigint, ensure: (payee: Address, amount: bigint) => Promise<unknown>, logger: Logger = silentLogger) {
  const targets = new Map<Address, bigint>()
  return {
    async ensureAllocation(payeeIn: Address, _token: Address, amount: TokenUnits): Promise<unknown> {
      const payee = getAddress(payeeIn)
      const current = targets.get(payee) ?? 0n
      let others = 0n
      for (const [p, t] of targets) if (p !== payee) others += t
      const target = amount < budget - others ? amount : budget - others
      if (target <= current) return undefined
      targets.set(payee, target)
      try {
        const r = await ensure(payee, target)
        logger.info({ payee, allocated: String(target) }, 'allocation topped up')
        return r
      } catch (err) {
        targets.set(payee, current)
        throw err
      }
    },
    /** Allocation targets by payee. */
    targets: () => new Map(targets),
  }
}
