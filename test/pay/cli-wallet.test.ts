/** `bitcdn wallet …` end to end against anvil, through the CLI's own `main(argv)`. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Address } from 'viem'
import { tokenUnits } from '@bitcdn/core'
import {
  createPayeeLedger,
  createPayerWallet,
  createPrivateKeyChequeSigner,
  escrowAbi,
  keystorePath,
  readKeystoreFile,
  testTokenAbi,
  writeDeployment,
} from '@bitcdn/pay'
import { main } from '../../packages/cli/src/main.js'
import { startPayChain, type PayChain } from './helpers.js'

let chain: PayChain
const home = mkdtempSync(join(tmpdir(), 'bitcdn-cli-wallet-'))
const saved = { home: process.env.BITCDN_HOME, pass: process.env.BITCDN_PASSPHRASE }

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const w1 = process.stdout.write.bind(process.stdout)
  const w2 = process.stderr.write.bind(process.stderr)
  process.stdout.write = ((s: string) => ((stdout += s), true)) as typeof process.stdout.write
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write
  try {
    process.exitCode = undefined
    const code = await main(['node', 'bitcdn', ...args])
    return { code, stdout, stderr }
  } finally {
    process.stdout.write = w1
    process.stderr.write = w2
    process.exitCode = undefined
  }
}

beforeAll(async () => {
  chain = await startPayChain()
  process.env.BITCDN_HOME = home
  process.env.BITCDN_PASSPHRASE = 'correct horse battery staple'
  await writeDeployment(join(home, 'deployment.json'), chain.deployment)
})
afterAll(async () => {
  process.env.BITCDN_HOME = saved.home
  process.env.BITCDN_PASSPHRASE = saved.pass
  if (saved.home === undefined) delete process.env.BITCDN_HOME
  if (saved.pass === undefined) delete process.env.BITCDN_PASSPHRASE
  await chain?.anvil.stop()
  rmSync(home, { recursive: true, force: true })
})

async function fund(address: Address, usdc: bigint): Promise<void> {
  await chain.testClient.setBalance({ address, value: 10n ** 20n })
  const minter = chain.wallet(chain.accounts[0]!.privateKey)
  const h = await minter.writeContract({ address: chain.deployment.tokens.USDC, abi: testTokenAbi, functionName: 'mint', args: [address, usdc] })
  await chain.publicClient.waitForTransactionReceipt({ hash: h })
}

describe('bitcdn wallet', () => {
  it('every subcommand has --help', async () => {
    for (const sub of [['new'], ['import'], ['list'], ['show'], ['balance'], ['deposit'], ['withdraw', 'request'], ['withdraw', 'finalize'], ['withdraw', 'cancel'], ['set-signer'], ['claim'], ['allocate'], ['allocation'], ['deallocate', 'request'], ['deallocate', 'finalize'], ['deallocate', 'cancel']]) {
      const r = await cli('wallet', ...sub, '--help')
      expect(r.code, sub.join(' ')).toBe(0)
      expect(r.stdout).toContain('Usage: bitcdn wallet')
    }
  })

  it('new → deposit → withdraw request/cancel/finalize → set-signer → balance; payee claims its ledger', { timeout: 180_000 }, async () => {
    const { publicClient, deployment, testClient } = chain
    const escrow = deployment.escrow
    const usdc = deployment.tokens.USDC
    const made = await cli('wallet', 'new', '--key', 'payer', '--scrypt-n', '1024')
    expect(made.code).toBe(0)
    const payer = made.stdout.match(/^address\s+(0x[0-9a-fA-F]{40})$/m)![1] as Address
    expect((await cli('wallet', 'show', '--key', 'payer')).stdout).toContain(payer)
    expect((await cli('wallet', 'new', '--key', 'payer', '--scrypt-n', '1024')).stderr).toMatch(/already exists/)
    await fund(payer, 100_000_000n)

    const dep = await cli('wallet', 'deposit', '12.5', '--key', 'payer')
    expect(dep.stderr).toBe('')
    expect(dep.code).toBe(0)
    const free = () => publicClient.readContract({ address: escrow, abi: escrowAbi, functionName: 'balanceOf', args: [payer, usdc] })
    expect(await free()).toBe(12_500_000n)

    const bad = await cli('wallet', 'deposit', '1.0000001', '--key', 'payer')
    expect(bad.code).toBe(2) // a malformed argument, as commander's usage errors
    expect(bad.stderr).toMatch(/7 decimals; the token has 6/)
    const wrongPass = await cli('wallet', 'deposit', '1', '--key', 'payer', '--passphrase-env', 'WRONG_PASS_VAR')
    expect(wrongPass.code).toBe(1) // no such variable and no TTY
    process.env.WRONG_PASS_VAR = 'nope'
    const wrong = (await cli('wallet', 'deposit', '1', '--key', 'payer', '--passphrase-env', 'WRONG_PASS_VAR')).stderr
    // names the key file and where the passphrase came from, never the passphrase
    expect(wrong).toMatch(/wrong passphrase for keystore \S*keys\/payer\.json \(passphrase from environment variable WRONG_PASS_VAR\)/)
    expect(wrong).not.toContain('nope')
    delete process.env.WRONG_PASS_VAR
    expect((await cli('wallet', 'deposit', '1', '--token', 'DAI', '--key', 'payer')).stderr).toMatch(/token 'DAI' is not in the deployment/)

    expect((await cli('wallet', 'withdraw', 'request', '2.5', '--key', 'payer')).code).toBe(0)
    expect((await cli('wallet', 'withdraw', 'cancel', '--key', 'payer')).code).toBe(0)
    expect((await cli('wallet', 'withdraw', 'request', '1', '--key', 'payer')).code).toBe(0)
    // the pending withdrawal is visible, with when it can be finalized
    const pendingBal = await cli('wallet', 'balance', '--key', 'payer')
    expect(pendingBal.stdout).toMatch(/pending withdrawal\s+1(\.0+)? USDC \(ready at \d{4}-\d\d-\d\dT/)
    const early = await cli('wallet', 'withdraw', 'finalize', '--key', 'payer')
    expect(early.code).toBe(1)
    expect(early.stderr).toMatch(/^bitcdn: BITCDN_ERR_TX_REVERTED: withdrawal finalization refused: the notice period has not passed; ready at \d{4}-/)
    await testClient.increaseTime({ seconds: deployment.withdrawDelaySeconds + 1 })
    await testClient.mine({ blocks: 1 })
    expect((await cli('wallet', 'withdraw', 'finalize', '--key', 'payer')).code).toBe(0)
    expect(await free()).toBe(11_500_000n)

    const delegate = chain.accounts[7]!.address
    expect((await cli('wallet', 'set-signer', delegate, '--key', 'payer')).code).toBe(0)
    expect((await cli('wallet', 'set-signer', '0x1234', '--key', 'payer')).stderr).toMatch(/not a valid address/)
    const bal = await cli('wallet', 'balance', '--key', 'payer')
    expect(bal.stdout).toMatch(/escrow free\s+11\.5 USDC/)
    expect(bal.stdout).toContain(delegate)

    // payee: a ledger holding the payer's cheques, then `wallet claim`
    const payeeOut = await cli('wallet', 'new', '--key', 'payee', '--scrypt-n', '1024')
    const payee = payeeOut.stdout.match(/^address\s+(0x[0-9a-fA-F]{40})$/m)![1] as Address
    await fund(payee, 0n)
    const { privateKey } = await readKeystoreFile(keystorePath(home, 'payer'), process.env.BITCDN_PASSPHRASE!)
    const domain = { chainId: deployment.chainId, verifyingContract: escrow }
    const w = createPayerWallet({ dbPath: join(home, 'payer-wallet.db'), signer: createPrivateKeyChequeSigner(privateKey, domain), payer, domain })
    const ledger = createPayeeLedger({ dbPath: join(home, 'ledger.db'), payee, domain })
    for (let i = 0; i < 20; i++) ledger.accept(await w.pay(payee, usdc, tokenUnits(125_000n)))
    w.close()
    ledger.close()
    const claim = await cli('wallet', 'claim', '--key', 'payee')
    expect(claim.stderr).toBe('')
    expect(claim.stdout).toMatch(/claimed 2\.5 USDC in 1 transaction\(s\); withdrew 2\.5 USDC/)
    expect(await publicClient.readContract({ address: usdc, abi: testTokenAbi, functionName: 'balanceOf', args: [payee] })).toBe(2_500_000n)
  })

  it('allocate → allocation → deallocate request (pending decrease, ready time) → finalize early refused in words → finalize after the notice', { timeout: 180_000 }, async () => {
    const { publicClient, deployment, testClient } = chain
    const escrow = deployment.escrow
    const usdc = deployment.tokens.USDC
    const payee = chain.accounts[3]!.address
    const made = await cli('wallet', 'new', '--key', 'allocator', '--scrypt-n', '1024')
    const payer = made.stdout.match(/^address\s+(0x[0-9a-fA-F]{40})$/m)![1] as Address
    await fund(payer, 100_000_000n)
    expect((await cli('wallet', 'deposit', '10', '--key', 'allocator')).code).toBe(0)
    const allocation = () => publicClient.readContract({ address: escrow, abi: escrowAbi, functionName: 'allocation', args: [payer, payee, usdc] })
    const free = () => publicClient.readContract({ address: escrow, abi: escrowAbi, functionName: 'balanceOf', args: [payer, usdc] })

    const al = await cli('wallet', 'allocate', payee, '4', '--key', 'allocator')
    expect(al.stderr).toBe('')
    expect(al.stdout).toMatch(new RegExp(`^allocated 4 USDC to ${payee}; now 4 USDC in all \\(tx 0x[0-9a-f]{64}\\)$`, 'm'))
    expect((await allocation())[0]).toBe(4_000_000n)
    expect(await free()).toBe(6_000_000n)
    // bad input: one coded line each, nothing sent
    const badPayee = await cli('wallet', 'allocate', '0x1234', '1', '--key', 'allocator')
    expect(badPayee.code).toBe(2)
    expect(badPayee.stderr).toMatch(/^bitcdn: BITCDN_ERR_ADDRESS_INVALID: '0x1234' is not a valid payee address$/m)
    const tooMuch = await cli('wallet', 'allocate', payee, '100', '--key', 'allocator')
    expect(tooMuch.stderr).toMatch(/^bitcdn: BITCDN_ERR_TX_REVERTED: allocation of 100 USDC exceeds your free escrow balance of 6 USDC$/m)
    const noNotice = await cli('wallet', 'deallocate', 'finalize', payee, '--key', 'allocator')
    expect(noNotice.stderr).toMatch(new RegExp(`^bitcdn: BITCDN_ERR_TX_REVERTED: deallocation finalization refused: there is no pending deallocation from ${payee} in USDC$`, 'm'))
    const overAllocated = await cli('wallet', 'deallocate', 'request', payee, '5', '--key', 'allocator')
    expect(overAllocated.stderr).toMatch(new RegExp(`^bitcdn: BITCDN_ERR_AMOUNT_INVALID: a decrease of 5 USDC is more than the 4 USDC allocated to ${payee}$`, 'm'))
    expect((await allocation())[1]).toBe(0n)

    const req = await cli('wallet', 'deallocate', 'request', payee, '1.5', '--key', 'allocator')
    expect(req.stderr).toBe('')
    expect(req.stdout).toMatch(new RegExp(`^deallocation of 1.5 USDC from ${payee} requested`, 'm'))
    expect(req.stdout).toMatch(/^allocated\s+4 USDC$/m)
    expect(req.stdout).toMatch(/^pending decrease\s+1.5 USDC, can be finalized at \d{4}-\d\d-\d\dT[\d:.]+Z \(in \d+ s\)$/m)
    expect(req.stdout).toMatch(/^after it\s+2.5 USDC stays allocated; the notice lapses at \d{4}-/m)
    const [, pending, readyAt] = await allocation()
    expect(pending).toBe(1_500_000n)
    expect(req.stdout).toContain(new Date(Number(readyAt) * 1000).toISOString())
    const shown = await cli('wallet', 'allocation', payee, '--key', 'allocator')
    expect(shown.stdout).toMatch(/^pending decrease\s+1.5 USDC, can be finalized at/m)

    const early = await cli('wallet', 'deallocate', 'finalize', payee, '--key', 'allocator')
    expect(early.code).not.toBe(0)
    expect(early.stderr).toMatch(/^bitcdn: BITCDN_ERR_TX_REVERTED: deallocation finalization refused: the notice period has not passed; ready at \d{4}-/m)
    expect((await allocation())[0]).toBe(4_000_000n)

    await testClient.increaseTime({ seconds: deployment.withdrawDelaySeconds + 1 })
    await testClient.mine({ blocks: 1 })
    expect((await cli('wallet', 'allocation', payee, '--key', 'allocator')).stdout).toMatch(/^pending decrease\s+1.5 USDC, can be finalized now \(until \d{4}-/m)
    const fin = await cli('wallet', 'deallocate', 'finalize', payee, '--key', 'allocator')
    expect(fin.stderr).toBe('')
    expect(fin.stdout).toMatch(new RegExp(`^deallocated 1.5 USDC from ${payee} back to your free balance; 2.5 USDC stays allocated`, 'm'))
    expect(await allocation()).toEqual([2_500_000n, 0n, 0n])
    expect(await free()).toBe(7_500_000n)

    // request then cancel: nothing moves
    expect((await cli('wallet', 'deallocate', 'request', payee, '1', '--key', 'allocator')).code).toBe(0)
    const cancel = await cli('wallet', 'deallocate', 'cancel', payee, '--key', 'allocator')
    expect(cancel.stdout).toMatch(new RegExp(`^deallocation from ${payee} cancelled`, 'm'))
    expect(await allocation()).toEqual([2_500_000n, 0n, 0n])
    expect((await cli('wallet', 'allocation', payee, '--key', 'allocator')).stdout).toMatch(/^pending decrease\s+none$/m)
  })
})
