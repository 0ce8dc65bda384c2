import { readFileSync } from 'node:fs'
import { createPublicClient, http } from 'viem'
import { describe, expect, it } from 'vitest'
import { ANVIL_MNEMONIC, anvilAccounts, anvilBinaryPath, anvilEnv, startAnvil } from './anvil.js'
import { bitcdnHome, defaultDeploymentPath } from './paths.js'

describe('startAnvil', () => {
  it('starts on a free port with the requested chain id, and stop() ends the process', async () => {
    const anvil = await startAnvil({ chainId: 4242, accounts: 2 })
    try {
      expect(anvil.port).toBeGreaterThan(0)
      const client = createPublicClient({ transport: http(anvil.rpcUrl) })
      expect(await client.getChainId()).toBe(4242)
      expect(await client.getBalance({ address: anvilAccounts(1)[0]!.address })).toBeGreaterThan(0n)
    } finally {
      await anvil.stop()
      await anvil.stop() // idempotent
    }
    expect(() => process.kill(anvil.pid, 0)).toThrow()
  })

  it('a taken port is BITCDN_ERR_ANVIL_START with anvil’s reason', async () => {
    const first = await startAnvil()
    try {
      await expect(startAnvil({ port: first.port })).rejects.toMatchObject({ code: 'BITCDN_ERR_ANVIL_START' })
    } finally {
      await first.stop()
    }
  })

  it('a missing binary is BITCDN_ERR_ANVIL_START', async () => {
    expect(anvilBinaryPath({ BITCDN_ANVIL_BIN: '/x/anvil' })).toBe('/x/anvil')
    const prev = process.env.BITCDN_ANVIL_BIN
    process.env.BITCDN_ANVIL_BIN = '/nonexistent/anvil'
    try {
      await expect(startAnvil()).rejects.toMatchObject({ code: 'BITCDN_ERR_ANVIL_START' })
    } finally {
      if (prev === undefined) delete process.env.BITCDN_ANVIL_BIN
      else process.env.BITCDN_ANVIL_BIN = prev
    }
  })

  it('anvil is not handed BITCDN_PASSPHRASE or other secrets from our environment', async () => {
    const saved = { pass: process.env.BITCDN_PASSPHRASE, key: process.env.DEPLOYER_KEY }
    process.env.BITCDN_PASSPHRASE = 'leak-me-not'
    process.env.DEPLOYER_KEY = '0xleak'
    const anvil = await startAnvil({ accounts: 1 })
    try {
      // the real anvil process (not the watchdog shell): its environment as the kernel holds it
      const environ = readFileSync(`/proc/${anvil.pid}/environ`, 'utf8').split('\0')
      expect(environ.some((e) => e.startsWith('PATH='))).toBe(true)
      expect(environ.filter((e) => e.includes('leak'))).toEqual([])
    } finally {
      await anvil.stop()
      for (const [k, v] of [['BITCDN_PASSPHRASE', saved.pass], ['DEPLOYER_KEY', saved.key]] as const) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    }
    expect(anvilEnv({ PATH: '/bin', BITCDN_PASSPHRASE: 'x', FOUNDRY_PROFILE: 'p', AWS_SECRET_ACCESS_KEY: 'y' })).toEqual({ PATH: '/bin', FOUNDRY_PROFILE: 'p' })
  })

  it('derives anvil’s well-known dev accounts', () => {
    expect(ANVIL_MNEMONIC.split(' ')).toHaveLength(12)
    expect(anvilAccounts(2).map((a) => a.address)).toEqual([
      '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
      '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    ])
  })
})

describe('paths', () => {
  it('BITCDN_HOME overrides ~/.bitcdn; the deployment file lives in it', () => {
    expect(bitcdnHome({ BITCDN_HOME: '/tmp/bh' })).toBe('/tmp/bh')
    expect(bitcdnHome({})).toMatch(/\.bitcdn$/)
    expect(defaultDeploymentPath({ BITCDN_HOME: '/tmp/bh' })).toBe('/tmp/bh/deployment.json')
  })
})
