import { describe, expect, it } from 'vitest'
import { createPublicClient, encodeErrorResult, http, type Address } from 'viem'
import { escrowAbi, testTokenAbi } from '../contracts/index.js'
import { decodeRevert, revertData } from './revert.js'
import { chainFailure, rpcUnreachableReason } from './chain-failure.js'
import { createServer } from 'node:net'

const me = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as Address
const usdc = '0x5FbDB2315678afecb367f032d93F642f64180aa3' as Address
const usdt = '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' as Address
const tokens = [
  { address: usdc, symbol: 'USDC', decimals: 6 },
  { address: usdt, symbol: 'USDT', decimals: 6 },
]

describe('decodeRevert', () => {
  it('reads ERC-6093 ERC20InsufficientBalance (0xe450d38c) as the sentence a user understands', () => {
    const data = encodeErrorResult({ abi: testTokenAbi, errorName: 'ERC20InsufficientBalance', args: [me, 90_000_000n, 1_000_000_000n] })
    expect(data.slice(0, 10)).toBe('0xe450d38c')
    const r = decodeRevert(data, { action: 'deposit', account: me, tokens })
    expect(r).toMatchObject({ errorName: 'ERC20InsufficientBalance', selector: '0xe450d38c', args: { sender: me, balance: 90_000_000n, needed: 1_000_000_000n } })
    expect(r!.sentence).toBe('deposit of 1000 USDC exceeds your token balance of 90 USDC')
    // someone else's balance is named, not "your"
    expect(decodeRevert(data, { action: 'deposit', account: usdt, tokens })!.sentence).toBe(`deposit of 1000 USDC exceeds ${me}'s token balance of 90 USDC`)
  })

  it('names the token the escrow error carries, and finds the data deep in a viem-style cause chain', () => {
    const data = encodeErrorResult({ abi: escrowAbi, errorName: 'InsufficientBalance', args: [me, usdt, 5_500_000n, 7_000_000n] })
    const wrapped = new Error('outer', { cause: new Error('middle', { cause: Object.assign(new Error('inner'), { raw: data }) }) })
    expect(revertData(wrapped)).toBe(data)
    expect(decodeRevert(wrapped, { action: 'withdrawal request', account: me, tokens })!.sentence).toBe(
      'withdrawal request of 7 USDT exceeds your free escrow balance of 5.5 USDT',
    )
  })

  it('decodes every custom error the escrow and token ABIs declare (errors added later decode too)', () => {
    let n = 0
    for (const abi of [escrowAbi, testTokenAbi]) {
      for (const item of abi) {
        if (item.type !== 'error') continue
        const args = item.inputs.map((i) => (i.type === 'address' ? me : i.type === 'string' ? 'x' : i.type.startsWith('bytes') ? `0x${'11'.repeat(Number(i.type.slice(5)) || 32)}` : 1n))
        const data = encodeErrorResult({ abi: [item], errorName: item.name, args } as Parameters<typeof encodeErrorResult>[0])
        const r = decodeRevert(data, { action: 'the call', tokens })
        expect(r?.errorName, item.name).toBe(item.name)
        expect(r!.sentence.length).toBeGreaterThan(10)
        n++
      }
    }
    expect(n).toBeGreaterThan(20)
  })

  it('an error it has no sentence for reads as its name and named values', () => {
    // a custom error from the ABI without a sentence of its own
    const data = encodeErrorResult({ abi: testTokenAbi, errorName: 'InvalidAccountNonce', args: [me, 3n] })
    expect(decodeRevert(data, { action: 'permit' })!.sentence).toBe(`permit refused by the contract: InvalidAccountNonce (account ${me}, currentNonce 3)`)
  })

  it('Error(string) and Panic(uint256) decode; unknown selectors and no data give undefined', () => {
    const err = encodeErrorResult({ abi: [{ type: 'error', name: 'Error', inputs: [{ name: 'message', type: 'string' }] }], errorName: 'Error', args: ['ERC20: transfer amount exceeds balance'] })
    expect(decodeRevert(err, { action: 'deposit' })!.sentence).toBe('deposit reverted: ERC20: transfer amount exceeds balance')
    const panic = encodeErrorResult({ abi: [{ type: 'error', name: 'Panic', inputs: [{ name: 'code', type: 'uint256' }] }], errorName: 'Panic', args: [0x11n] })
    expect(decodeRevert(panic, { action: 'claim' })!.sentence).toBe('claim failed: the contract panicked (0x11: arithmetic overflow or underflow)')
    expect(decodeRevert('0xdeadbeef')).toBeUndefined()
    expect(decodeRevert(new Error('no data'))).toBeUndefined()
  })
})

describe('chainFailure', () => {
  it('a real viem call to a closed port is BITCDN_ERR_RPC_UNREACHABLE naming the URL, in one line', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port
        s.close(() => resolve(p))
      })
    })
    const rpcUrl = `http://127.0.0.1:${port}`
    const client = createPublicClient({ transport: http(rpcUrl, { retryCount: 0 }) })
    const err = await client.getChainId().catch((e: unknown) => e)
    expect(rpcUnreachableReason(err)).toBe('connection refused')
    const f = chainFailure(err, { rpcUrl, what: 'balance', unreachableHint: 'start it with `bitcdn chain`' })
    expect(f.code).toBe('BITCDN_ERR_RPC_UNREACHABLE')
    expect(f.message).toBe(`cannot reach the chain RPC at ${rpcUrl} (connection refused); start it with \`bitcdn chain\``)
    expect(f.message).not.toContain('\n')
  })

  it('a revert becomes BITCDN_ERR_TX_REVERTED with the decoded values in details; anything else BITCDN_ERR_TX_FAILED', () => {
    const data = encodeErrorResult({ abi: escrowAbi, errorName: 'NothingToWithdraw', args: [me, usdc] })
    const f = chainFailure(Object.assign(new Error('execution reverted'), { data }), { rpcUrl: 'x', what: 'earnings withdrawal', tokens })
    expect(f.code).toBe('BITCDN_ERR_TX_REVERTED')
    expect(f.message).toBe('earnings withdrawal refused: there are no earnings in USDC to withdraw')
    expect(f.details).toMatchObject({ errorName: 'NothingToWithdraw', args: { payee: me, token: usdc } })
    const other = chainFailure(Object.assign(new Error('long\nviem\ndump'), { shortMessage: 'nonce too low' }), { rpcUrl: 'x', what: 'deposit' })
    expect([other.code, other.message]).toEqual(['BITCDN_ERR_TX_FAILED', 'deposit failed: nonce too low'])
  })
})
