import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { escrowAbi, testTokenAbi } from '../contracts/index.js'
import { anvilAccounts, startAnvil, type AnvilInstance } from './anvil.js'
import { deploy, deployLocal, deployTestStablecoin } from './deploy.js'
import { loadDeployment, writeDeployment } from './deployment.js'

describe('deployLocal on anvil', () => {
  let anvil: AnvilInstance
  let dir: string
  beforeAll(async () => {
    anvil = await startAnvil()
    dir = await mkdtemp(join(tmpdir(), 'bitcdn-deploy-'))
  })
  afterAll(async () => {
    await anvil?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('deploys tokens and escrow, funds accounts, and round-trips the deployment file', async () => {
    const accounts = anvilAccounts(3).map((a) => a.address)
    const d = await deployLocal({ rpcUrl: anvil.rpcUrl, withdrawDelaySeconds: 60, fund: { accounts, amount: 5_000_000n } })
    expect(d.chainId).toBe(31337)
    expect(d.network).toBe('local')
    expect(d.tokens.USDT).toBeDefined()
    const client = createPublicClient({ transport: http(anvil.rpcUrl) })
    expect(await client.readContract({ address: d.escrow, abi: escrowAbi, functionName: 'withdrawDelay' })).toBe(60n)
    expect(await client.readContract({ address: d.escrow, abi: escrowAbi, functionName: 'isTokenAllowed', args: [d.tokens.USDC] })).toBe(true)
    expect(await client.readContract({ address: d.escrow, abi: escrowAbi, functionName: 'isTokenAllowed', args: [d.tokens.USDT!] })).toBe(true)
    for (const a of accounts) {
      expect(await client.readContract({ address: d.tokens.USDC, abi: testTokenAbi, functionName: 'balanceOf', args: [a] })).toBe(5_000_000n)
    }
    const file = join(dir, 'nested', 'deployment.json')
    await writeDeployment(file, d)
    expect(await loadDeployment(file)).toEqual(d)
  })

  it('refuses a preset whose chain id differs from the RPC', async () => {
    const usdc = await deployTestStablecoin({ rpcUrl: anvil.rpcUrl, name: 'X', symbol: 'USDC' })
    await expect(
      deploy({ preset: 'base', rpcUrl: anvil.rpcUrl, deployerKey: anvilAccounts(1)[0]!.privateKey, tokens: { USDC: usdc } }),
    ).rejects.toMatchObject({ code: 'BITCDN_ERR_PRESET_INVALID' })
  })

  it('refuses a withdrawal delay of 0 or over 30 days before sending anything (the escrow would revert)', async () => {
    const usdc = await deployTestStablecoin({ rpcUrl: anvil.rpcUrl, name: 'X', symbol: 'USDC' })
    const deployerKey = anvilAccounts(1)[0]!.privateKey
    for (const withdrawDelaySeconds of [0, 30 * 86_400 + 1]) {
      await expect(deploy({ rpcUrl: anvil.rpcUrl, deployerKey, tokens: { USDC: usdc }, withdrawDelaySeconds })).rejects.toMatchObject({
        code: 'BITCDN_ERR_PRESET_INVALID',
        message: expect.stringContaining(`got ${withdrawDelaySeconds}`),
      })
    }
  })
})

describe('loadDeployment', () => {
  it('reports a missing file as BITCDN_ERR_DEPLOYMENT_NOT_FOUND', async () => {
    await expect(loadDeployment('/nonexistent/bitcdn/deployment.json')).rejects.toMatchObject({
      code: 'BITCDN_ERR_DEPLOYMENT_NOT_FOUND',
    })
  })
  it('reports bad JSON and bad fields as BITCDN_ERR_DEPLOYMENT_INVALID, naming the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bitcdn-deploy-'))
    try {
      await writeFile(join(dir, 'a.json'), '{not json')
      await expect(loadDeployment(join(dir, 'a.json'))).rejects.toMatchObject({ code: 'BITCDN_ERR_DEPLOYMENT_INVALID' })
      await writeFile(
        join(dir, 'b.json'),
        JSON.stringify({ chainId: 1, rpcUrl: 'x', escrow: '0x12', tokens: { USDC: '0x0000000000000000000000000000000000000001' }, withdrawDelaySeconds: 1, deployedAtBlock: 0, network: 'x' }),
      )
      await expect(loadDeployment(join(dir, 'b.json'))).rejects.toThrow(/escrow/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
