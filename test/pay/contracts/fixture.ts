/**
 * Shared fixture for the escrow tests: one real anvil per test file, the escrow deployed through
 * the same `deployLocal` production code uses, viem clients per dev account, and helpers to sign
 * cheques (EIP-712), mangle signatures (high-s, ERC-2098), claim, and read events.
 */
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  hashTypedData,
  http,
  parseEventLogs,
  parseSignature,
  serializeCompactSignature,
  serializeSignature,
  signatureToCompactSignature,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type TestClient,
  type Transport,
  type WalletClient,
  type TransactionReceipt,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
// Straight to the modules (not the package index) so these tests only depend on the code they test.
import { anvilAccounts, deployLocal, startAnvil, type AnvilInstance, type Deployment } from '../../../packages/pay/src/chain/index.js'
import { escrowAbi, testTokenAbi } from '../../../packages/pay/src/contracts/index.js'
import { encodeCompactRows } from '../../../packages/pay/src/cashout/compact-rows.js'
import { tokenUnits } from '@bitcdn/core'

export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

export type Wallet = WalletClient<Transport, Chain, Account>

export interface Cheque {
  payer: Address
  payee: Address
  token: Address
  cumulativeAmount: bigint
}
export interface SignedCheque {
  cheque: Cheque
  signature: Hex
}

export interface Fixture {
  anvil: AnvilInstance
  deployment: Deployment
  chain: Chain
  publicClient: PublicClient
  testClient: TestClient
  escrow: Address
  usdc: Address
  usdt: Address
  /** Dev accounts 0..n-1 as viem accounts (0 is the deployer/admin). */
  accounts: Account[]
  keys: Hex[]
  wallet(i: number | Account): Wallet
  stop(): Promise<void>
}

export const chequeTypes = {
  Cheque: [
    { name: 'payer', type: 'address' },
    { name: 'payee', type: 'address' },
    { name: 'token', type: 'address' },
    { name: 'cumulativeAmount', type: 'uint128' },
  ],
} as const

/** Starts anvil and deploys the escrow + test USDC/USDT, funding `accounts` dev accounts. */
export async function setup(opts: { accounts?: number; withdrawDelaySeconds?: number; fund?: bigint; chainId?: number } = {}): Promise<Fixture> {
  const n = opts.accounts ?? 10
  const anvil = await startAnvil({ accounts: n, ...(opts.chainId ? { chainId: opts.chainId } : {}) })
  const dev = anvilAccounts(n)
  const deployment = await deployLocal({
    rpcUrl: anvil.rpcUrl,
    withdrawDelaySeconds: opts.withdrawDelaySeconds ?? 3600,
    ...(opts.fund === 0n ? {} : { fund: { accounts: dev.map((a) => a.address), amount: opts.fund ?? 1_000_000_000_000n } }),
  })
  const chain = defineChain({
    id: deployment.chainId,
    name: 'anvil',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [anvil.rpcUrl] } },
  })
  const transport = http(anvil.rpcUrl)
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 20 }) as PublicClient
  const testClient = createTestClient({ chain, transport, mode: 'anvil' })
  const accounts = dev.map((a) => privateKeyToAccount(a.privateKey))
  const wallets = new Map<Address, Wallet>()
  const wallet = (i: number | Account): Wallet => {
    const account = typeof i === 'number' ? accounts[i]! : i
    let w = wallets.get(account.address)
    if (!w) {
      w = createWalletClient({ chain, transport, account, pollingInterval: 20 })
      wallets.set(account.address, w)
    }
    return w
  }
  return {
    anvil,
    deployment,
    chain,
    publicClient,
    testClient,
    escrow: deployment.escrow,
    usdc: deployment.tokens.USDC,
    usdt: deployment.tokens.USDT!,
    accounts,
    keys: dev.map((a) => a.privateKey),
    wallet,
    stop: () => anvil.stop(),
  }
}

/** Sends a contract write from `w` and waits; throws on revert (with viem's decoded error). */
export async function write(
  f: Fixture,
  w: Wallet,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  req: { address: Address; abi: Abi; functionName: string; args?: readonly any[]; gas?: bigint },
): Promise<TransactionReceipt> {
  // simulate first so reverts surface as decoded custom errors — also the token's, when the
  // escrow bubbles them up
  const tokenErrors = testTokenAbi.filter((item) => item.type === 'error')
  const abi = [...req.abi, ...tokenErrors.filter((e) => !req.abi.some((x) => x.type === 'error' && x.name === e.name))]
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const { request } = await f.publicClient.simulateContract({ ...(req as any), abi, account: w.account })
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const hash = await w.writeContract({ ...(request as any), ...(req.gas ? { gas: req.gas } : {}) })
  const receipt = await f.publicClient.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success') throw new Error(`tx ${hash} reverted`)
  return receipt
}

