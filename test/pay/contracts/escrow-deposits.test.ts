/**
 * Money in and the token edge: deposit, depositFor, depositWithAuthorization (EIP-3009 receive) and
 * its front-running, fee-on-transfer rejection, USDT-style tokens that return no bool, reentrancy
 * through a malicious token, the token allowlist and its admin, and the test stablecoin's own
 * EIP-3009 / EIP-2612 behaviour.
 */
import { encodeFunctionData, getAddress, keccak256, parseSignature, toHex, type Address, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { escrowAbi, testTokenAbi } from '../../../packages/pay/src/contracts/index.js'
import {
  feeOnTransferTokenAbi,
  feeOnTransferTokenBytecode,
  noReturnTokenAbi,
  noReturnTokenBytecode,
  reentrantTokenAbi,
  reentrantTokenBytecode,
} from '../../../packages/pay/src/contracts/generated/index.js'
import {
  claim,
  deposit,
  increaseTime,
  readEscrow,
  revert,
  setup,
  signCheque,
  snapshot,
  tokenBalance,
  write,
  type Fixture,
} from './fixture.js'

const USD = 1_000_000n
const DELAY = 600

async function deployRaw(f: Fixture, abi: readonly unknown[], bytecode: Hex): Promise<Address> {
  const hash = await f.wallet(0).deployContract({ abi, bytecode, args: [] })
  const r = await f.publicClient.waitForTransactionReceipt({ hash })
  return getAddress(r.contractAddress!)
}

describe('BitCDNEscrow deposits and tokens', () => {
  let f: Fixture
  let snap: Hex
  beforeAll(async () => {
    f = await setup({ accounts: 8, withdrawDelaySeconds: DELAY })
  })
  afterAll(async () => {
    await f?.stop()
  })
  beforeEach(async () => {
    snap = await snapshot(f)
  })
  afterEach(async () => {
    await revert(f, snap)
  })

  it('deposit credits the caller and emits Deposited; depositFor credits the named payer', async () => {
    const payer = f.accounts[1]!.address
    await deposit(f, 1, f.usdc, 7n * USD)
    expect(await readEscrow(f, 'balanceOf', [payer, f.usdc])).toBe(7n * USD)
    const w2 = f.wallet(2)
    await write(f, w2, { address: f.usdc, abi: testTokenAbi, functionName: 'approve', args: [f.escrow, 3n * USD] })
    const r = await write(f, w2, { address: f.escrow, abi: escrowAbi, functionName: 'depositFor', args: [payer, f.usdc, 3n * USD] })
    expect(r.logs.length).toBeGreaterThan(0)
    expect(await readEscrow(f, 'balanceOf', [payer, f.usdc])).toBe(10n * USD)
    expect(await readEscrow(f, 'balanceOf', [f.accounts[2]!.address, f.usdc])).toBe(0n)
    expect(await tokenBalance(f, f.usdc, f.escrow)).toBe(10n * USD)
  })

  it('rejects zero amounts, zero payers and tokens off the allowlist', async () => {
    await expect(deposit(f, 1, f.usdc, 0n)).rejects.toThrow(/ZeroAmount/)
    const stray = await deployRaw(f, noReturnTokenAbi, noReturnTokenBytecode)
    await write(f, f.wallet(1), { address: stray, abi: noReturnTokenAbi, functionName: 'mint', args: [f.accounts[1]!.address, USD] })
    await expect(
      write(f, f.wallet(1), { address: f.escrow, abi: escrowAbi, functionName: 'deposit', args: [stray, USD] }),
    ).rejects.toThrow(/TokenNotAllowed/)
    await expect(
      write(f, f.wallet(1), {
        address: f.escrow,
        abi: escrowAbi,
        functionName: 'depositFor',
        args: ['0x0000000000000000000000000000000000000000', f.usdc, USD],
      }),
    ).rejects.toThrow(/ZeroAddress/)
  })

  it('only the admin opens tokens; admin transfer is two-step', async () => {
    const token = await deployRaw(f, noReturnTokenAbi, noReturnTokenBytecode)
    await expect(
      write(f, f.wallet(1), { address: f.escrow, abi: escrowAbi, functionName: 'setTokenAllowed', args: [token, true] }),
    ).rejects.toThrow(/OwnableUnauthorizedAccount/)
    await write(f, f.wallet(0), { address: f.escrow, abi: escrowAbi, functionName: 'transferOwnership', args: [f.accounts[6]!.address] })
    expect(await readEscrow(f, 'owner')).toBe(f.accounts[0]!.address)
    await write(f, f.wallet(6), { address: f.escrow, abi: escrowAbi, functionName: 'acceptOwnership' })
    await write(f, f.wallet(6), { address: f.escrow, abi: escrowAbi, functionName: 'setTokenAllowed', args: [token, true] })
    expect(await readEscrow(f, 'isTokenAllowed', [token])).toBe(true)
  })

  it('rejects a fee-on-transfer token: the escrow must receive exactly the amount', async () => {
    const fee = await deployRaw(f, feeOnTransferTokenAbi, feeOnTransferTokenBytecode)
    await write(f, f.wallet(0), { address: f.escrow, abi: escrowAbi, functionName: 'setTokenAllowed', args: [fee, true] })
    const w = f.wallet(1)
    await write(f, w, { address: fee, abi: feeOnTransferTokenAbi, functionName: 'mint', args: [w.account.address, 100n * USD] })
    await write(f, w, { address: fee, abi: feeOnTransferTokenAbi, functionName: 'approve', args: [f.escrow, 100n * USD] })
    await expect(
      write(f, w, { address: f.escrow, abi: escrowAbi, functionName: 'deposit', args: [fee, 100n * USD] }),
    ).rejects.toThrow(/TransferAmountMismatch/)
    expect(await readEscrow(f, 'balanceOf', [w.account.address, fee])).toBe(0n)
  })

  it('a USDT-like token that returns no bool works end to end (deposit, claim, earnings, withdrawal)', async () => {
    const usdtLike = await deployRaw(f, noReturnTokenAbi, noReturnTokenBytecode)
    await write(f, f.wallet(0), { address: f.escrow, abi: escrowAbi, functionName: 'setTokenAllowed', args: [usdtLike, true] })
    const payer = f.wallet(1)
    await write(f, payer, { address: usdtLike, abi: noReturnTokenAbi, functionName: 'mint', args: [payer.account.address, 50n * USD] })
    await write(f, payer, { address: usdtLike, abi: noReturnTokenAbi, functionName: 'approve', args: [f.escrow, 50n * USD] })
    await write(f, payer, { address: f.escrow, abi: escrowAbi, functionName: 'deposit', args: [usdtLike, 50n * USD] })
    expect(await readEscrow(f, 'balanceOf', [payer.account.address, usdtLike])).toBe(50n * USD)

    const payee = f.accounts[3]!.address
    await claim(f, 5, [await signCheque(f, payer.account, { payer: payer.account.address, payee, token: usdtLike, cumulativeAmount: 20n * USD })])
    await write(f, f.wallet(3), { address: f.escrow, abi: escrowAbi, functionName: 'withdrawEarnings', args: [usdtLike, payee] })
    expect(await f.publicClient.readContract({ address: usdtLike, abi: noReturnTokenAbi, functionName: 'balanceOf', args: [payee] })).toBe(20n * USD)

    await write(f, payer, { address: f.escrow, abi: escrowAbi, functionName: 'requestWithdraw', args: [usdtLike, 30n * USD] })
    await increaseTime(f, DELAY)
    await write(f, payer, { address: f.escrow, abi: escrowAbi, functionName: 'finalizeWithdraw', args: [usdtLike] })
    expect(await f.publicClient.readContract({ address: usdtLike, abi: noReturnTokenAbi, functionName: 'balanceOf', args: [payer.account.address] })).toBe(30n * USD)
  })

  describe('depositWithAuthorization (EIP-3009 receiveWithAuthorization)', () => {
    const authTypes = (primaryType: 'ReceiveWithAuthorization' | 'TransferWithAuthorization') => ({
      [primaryType]: [
        { name: 'from', type: 'address' },
        { name: 'to', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'validAfter', type: 'uint256' },
        { name: 'validBefore', type: 'uint256' },
        { name: 'nonce', type: 'bytes32' },
      ],
    })
    const signAuth = async (
      primaryType: 'ReceiveWithAuthorization' | 'TransferWithAuthorization',
      owner: ReturnType<typeof privateKeyToAccount>,
      to: Address,
      value: bigint,
      nonce: Hex,
      validBefore = 2n ** 40n,
    ): Promise<Hex> =>
      owner.signTypedData({
        domain: { name: 'USD Coin (BitCDN test)', version: '1', chainId: f.deployment.chainId, verifyingContract: f.usdc },
        types: authTypes(primaryType),
        primaryType,
        message: { from: owner.address, to, value, validAfter: 0n, validBefore, nonce },
      } as never)

    it('credits `from` when anyone relays it (gasless deposit)', async () => {
      const owner = privateKeyToAccount(f.keys[2]!)
      const nonce = keccak256(toHex('deposit-1'))
      const sig = await signAuth('ReceiveWithAuthorization', owner, f.escrow, 12n * USD, nonce)
      await write(f, f.wallet(5), {
        address: f.escrow,
        abi: escrowAbi,
        functionName: 'depositWithAuthorization',
        args: [f.usdc, owner.address, 12n * USD, 0n, 2n ** 40n, nonce, sig],
      })
      expect(await readEscrow(f, 'balanceOf', [owner.address, f.usdc])).toBe(12n * USD)
      expect(await readEscrow(f, 'balanceOf', [f.accounts[5]!.address, f.usdc])).toBe(0n)
      expect(await f.publicClient.readContract({ address: f.usdc, abi: testTokenAbi, functionName: 'authorizationState', args: [owner.address, nonce] })).toBe(true)
      // replay fails at the token
      await expect(
        write(f, f.wallet(5), {
          address: f.escrow,
          abi: escrowAbi,
          functionName: 'depositWithAuthorization',
          args: [f.usdc, owner.address, 12n * USD, 0n, 2n ** 40n, nonce, sig],
        }),
      ).rejects.toThrow(/AuthorizationAlreadyUsed/)
    })

    it('front-running attack: the signature cannot be submitted to the token directly, nor as transferWithAuthorization', async () => {
      const owner = privateKeyToAccount(f.keys[2]!)
      const nonce = keccak256(toHex('deposit-2'))
      const sig = await signAuth('ReceiveWithAuthorization', owner, f.escrow, 12n * USD, nonce)
      const attacker = f.wallet(6)
      // receiveWithAuthorization requires msg.sender == to (the escrow)
      await expect(
        write(f, attacker, {
          address: f.usdc,
          abi: testTokenAbi,
          functionName: 'receiveWithAuthorization',
          args: [owner.address, f.escrow, 12n * USD, 0n, 2n ** 40n, nonce, sig],
        }),
      ).rejects.toThrow(/CallerMustBePayee/)
      // the same signature under the transfer type hash does not recover to the owner
      await expect(
        write(f, attacker, {
          address: f.usdc,
          abi: testTokenAbi,
          functionName: 'transferWithAuthorization',
          args: [owner.address, f.escrow, 12n * USD, 0n, 2n ** 40n, nonce, sig],
        }),
      ).rejects.toThrow(/InvalidAuthorizationSigner/)
      // nor can it be redirected to the attacker
      await expect(
        write(f, attacker, {
          address: f.usdc,
          abi: testTokenAbi,
          functionName: 'transferWithAuthorization',
          args: [owner.address, attacker.account.address, 12n * USD, 0n, 2n ** 40n, nonce, sig],
        }),
      ).rejects.toThrow(/InvalidAuthorizationSigner/)
      // the legitimate deposit still goes through afterwards
      await write(f, f.wallet(5), {
        address: f.escrow,
        abi: escrowAbi,
        functionName: 'depositWithAuthorization',
        args: [f.usdc, owner.address, 12n * USD, 0n, 2n ** 40n, nonce, sig],
      })
      expect(await readEscrow(f, 'balanceOf', [owner.address, f.usdc])).toBe(12n * USD)
    })

    it('an authorization for another amount or sender is refused', async () => {
      const owner = privateKeyToAccount(f.keys[2]!)
      const nonce = keccak256(toHex('deposit-3'))
      const sig = await signAuth('ReceiveWithAuthorization', owner, f.escrow, 12n * USD, nonce)
      await expect(
        write(f, f.wallet(5), {
          address: f.escrow,
          abi: escrowAbi,
          functionName: 'depositWithAuthorization',
          args: [f.usdc, owner.address, 13n * USD, 0n, 2n ** 40n, nonce, sig],
        }),
      ).rejects.toThrow(/InvalidAuthorizationSigner/)
      await expect(
        write(f, f.wallet(5), {
          address: f.escrow,
          abi: escrowAbi,
          functionName: 'depositWithAuthorization',
          args: [f.usdc, f.accounts[3]!.address, 12n * USD, 0n, 2n ** 40n, nonce, sig],
        }),
      ).rejects.toThrow(/InvalidAuthorizationSigner/)
    })

    it('TestStablecoin: transferWithAuthorization (v,r,s and bytes), expiry and cancelAuthorization', async () => {
      const owner = privateKeyToAccount(f.keys[2]!)
      const to = privateKeyToAccount(generatePrivateKey()).address
      const n1 = keccak256(toHex('t-1'))
      const sig = await signAuth('TransferWithAuthorization', owner, to, USD, n1)
      const { r, s, v } = parseSignature(sig)
      await write(f, f.wallet(6), {
        address: f.usdc,
        abi: testTokenAbi,
        functionName: 'transferWithAuthorization',
        args: [owner.address, to, USD, 0n, 2n ** 40n, n1, Number(v), r, s],
      })
      expect(await tokenBalance(f, f.usdc, to)).toBe(USD)

      const now = (await f.publicClient.getBlock()).timestamp
      const n2 = keccak256(toHex('t-2'))
      const expired = await signAuth('TransferWithAuthorization', owner, to, USD, n2, now)
      await expect(
        write(f, f.wallet(6), {
          address: f.usdc,
          abi: testTokenAbi,
          functionName: 'transferWithAuthorization',
          args: [owner.address, to, USD, 0n, now, n2, expired],
        }),
      ).rejects.toThrow(/AuthorizationExpired/)

      const n3 = keccak256(toHex('t-3'))
      const willCancel = await signAuth('TransferWithAuthorization', owner, to, USD, n3)
      const cancelSig = await owner.signTypedData({
        domain: { name: 'USD Coin (BitCDN test)', version: '1', chainId: f.deployment.chainId, verifyingContract: f.usdc },
        types: { CancelAuthorization: [{ name: 'authorizer', type: 'address' }, { name: 'nonce', type: 'bytes32' }] },
        primaryType: 'CancelAuthorization',
        message: { authorizer: owner.address, nonce: n3 },
      })
      await write(f, f.wallet(6), { address: f.usdc, abi: testTokenAbi, functionName: 'cancelAuthorization', args: [owner.address, n3, cancelSig] })
      await expect(
        write(f, f.wallet(6), {
          address: f.usdc,
          abi: testTokenAbi,
          functionName: 'transferWithAuthorization',
          args: [owner.address, to, USD, 0n, 2n ** 40n, n3, willCancel],
        }),
      ).rejects.toThrow(/AuthorizationAlreadyUsed/)
    })

    it('TestStablecoin: EIP-2612 permit, 6 decimals', async () => {
      const owner = privateKeyToAccount(f.keys[2]!)
      const spender = f.escrow
      const sig = await owner.signTypedData({
        domain: { name: 'USD Coin (BitCDN test)', version: '1', chainId: f.deployment.chainId, verifyingContract: f.usdc },
        types: {
          Permit: [
            { name: 'owner', type: 'address' },
            { name: 'spender', type: 'address' },
            { name: 'value', type: 'uint256' },
            { name: 'nonce', type: 'uint256' },
            { name: 'deadline', type: 'uint256' },
          ],
        },
        primaryType: 'Permit',
        message: { owner: owner.address, spender, value: 5n * USD, nonce: 0n, deadline: 2n ** 40n },
      })
      const { r, s, v } = parseSignature(sig)
      await write(f, f.wallet(6), { address: f.usdc, abi: testTokenAbi, functionName: 'permit', args: [owner.address, spender, 5n * USD, 2n ** 40n, Number(v), r, s] })
      expect(await f.publicClient.readContract({ address: f.usdc, abi: testTokenAbi, functionName: 'allowance', args: [owner.address, spender] })).toBe(5n * USD)
      expect(await f.publicClient.readContract({ address: f.usdc, abi: testTokenAbi, functionName: 'decimals' })).toBe(6)
    })
  })

  describe('reentrancy through a malicious token', () => {
    const REENTRANCY_SELECTOR = keccak256(toHex('ReentrancyGuardReentrantCall()')).slice(0, 10)

    it('a token re-entering withdrawEarnings during the payout is stopped; earnings are paid once', async () => {
      const evil = await deployRaw(f, reentrantTokenAbi, reentrantTokenBytecode)
      await write(f, f.wallet(0), { address: f.escrow, abi: escrowAbi, functionName: 'setTokenAllowed', args: [evil, true] })
      // a payer funds the escrow with the evil token; the token contract itself is the payee
      const payer = f.wallet(1)
      await write(f, payer, { address: evil, abi: reentrantTokenAbi, functionName: 'mint', args: [payer.account.address, 100n * USD] })
      await write(f, payer, { address: evil, abi: reentrantTokenAbi, functionName: 'approve', args: [f.escrow, 100n * USD] })
      await write(f, payer, { address: f.escrow, abi: escrowAbi, functionName: 'deposit', args: [evil, 100n * USD] })
      await claim(f, 5, [await signCheque(f, payer.account, { payer: payer.account.address, payee: evil, token: evil, cumulativeAmount: 10n * USD })])
      expect(await readEscrow(f, 'earnings', [evil, evil])).toBe(10n * USD)

      const sink = privateKeyToAccount(generatePrivateKey()).address
      const withdraw = encodeFunctionData({ abi: escrowAbi, functionName: 'withdrawEarnings', args: [evil, sink] })
      await write(f, f.wallet(6), { address: evil, abi: reentrantTokenAbi, functionName: 'arm', args: [f.escrow, withdraw] })
      await write(f, f.wallet(6), { address: evil, abi: reentrantTokenAbi, functionName: 'execute', args: [f.escrow, withdraw] })

      expect(await f.publicClient.readContract({ address: evil, abi: reentrantTokenAbi, functionName: 'lastCallSucceeded' })).toBe(false)
      expect(await f.publicClient.readContract({ address: evil, abi: reentrantTokenAbi, functionName: 'lastCallReturn' })).toBe(REENTRANCY_SELECTOR)
      expect(await f.publicClient.readContract({ address: evil, abi: reentrantTokenAbi, functionName: 'balanceOf', args: [sink] })).toBe(10n * USD)
      expect(await f.publicClient.readContract({ address: evil, abi: reentrantTokenAbi, functionName: 'balanceOf', args: [f.escrow] })).toBe(90n * USD)
      expect(await readEscrow(f, 'earnings', [evil, evil])).toBe(0n)
    })

    it('a token re-entering deposit / claim / finalizeWithdraw from inside transferFrom is stopped', async () => {
      const evil = await deployRaw(f, reentrantTokenAbi, reentrantTokenBytecode)
      await write(f, f.wallet(0), { address: f.escrow, abi: escrowAbi, functionName: 'setTokenAllowed', args: [evil, true] })
      // the token is itself a payer: it holds tokens and deposits them
      await write(f, f.wallet(6), { address: evil, abi: reentrantTokenAbi, functionName: 'mint', args: [evil, 100n * USD] })
      const approve = encodeFunctionData({ abi: reentrantTokenAbi, functionName: 'approve', args: [f.escrow, 100n * USD] })
      await write(f, f.wallet(6), { address: evil, abi: reentrantTokenAbi, functionName: 'execute', args: [evil, approve] })
      const reDeposit = encodeFunctionData({ abi: escrowAbi, functionName: 'deposit', args: [evil, 50n * USD] })
      await write(f, f.wallet(6), { address: evil, abi: reentrantTokenAbi, functionName: 'arm', args: [f.escrow, reDeposit] })
      await write(f, f.wallet(6), { address: evil, abi: reentrantTokenAbi, functionName: 'execute', args: [f.escrow, reDeposit] })
      expect(await f.publicClient.readContract({ address: evil, abi: reentrantTokenAbi, functionName: 'lastCallSucceeded' })).toBe(false)
      expect(await f.publicClient.readContract({ address: evil, abi: reentrantTokenAbi, functionName: 'lastCallReturn' })).toBe(REENTRANCY_SELECTOR)
      expect(await readEscrow(f, 'balanceOf', [evil, evil])).toBe(50n * USD)
      expect(await f.publicClient.readContract({ address: evil, abi: reentrantTokenAbi, functionName: 'balanceOf', args: [f.escrow] })).toBe(50n * USD)

      // withdrawal: during the payout the token tries to finalize again
      const request = encodeFunctionData({ abi: escrowAbi, functionName: 'requestWithdraw', args: [evil, 50n * USD] })
      await write(f, f.wallet(6), { address: evil, abi: reentrantTokenAbi, functionName: 'execute', args: [f.escrow, request] })
      await increaseTime(f, DELAY)
      const finalize = encodeFunctionData({ abi: escrowAbi, functionName: 'finalizeWithdraw', args: [evil] })
      await write(f, f.wallet(6), { address: evil, abi: reentrantTokenAbi, functionName: 'arm', args: [f.escrow, finalize] })
      await write(f, f.wallet(6), { address: evil, abi: reentrantTokenAbi, functionName: 'execute', args: [f.escrow, finalize] })
      expect(await f.publicClient.readContract({ address: evil, abi: reentrantTokenAbi, functionName: 'lastCallSucceeded' })).toBe(false)
      expect(await readEscrow(f, 'balanceOf', [evil, evil])).toBe(0n)
      expect(await f.publicClient.readContract({ address: evil, abi: reentrantTokenAbi, functionName: 'balanceOf', args: [f.escrow] })).toBe(0n)
    })
  })
})
