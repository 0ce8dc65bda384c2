/**
 * `bitcdn chain` and `bitcdn chain deploy`, run in-process through their command functions against
 * real anvil instances (the CLI binary runs from dist/, which tests do not build).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { createPublicClient, createTestClient, createWalletClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildProgram } from '../../../packages/cli/src/main.js'
import { runLocalChain, runPresetDeploy } from '../../../packages/cli/src/commands/chain.js'
import { anvilAccounts, deployTestStablecoin, loadDeployment, presets, startAnvil, type AnvilInstance } from '../../../packages/pay/src/chain/index.js'
import { escrowAbi, testTokenAbi } from '../../../packages/pay/src/contracts/index.js'
import { keystorePath, writeKeystoreFile } from '../../../packages/pay/src/keystore/index.js'

const collect = () => {
  const out = new PassThrough()
  let text = ''
  out.on('data', (c: Buffer) => (text += c.toString()))
  return { out, text: () => text }
}

describe('bitcdn chain', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bitcdn-chain-cli-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('is registered with --help text', async () => {
    const chain = (await buildProgram()).commands.find((c) => c.name() === 'chain')
    expect(chain).toBeDefined()
    const help = chain!.helpInformation()
    for (const flag of ['--port', '--chain-id', '--withdraw-delay', '--accounts', '--heartbeat', '--block-time', '--out']) expect(help).toContain(flag)
    expect(chain!.commands.map((c) => c.name()).sort()).toEqual(['deploy', 'fund'])
  })

  it('starts anvil, deploys, funds the accounts, writes the deployment file, and stops when told', async () => {
    const file = join(dir, 'deployment.json')
    const { out, text } = collect()
    let release!: () => void
    const until = new Promise<void>((r) => (release = r))
    const running = runLocalChain({ port: 0, chainId: 31337, withdrawDelay: 30, accounts: 3, fund: 250, out: file }, until, out)
    // wait for the summary, then use the chain while it runs
    while (!text().includes('Ctrl-C')) await new Promise((r) => setTimeout(r, 50))
    const d = await loadDeployment(file)
    expect(text()).toContain(d.escrow)
    expect(text()).toContain(d.rpcUrl)
    const client = createPublicClient({ transport: http(d.rpcUrl) })
    expect(await client.readContract({ address: d.escrow, abi: escrowAbi, functionName: 'withdrawDelay' })).toBe(30n)
    for (const a of anvilAccounts(3)) {
      expect(text()).toContain(a.address)
      expect(await client.readContract({ address: d.tokens.USDC, abi: testTokenAbi, functionName: 'balanceOf', args: [a.address] })).toBe(250_000_000n)
    }
    // the heartbeat: an idle chain still gains blocks (claims get their confirmations), and
    // transactions are still mined
    const idle = await client.getBlockNumber({ cacheTime: 0 })
    await expect.poll(() => client.getBlockNumber({ cacheTime: 0 }), { timeout: 10_000, interval: 200 }).toBeGreaterThanOrEqual(idle + 2n)
    const test = createTestClient({ mode: 'anvil', transport: http(d.rpcUrl) })
    const [from, to] = anvilAccounts(3)
    await test.impersonateAccount({ address: from!.address })
    const wallet = createWalletClient({ account: from!.address, transport: http(d.rpcUrl) })
    const hash = await wallet.sendTransaction({ to: to!.address, value: 1n, chain: null })
    const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 20 })
    expect(receipt.status).toBe('success')
    release()
    await running
    await expect(client.getChainId()).rejects.toThrow()
  })
})

describe('bitcdn chain deploy --preset (anvil posing as Base Sepolia)', () => {
  let anvil: AnvilInstance
  let dir: string
  beforeAll(async () => {
    anvil = await startAnvil({ chainId: presets['base-sepolia'].chainId })
    dir = await mkdtemp(join(tmpdir(), 'bitcdn-chain-deploy-'))
    // put a test stablecoin's code at the canonical Base Sepolia USDC address
    const stand = await deployTestStablecoin({ rpcUrl: anvil.rpcUrl, name: 'USDC', symbol: 'USDC' })
    const code = await createPublicClient({ transport: http(anvil.rpcUrl) }).getCode({ address: stand })
    await createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) }).setCode({
      address: presets['base-sepolia'].tokens.USDC,
      bytecode: code!,
    })
  })
  afterAll(async () => {
    await anvil?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('deploys through the preset with the key from --private-key-env and writes the file', async () => {
    const file = join(dir, 'deployment.json')
    const { out, text } = collect()
    const env = { MY_KEY: anvilAccounts(1)[0]!.privateKey }
    const d = await runPresetDeploy({ preset: 'base-sepolia', rpcUrl: anvil.rpcUrl, privateKeyEnv: 'MY_KEY', out: file }, env, out)
    expect(d).toMatchObject({ chainId: 84532, network: 'base-sepolia', withdrawDelaySeconds: 172_800 })
    expect(await loadDeployment(file)).toEqual(d)
    expect(text()).toContain(d.escrow)
  })

  it('reads the deployer key from a keystore (bitcdn wallet format) with the passphrase from the env', async () => {
    const home = join(dir, 'home')
    await writeKeystoreFile(keystorePath(home, 'deployer'), anvilAccounts(2)[1]!.privateKey, 'pw', { scryptN: 1024 })
    const { out } = collect()
    const env = { BITCDN_HOME: home, BITCDN_PASSPHRASE: 'pw' }
    const file = join(dir, 'd3.json')
    const d = await runPresetDeploy({ preset: 'base-sepolia', rpcUrl: anvil.rpcUrl, key: 'deployer', out: file }, env, out)
    const owner = await createPublicClient({ transport: http(anvil.rpcUrl) }).readContract({ address: d.escrow, abi: escrowAbi, functionName: 'owner' })
    expect(owner).toBe(anvilAccounts(2)[1]!.address)
    await expect(
      runPresetDeploy({ preset: 'base-sepolia', rpcUrl: anvil.rpcUrl, key: 'deployer', out: file }, { ...env, BITCDN_PASSPHRASE: 'wrong' }, out),
    ).rejects.toMatchObject({ code: 'BITCDN_ERR_KEYSTORE_PASSPHRASE' })
    await expect(
      runPresetDeploy({ preset: 'base-sepolia', rpcUrl: anvil.rpcUrl, key: 'nobody', out: file }, env, out),
    ).rejects.toMatchObject({ code: 'BITCDN_ERR_KEYSTORE_NOT_FOUND' })
  })

  it('takes the RPC URL from the preset variable; refuses a missing key, a short delay, and a bad admin', async () => {
    const file = join(dir, 'd2.json')
    const { out } = collect()
    const key = anvilAccounts(1)[0]!.privateKey
    const env = { BITCDN_RPC_URL_BASE_SEPOLIA: anvil.rpcUrl, K: key }
    await expect(runPresetDeploy({ preset: 'base-sepolia', privateKeyEnv: 'K', out: file }, env, out)).resolves.toMatchObject({ chainId: 84532 })
    await expect(runPresetDeploy({ preset: 'base-sepolia', privateKeyEnv: 'NOPE', out: file }, env, out)).rejects.toMatchObject({
      code: 'BITCDN_ERR_PRESET_INVALID',
    })
    await expect(
      runPresetDeploy({ preset: 'base-sepolia', privateKeyEnv: 'K', withdrawDelay: 60, out: file }, env, out),
    ).rejects.toMatchObject({ code: 'BITCDN_ERR_PRESET_INVALID' })
    await expect(
      runPresetDeploy({ preset: 'base-sepolia', privateKeyEnv: 'K', admin: '0x12', out: file }, env, out),
    ).rejects.toMatchObject({ code: 'BITCDN_ERR_PRESET_INVALID' })
    await expect(runPresetDeploy({ preset: 'base-sepolia', privateKeyEnv: 'K', out: file }, { K: key }, out)).rejects.toMatchObject({
      code: 'BITCDN_ERR_PRESET_INVALID',
    })
  })
})