/** Reads `functionName` on the escrow. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function readEscrow(f: Fixture, functionName: string, args: readonly any[] = []): Promise<any> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return f.publicClient.readContract({ address: f.escrow, abi: escrowAbi, functionName: functionName as any, args: args as any })
}

export async function tokenBalance(f: Fixture, token: Address, who: Address): Promise<bigint> {
  return f.publicClient.readContract({ address: token, abi: testTokenAbi, functionName: 'balanceOf', args: [who] })
}

/** approve + deposit `amount` of `token` from account `i`. */
export async function deposit(f: Fixture, i: number, token: Address, amount: bigint): Promise<void> {
  const w = f.wallet(i)
  await write(f, w, { address: token, abi: testTokenAbi, functionName: 'approve', args: [f.escrow, amount] })
  await write(f, w, { address: f.escrow, abi: escrowAbi, functionName: 'deposit', args: [token, amount] })
}

/** Signs a cheque with `signer` for this escrow (or an overridden domain, for attack tests). */
export async function signCheque(
  f: Fixture,
  signer: Account,
  cheque: Cheque,
  domain: { chainId?: number; verifyingContract?: Address } = {},
): Promise<SignedCheque> {
  const signature = await signer.signTypedData!({
    domain: {
      name: 'BitCDNEscrow',
      version: '1',
      chainId: domain.chainId ?? f.deployment.chainId,
      verifyingContract: domain.verifyingContract ?? f.escrow,
    },
    types: chequeTypes,
    primaryType: 'Cheque',
    message: cheque,
  })
  return { cheque, signature }
}

/** viem's EIP-712 digest of a cheque for this escrow. */
export function chequeDigestTs(f: Fixture, cheque: Cheque): Hex {
  return hashTypedData({
    domain: { name: 'BitCDNEscrow', version: '1', chainId: f.deployment.chainId, verifyingContract: f.escrow },
    types: chequeTypes,
    primaryType: 'Cheque',
    message: cheque,
  })
}

/** The same signature with s' = n − s and v flipped: valid for ecrecover, malleable, must be rejected. */
export function toHighS(signature: Hex): Hex {
  const sig = parseSignature(signature)
  const s = SECP256K1_N - BigInt(sig.s)
  const yParity = sig.yParity === 0 ? 1 : 0
  return serializeSignature({ r: sig.r, s: `0x${s.toString(16).padStart(64, '0')}`, yParity })
}

/** The 64-byte ERC-2098 compact form (r ‖ yParity·2^255 + s). */
export function toCompact(signature: Hex): Hex {
  return serializeCompactSignature(signatureToCompactSignature(parseSignature(signature)))
}

/** Calls claim(cheques) from account `i`; returns the receipt and the decoded escrow events. */
export async function claim(f: Fixture, i: number, cheques: SignedCheque[], gas?: bigint) {
  const w = f.wallet(i)
  const hash = await w.writeContract({
    address: f.escrow,
    abi: escrowAbi,
    functionName: 'claim',
    args: [cheques],
    ...(gas ? { gas } : {}),
  })
  const receipt = await f.publicClient.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success') throw new Error(`claim ${hash} reverted`)
  const events = parseEventLogs({ abi: escrowAbi, logs: receipt.logs })
  return { receipt, events }
}

/** Moves chain time forward `seconds` and mines a block. */
export async function increaseTime(f: Fixture, seconds: number): Promise<void> {
  await f.testClient.increaseTime({ seconds })
  await f.testClient.mine({ blocks: 1 })
}

/** Snapshot/revert wrappers so tests in a file start from the same chain state. */
export async function snapshot(f: Fixture): Promise<Hex> {
  return f.testClient.snapshot()
}
export async function revert(f: Fixture, id: Hex): Promise<void> {
  await f.testClient.revert({ id })
}

/**
 * Calls claimCompact(payee, token, rows) from account `i` with the cheques packed as 100-byte rows
 * (the production encoder); returns the receipt, the decoded escrow events and the tx input size.
 */
export async function claimCompact(f: Fixture, i: number, payee: Address, token: Address, cheques: SignedCheque[], gas?: bigint) {
  const w = f.wallet(i)
  const rows = encodeCompactRows(payee, token, cheques.map((c) => ({ cheque: { ...c.cheque, cumulativeAmount: tokenUnits(c.cheque.cumulativeAmount) }, signature: c.signature })))
  const hash = await w.writeContract({
    address: f.escrow,
    abi: escrowAbi,
    functionName: 'claimCompact',
    args: [payee, token, rows],
    ...(gas ? { gas } : {}),
  })
  const receipt = await f.publicClient.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success') throw new Error(`claimCompact ${hash} reverted`)
  const tx = await f.publicClient.getTransaction({ hash })
  const events = parseEventLogs({ abi: escrowAbi, logs: receipt.logs })
  return { receipt, events, inputBytes: (tx.input.length - 2) / 2 }
}
