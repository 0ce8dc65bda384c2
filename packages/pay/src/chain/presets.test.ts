import { createPublicClient, createTestClient, getAddress, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { escrowAbi } from '../contracts/index.js'
import { anvilAccounts, startAnvil, type AnvilInstance } from './anvil.js'
import { deploy, deployTestStablecoin } from './deploy.js'
import { getPreset, MIN_PRODUCTION_WITHDRAW_DELAY_SECONDS, presetNames, presetRpcUrl, presets } from './presets.js'

describe('presets', () => {
  it('cover the eight networks with distinct chain ids, checksummed USDC, and ≥ 48 h notice', () => {
    expect(presetNames.sort()).toEqual(
      ['arbitrum-one', 'arbitrum-sepolia', 'base', 'base-sepolia', 'op-mainnet', 'op-sepolia', 'polygon', 'polygon-amoy'].sort(),
    )
    const ids = new Set<number>()
    for (const p of Object.values(presets)) {
      ids.add(p.chainId)
      expect(getAddress(p.tokens.USDC)).toBe(p.tokens.USDC)
      if (p.tokens.USDT) expect(getAddress(p.tokens.USDT)).toBe(p.tokens.USDT)
      expect(p.withdrawDelaySeconds).toBeGreaterThanOrEqual(MIN_PRODUCTION_WITHDRAW_DELAY_SECONDS)
      expect(p.rpcUrlEnv).toMatch(/^BITCDN_RPC_URL_[A-Z_]+$/)
    }
    expect(ids.size).toBe(8)
    expect(presets.base.chainId).toBe(8453)
    expect(presets['base-sepolia'].chainId).toBe(84532)
  })

  it('an unknown name is BITCDN_ERR_PRESET_UNKNOWN', () => {
    expect(() => getPreset('mainnet-ish')).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_PRESET_UNKNOWN' }))
  })

  it('the RPC URL comes from the flag, else the preset env variable, else an error', () => {
    const base = getPreset('base')
    expect(presetRpcUrl(base, 'http://x', {})).toBe('http://x')
    expect(presetRpcUrl(base, undefined, { BITCDN_RPC_URL_BASE: 'http://y' })).toBe('http://y')
    expect(() => presetRpcUrl(base, undefined, {})).toThrow(expect.objectContaining({ code: 'BITCDN_ERR_PRESET_INVALID' }))
  })
})

describe('deploy through a preset, against anvil pretending to be Base (--chain-id 8453)', () => {
  let anvil: AnvilInstance
  const deployerKey = anvilAccounts(1)[0]!.privateKey
  beforeAll(async () => {
    anvil = await startAnvil({ chainId: 8453 })
  })
  afterAll(async () => {
    await anvil?.stop()
  })

  it('deploys with a test token standing in for USDC and the preset’s 48 h notice', async () => {
    const usdc = await deployTestStablecoin({ rpcUrl: anvil.rpcUrl, name: 'USD Coin', symbol: 'USDC' })
    const d = await deploy({ preset: 'base', rpcUrl: anvil.rpcUrl, deployerKey, tokens: { USDC: usdc }, pollingIntervalMs: 50 })
    expect(d).toMatchObject({ chainId: 8453, network: 'base', withdrawDelaySeconds: 172_800, tokens: { USDC: usdc } })
    const client = createPublicClient({ transport: http(anvil.rpcUrl) })
    expect(await client.readContract({ address: d.escrow, abi: escrowAbi, functionName: 'withdrawDelay' })).toBe(172_800n)
    expect(await client.readContract({ address: d.escrow, abi: escrowAbi, functionName: 'isTokenAllowed', args: [usdc] })).toBe(true)
  })

  it('deploys with the preset’s own USDC address once code lives there (anvil_setCode)', async () => {
    const stand = await deployTestStablecoin({ rpcUrl: anvil.rpcUrl, name: 'USD Coin', symbol: 'USDC' })
    const client = createPublicClient({ transport: http(anvil.rpcUrl) })
    const code = await client.getCode({ address: stand })
    // before: the canonical address is empty on this fresh chain
    await expect(deploy({ preset: 'base', rpcUrl: anvil.rpcUrl, deployerKey, pollingIntervalMs: 50 })).rejects.toMatchObject({
      code: 'BITCDN_ERR_DEPLOY_FAILED',
    })
    await createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) }).setCode({ address: presets.base.tokens.USDC, bytecode: code! })
    const d = await deploy({ preset: 'base', rpcUrl: anvil.rpcUrl, deployerKey, pollingIntervalMs: 50 })
    expect(d.tokens.USDC).toBe(presets.base.tokens.USDC)
    expect(d.tokens.USDT).toBeUndefined()
  })

  it('refuses a notice under 48 h on a preset', async () => {
    const usdc = await deployTestStablecoin({ rpcUrl: anvil.rpcUrl, name: 'USD Coin', symbol: 'USDC' })
    await expect(
      deploy({ preset: 'base', rpcUrl: anvil.rpcUrl, deployerKey, tokens: { USDC: usdc }, withdrawDelaySeconds: 3600 }),
    ).rejects.toMatchObject({ code: 'BITCDN_ERR_PRESET_INVALID' })
  })

  it('refuses a preset for another chain (base-sepolia on chain 8453)', async () => {
    const usdc = await deployTestStablecoin({ rpcUrl: anvil.rpcUrl, name: 'USD Coin', symbol: 'USDC' })
    await expect(
      deploy({ preset: 'base-sepolia', rpcUrl: anvil.rpcUrl, deployerKey, tokens: { USDC: usdc } }),
    ).rejects.toThrow(/serves chain 8453/)
  })

  it('an unreachable RPC or a bad key is BITCDN_ERR_DEPLOY_FAILED', async () => {
    await expect(deploy({ preset: 'base', rpcUrl: 'http://127.0.0.1:1', deployerKey })).rejects.toMatchObject({
      code: 'BITCDN_ERR_DEPLOY_FAILED',
    })
    await expect(deploy({ preset: 'base', rpcUrl: anvil.rpcUrl, deployerKey: '0x1234' })).rejects.toMatchObject({
      code: 'BITCDN_ERR_DEPLOY_FAILED',
    })
  })
})
