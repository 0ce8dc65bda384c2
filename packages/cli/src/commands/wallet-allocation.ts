/**
 * `bitcdn wallet allocate / allocation / deallocate`: hard collateral for one seller (payee). An
 * allocation moves free escrow balance into a deposit only that payee can draw; lowering it needs
 * notice, like a withdrawal: `deallocate request` announces the decrease (the payee sees it and
 * claims first), `deallocate finalize` returns it to the free balance once the notice has passed and
 * before it lapses (the escrow's FINALIZE_WINDOW after that), `deallocate cancel` drops it. Reverts
 * read as the escrow's error in words (pay's chain/revert.ts through `chainFailure`).
 */
import { Command } from 'commander'
import { getAddress, isAddress, type Address, type Hex } from 'viem'
import { BitcdnError } from '@bitcdn/core'
import { escrowAbi, formatTokenAmount, parseTokenAmount } from '@bitcdn/pay'
import type { CliChain } from '../chain-context.js'

/** What `bitcdn wallet` lends these subcommands (its options, chain and signer helpers). */
export interface WalletCommandKit<O> {
  addCommon(cmd: Command): Command
  /** The chain, read only (no passphrase). */
  context(opts: O): Promise<CliChain>
  /** The chain and the unlocked key; `send` waits for the receipt and turns any failure into one coded line. */
  signerContext(opts: O): Promise<CliChain & { account: { address: Address }; send(what: string, req: never): Promise<Hex> }>
  /** The key's address without unlocking it. */
  address(opts: O): Promise<Address>
  out(line: string): void
  decimals: number
}

/** One payee's allocation as the escrow reports it. */
interface AllocationState {
  allocated: bigint
  pendingDecrease: bigint
  /** Seconds since the epoch; 0 when no decrease is pending. */
  readyAt: bigint
}

function payeeArg(text: string): Address {
  if (!isAddress(text)) throw new BitcdnError('BITCDN_ERR_ADDRESS_INVALID', `'${text}' is not a valid payee address`)
  return getAddress(text)
}

const iso = (seconds: bigint) => new Date(Number(seconds) * 1000).toISOString()

/**
 * The lines that describe a payee's allocation: amount, and a pending decrease with when it can be
 * finalized and when it lapses.
 * @example describeAllocation(state, { finalizeWindow: 86400n, now: 1_700_000_000n, fmt })
 */
export function describeAllocation(a: AllocationState, o: { finalizeWindow: bigint; now: bigint; fmt: (u: bigint) => string }): string[] {
  const lines = [`allocated           ${o.fmt(a.allocated)}`]
  if (a.pendingDecrease === 0n) {
    lines.push('pending decrease    none')
    return lines
  }
  const lapsesAt = a.readyAt + o.finalizeWindow
  const when = o.now < a.readyAt ? `can be finalized at ${iso(a.readyAt)} (in ${a.readyAt - o.now} s)` : `can be finalized now (until ${iso(lapsesAt)})`
  lines.push(`pending decrease    ${o.fmt(a.pendingDecrease)}, ${when}`)
  lines.push(`after it            ${o.fmt(a.allocated > a.pendingDecrease ? a.allocated - a.pendingDecrease : 0n)} stays allocated; the notice lapses at ${iso(lapsesAt)}`)
  return lines
}

/**
 * Registers `allocate`, `allocation` and `deallocate request|finalize|cancel` under `wallet`.
 * @example registerAllocationCommands(wallet, kit) // bitcdn wallet deallocate request 0xNode… 5
 */
