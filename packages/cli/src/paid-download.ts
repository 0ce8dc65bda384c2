/**
 * `bitcdn get --wallet`: the buyer side of a download. Opens the payer's key (a keystore, as
 * `bitcdn wallet` makes them), checks the chain and the escrow funds, and plugs market's paid
 * buyer into the swarm client: each seller is paid for exactly the bytes it delivered into pieces
 * that verified, under `--max-price` and `--budget`, with one cumulative cheque at a time — the
 * payer wallet ($BITCDN_HOME/payer/<address>.db, one per payer so cumulatives carry across runs)
 * writes each new total to disk before it signs. Sellers bought from steadily get a hard
 * allocation from the escrow's free balance (pay's `ensureAllocation`), at most a quarter of the
 * budget each, so the allocations of the four sellers the buyer uses at once stay within it.
 */
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { createWalletClient, getAddress, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { BitcdnError, tokenUnits, type TokenUnits } from '@bitcdn/core'
import { bitcdnHome, createEscrowAccount, createPayerWallet, createPrivateKeyChequeSigner, escrowAbi, findKeystore, formatTokenAmount, parseTokenAmount, unlockKeystoreFile } from '@bitcdn/pay'
import { bytesValue, createPaidBuyer, MarketErrorCode, type PaidBuyer } from '@bitcdn/market'
import type { Torrent } from '@bitcdn/swarm'
import { connectCliChain, TOKEN_DECIMALS, type ChainFlags } from './chain-context.js'
import { CliErrorCode } from './errors.js'
import { spendSummary, type AllocationSpend } from './spend-summary.js'

/** The flags of `bitcdn get` that concern paying. */
export interface PaidGetFlags extends ChainFlags {
  /** Keystore name or path. */
  wallet?: string
  /** The same as `wallet` (cast's flag). */
  account?: string
  passphraseEnv: string
  /** USDC per GiB, human units. */
  maxPrice?: string
  /** USDC, human units. */
  budget?: string
}

/** Max price when none is given: twice a node's default price, in tokens per GiB. */
export const DEFAULT_MAX_PRICE = '1'

export interface PaidDownload {
  /** Pass to `createSwarmClient(init, paid.swarm)`. */
  swarm: PaidBuyer['swarm']
  track(torrent: Torrent): void
  /** Resolves when the budget cannot buy more (the caller fails with `budgetExhausted`). */
  exhausted: Promise<void>
  /** Prices (base units per GiB) of the sellers left because they charge more than --max-price. */
  refusedPrices(): bigint[]
  /** Value paid so far. */
  spent(): TokenUnits
  /** Waits (at most `limitMs`) until every verified byte is paid and each seller stored its cheque. */
  settle(limitMs: number): Promise<void>
  /** What was spent and to whom. */
  summary(): string[]
  budget: TokenUnits
  maxPricePerGiB: TokenUnits
  symbol: string
  payer: Address
  /** After the swarm client stopped: stops the buyer and closes the wallet. */
  close(): void
}

/**
 * The cheque ledger of one payer key: cumulative totals per payee, shared by `get --wallet` and
 * `gateway --account`. One file per key, since a node refuses a cheque below the best one it holds
 * from that payer: two ledgers for one key would each start from zero and be refused.
 * @example payerWalletPath('0x70997970C51812dc3A010C7d01b50e0d17dc79C8') // ~/.bitcdn/payer/0x7099….db
 */
export function payerWalletPath(payer: Address): string {
  return join(bitcdnHome(), 'payer', `${getAddress(payer)}.db`)
}

/** Whether any paying flag was given (then `--wallet` must be too). */
export function wantsPayment(f: PaidGetFlags): boolean {
  return f.wallet !== undefined || f.account !== undefined || f.budget !== undefined || f.maxPrice !== undefined
}

/**
 * @throws BITCDN_ERR_USAGE (a price or budget without a wallet, a wallet without a budget),
 *   BITCDN_ERR_AMOUNT_INVALID, BITCDN_ERR_KEYSTORE_*, chain errors (BITCDN_ERR_RPC_UNREACHABLE, …),
 *   BITCDN_ERR_ESCROW_EMPTY
 * @example const paid = await openPaidDownload(opts, (l) => process.stderr.write(`${l}\n`))
 */
export async function openPaidDownload(f: PaidGetFlags, note: (line: string) => void): Promise<PaidDownload> {
  const name = f.account ?? f.wallet
  if (name === undefined) throw new BitcdnError(CliErrorCode.usage, '--max-price and --budget pay nodes, which needs --wallet NAME (a key made by `bitcdn wallet new` or `import`)')
  if (f.budget === undefined) throw new BitcdnError(CliErrorCode.usage, '--wallet needs --budget USDC: the most this download may spend')
  const budget = parseTokenAmount(f.budget, TOKEN_DECIMALS)
  const maxPricePerGiB = parseTokenAmount(f.maxPrice ?? DEFAULT_MAX_PRICE, TOKEN_DECIMALS, { allowZero: true })
  const file = await findKeystore(bitcdnHome(), name)
  // the chain before the passphrase: an unreachable RPC fails at once, not after scrypt
  const ctx = await connectCliChain(f)
  const key = await unlockKeystoreFile(file, { envVar: f.passphraseEnv })
  const payer = getAddress(key.address)
  const usd = (u: bigint) => `${formatTokenAmount(u, TOKEN_DECIMALS)} ${ctx.symbol}`

  const free = (await ctx.publicClient
    .readContract({ address: ctx.deployment.escrow, abi: escrowAbi, functionName: 'balanceOf', args: [payer, ctx.token] })
    .catch((err: unknown) => {
      throw ctx.failure(err, 'reading the escrow balance', payer)
    })) as bigint
  if (free === 0n) {
    throw new BitcdnError(CliErrorCode.escrowEmpty, `${payer} has no ${ctx.symbol} in the escrow on chain ${ctx.deployment.chainId}: nodes serve only payers with funds; deposit some with  bitcdn wallet deposit AMOUNT --key ${name}`, {
      details: { payer, token: ctx.token },
    })
  }
  if (free < budget) note(`warning: the budget (${usd(budget)}) is more than the ${usd(free)} free in the escrow; nodes give credit only against what is there`)

  const dbPath = payerWalletPath(payer)
  await mkdir(dirname(dbPath), { recursive: true, mode: 0o700 })
  const domain = { chainId: ctx.deployment.chainId, verifyingContract: ctx.deployment.escrow }
  const account = privateKeyToAccount(key.privateKey as Hex)
  // the digest signer (libsecp256k1): viem's typed-data path cost milliseconds per cheque
  const instance = await ctx.instance()
  const wallet = createPayerWallet({ dbPath, signer: createPrivateKeyChequeSigner(key.privateKey as Hex, domain), payer, domain, ...(instance ? { instance } : {}) })
  if (wallet.replacedInstance !== undefined) note(`note: the chain at ${ctx.rpcUrl} is not the one this wallet paid nodes on before (its escrow's deployment block is ${instance}, was ${wallet.replacedInstance}: a local chain restarted?); its cheque totals start from zero here, the old ones are kept aside`)
  const walletClient = createWalletClient({ chain: ctx.chain, transport: ctx.transport, account })
  const escrowAccount = createEscrowAccount({ escrow: ctx.deployment.escrow, token: ctx.token })({ walletClient, publicClient: ctx.publicClient })
  const allocations: AllocationSpend[] = []
  const warned = new Set<string>()
  const warnOnce = (line: string) => {
    if (warned.has(line)) return
    warned.add(line)
    note(line)
  }
  // a quarter of what may be spent (and of what is there) per seller, once it was paid a quarter of
  // that or half the soft allowance the seller gives us (the buyer's rule)
  const allocationAmount = (budget < free ? budget : free) / 4n
  const buyer = createPaidBuyer({
    payer,
    signer: payer,
    domain,
    token: ctx.token,
    maxPricePerGiB,
    budget,
    ...(allocationAmount > 0n ? { allocation: { after: tokenUnits(allocationAmount / 4n), amount: tokenUnits(allocationAmount) } } : {}),
  })({
    wallet,
    signerKey: account,
    allocator: {
      async ensureAllocation(payee, token, amount) {
        try {
          const r = await escrowAccount.ensureAllocation(payee, amount, { token })
          if (r.actions.length > 0) allocations.push({ payee, allocated: r.allocated, txHashes: r.actions.map((a) => a.txHash) })
          return r
        } catch (err) {
          warnOnce(`warning: allocation top-up for ${payee} failed: ${ctx.failure(err, 'allocation', payer).message}`)
          throw err
        }
      },
    },
  })
  const refused = new Map<string, bigint>()
  buyer.on('left', (id, err) => {
    const price = (err.details as { pricePerGiB?: bigint } | undefined)?.pricePerGiB
    if (err.code === MarketErrorCode.termsRefused && typeof price === 'bigint') refused.set(id, price)
    else warnOnce(`warning: ${err.message}`)
  })
  const exhausted = new Promise<void>((resolve) => buyer.once('exhausted', resolve))

  const unsettled = () =>
    buyer.sellers().some((s) => bytesValue(s.verifiedBytes, s.pricePerGiB) > s.paid || (s.paid > 0n && s.acked < wallet.cumulative(s.payee, ctx.token)))

  return {
    swarm: buyer.swarm,
    track: (t) => buyer.track(t),
    exhausted,
    refusedPrices: () => [...refused.values()],
    spent: () => buyer.spent(),
    async settle(limitMs) {
      // woken by each cheque and ack (a poll every 50 ms added up to 50 ms to every paid download),
      // and looked at once in a while anyway (a seller that left pays nothing more)
      const end = Date.now() + limitMs
      while (unsettled() && Date.now() < end) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(t)
            buyer.off('acked', wake)
            buyer.off('paid', wake)
            resolve()
          }
          const t = setTimeout(wake, Math.max(0, Math.min(250, end - Date.now())))
          buyer.on('acked', wake)
          buyer.on('paid', wake)
        })
      }
    },
    summary: () =>
      spendSummary({
        symbol: ctx.symbol,
        budget,
        sellers: buyer.sellers().map((s) => ({
          payee: s.payee,
          verifiedBytes: s.verifiedBytes,
          pricePerGiB: s.pricePerGiB,
          paid: s.paid,
          acknowledged: s.paid === 0n || s.acked >= wallet.cumulative(s.payee, ctx.token),
        })),
        allocations,
      }),
    budget,
    maxPricePerGiB,
    symbol: ctx.symbol,
    payer,
    close() {
      buyer.close()
      wallet.close()
    },
  }
}