export function registerAllocationCommands<O>(wallet: Command, kit: WalletCommandKit<O>): void {
  const { addCommon, out } = kit
  const fmtOf = (ctx: CliChain) => (u: bigint) => `${formatTokenAmount(u, kit.decimals)} ${ctx.symbol}`

  const read = async (ctx: CliChain, payer: Address, payee: Address): Promise<AllocationState & { finalizeWindow: bigint; now: bigint }> => {
    try {
      const [[allocated, pendingDecrease, readyAt], finalizeWindow, block] = await Promise.all([
        ctx.publicClient.readContract({ address: ctx.deployment.escrow, abi: escrowAbi, functionName: 'allocation', args: [payer, payee, ctx.token] }) as Promise<readonly [bigint, bigint, bigint | number]>,
        ctx.publicClient.readContract({ address: ctx.deployment.escrow, abi: escrowAbi, functionName: 'FINALIZE_WINDOW' }) as Promise<bigint | number>,
        ctx.publicClient.getBlock(),
      ])
      // the chain's clock, not ours: a local chain may run ahead (evm_increaseTime)
      return { allocated, pendingDecrease, readyAt: BigInt(readyAt), finalizeWindow: BigInt(finalizeWindow), now: block.timestamp }
    } catch (err) {
      throw ctx.failure(err, 'reading the allocation', payer)
    }
  }

  /**
   * What every escrow write here starts with, once its arguments are checked (before the
   * passphrase is asked): the unlocked key's chain, the payer's allocation to `payee` as the escrow
   * reports it now, and one escrow call sent.
   */
  const unlocked = async (payee: Address, opts: O) => {
    const ctx = await kit.signerContext(opts)
    const fmt = fmtOf(ctx)
    const state = () => read(ctx, ctx.account.address, payee)
    const call = (what: string, functionName: 'allocate' | 'requestDeallocate' | 'finalizeDeallocate' | 'cancelDeallocate', args: readonly unknown[]) =>
      ctx.send(what, { account: ctx.account, chain: ctx.chain, address: ctx.deployment.escrow, abi: escrowAbi, functionName, args } as never)
    return { ctx, fmt, state, call }
  }

  addCommon(
    wallet
      .command('allocate')
      .description('move free escrow balance into hard collateral for one seller (only that payee can draw it)')
      .argument('<payee>', "the seller's payee address")
      .argument('<amount>', 'amount in tokens, up to 6 decimals'),
  ).action(async (payeeText: string, amountText: string, opts: O) => {
    const payee = payeeArg(payeeText)
    const amount = parseTokenAmount(amountText, kit.decimals)
    const { ctx, fmt, state, call } = await unlocked(payee, opts)
    const tx = await call('allocation', 'allocate', [payee, ctx.token, amount])
    const a = await state()
    out(`allocated ${fmt(amount)} to ${payee}; now ${fmt(a.allocated)} in all (tx ${tx})`)
  })

  addCommon(
    wallet
      .command('allocation')
      .description("a seller's allocation from your account: amount, a pending decrease and when it can be finalized")
      .argument('<payee>', "the seller's payee address"),
  ).action(async (payeeText: string, opts: O) => {
    const payee = payeeArg(payeeText)
    const ctx = await kit.context(opts)
    const payer = await kit.address(opts)
    const a = await read(ctx, payer, payee)
    out(`payer               ${payer}`)
    out(`payee               ${payee}`)
    for (const line of describeAllocation(a, { ...a, fmt: fmtOf(ctx) })) out(line)
  })

  const dealloc = wallet.command('deallocate').description("lower a seller's allocation (after the withdrawal notice, so the seller can claim first)")
  addCommon(
    dealloc
      .command('request')
      .description('announce a decrease; finalize it after the notice period (replaces a pending one and restarts the clock)')
      .argument('<payee>', "the seller's payee address")
      .argument('<amount>', 'amount in tokens, up to 6 decimals'),
  ).action(async (payeeText: string, amountText: string, opts: O) => {
    const payee = payeeArg(payeeText)
    const amount = parseTokenAmount(amountText, kit.decimals)
    const { ctx, fmt, state, call } = await unlocked(payee, opts)
    // the escrow would refuse it as InsufficientBalance, which reads as the free balance: say it plainly
    const now = await state()
    if (amount > now.allocated) throw new BitcdnError('BITCDN_ERR_AMOUNT_INVALID', `a decrease of ${fmt(amount)} is more than the ${fmt(now.allocated)} allocated to ${payee}`)
    const tx = await call('deallocation request', 'requestDeallocate', [payee, ctx.token, amount])
    const a = await state()
    out(`deallocation of ${fmt(amount)} from ${payee} requested (tx ${tx})`)
    for (const line of describeAllocation(a, { ...a, fmt })) out(line)
    out(`finalize with: bitcdn wallet deallocate finalize ${payee}`)
  })

  addCommon(
    dealloc
      .command('finalize')
      .description('return a requested decrease to your free escrow balance once its notice has passed')
      .argument('<payee>', "the seller's payee address"),
  ).action(async (payeeText: string, opts: O) => {
    const payee = payeeArg(payeeText)
    const { ctx, fmt, state, call } = await unlocked(payee, opts)
    const before = await state()
    const tx = await call('deallocation finalization', 'finalizeDeallocate', [payee, ctx.token])
    const after = await state()
    // claims that landed during the notice may have drawn on it: what moved is what the escrow says now
    out(`deallocated ${fmt(before.allocated - after.allocated)} from ${payee} back to your free balance; ${fmt(after.allocated)} stays allocated (tx ${tx})`)
  })

  addCommon(dealloc.command('cancel').description('drop a requested decrease').argument('<payee>', "the seller's payee address")).action(async (payeeText: string, opts: O) => {
    const payee = payeeArg(payeeText)
    const { ctx, call } = await unlocked(payee, opts)
    const tx = await call('deallocation cancellation', 'cancelDeallocate', [payee, ctx.token])
    out(`deallocation from ${payee} cancelled (tx ${tx})`)
  })
}
