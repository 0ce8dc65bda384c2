/**
 * The wallet CLI as a newcomer meets it: real `bitcdn` processes, a real `bitcdn chain` (anvil +
 * escrow + test tokens) in the background, a fresh BITCDN_HOME. A new key has no gas until the
 * faucet funds it; a dev key imports from a file; reverts read as sentences; a chain that is down
 * is one line with its code and URL.
 */
import { createServer, type Server } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encryptKeystoreJson } from 'ethers'
import { privateKeyToAddress } from 'viem/accounts'
import { cliBin, requireTools } from '../interop/helpers/clients.js'
import { runProcess, startProcess, stopAll, type TestProcess } from '../interop/helpers/processes.js'

const dir = mkdtempSync(join(tmpdir(), 'bitcdn-newcomer-'))
const home = join(dir, 'home')
const foundryDir = join(dir, 'foundry-keystores')
const env = { ...process.env, BITCDN_HOME: home, BITCDN_PASSPHRASE: 'pässwörd of a newcomer', FOUNDRY_KEYSTORES_DIR: foundryDir, FORCE_COLOR: '0' }
delete (env as NodeJS.ProcessEnv).BITCDN_DEBUG
let chain: TestProcess
let rpcUrl: string

const DEV_KEY_1 = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d' // printed by `bitcdn chain`
const DEV_ADDRESS_1 = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'

function bitcdn(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  return runProcess(process.execPath, [cliBin, ...args], { env: { ...env, ...extraEnv }, cwd: dir })
}

/** Exit 1 and exactly one stderr line `bitcdn: CODE: …` matching `message`. */
function expectOneLine(r: { code: number | null; stderr: string }, code: string, message: RegExp): void {
  expect(r.code, r.stderr).toBe(1)
  expect(r.stderr).toMatch(new RegExp(`^bitcdn: ${code}: [^\\n]+\\n$`))
  expect(r.stderr).toMatch(message)
}

beforeAll(async () => {
  requireTools(['cli'])
  chain = startProcess(process.execPath, [cliBin, 'chain', '--port', '0', '--accounts', '2'], { env, name: 'bitcdn chain' })
  rpcUrl = (await chain.waitFor(/^rpc\s+(http:\/\/\S+)$/m, 120_000))[1]!
  await chain.waitFor(/Ctrl-C stops the chain/, 60_000)
}, 180_000)
afterAll(async () => {
  await stopAll()
  rmSync(dir, { recursive: true, force: true })
})

describe('wallet CLI for a newcomer (real processes, real chain)', { timeout: 240_000 }, () => {
  it('a new key has no gas: deposit fails naming the faucet; chain fund → deposit succeeds; balance shows gas', async () => {
    const made = await bitcdn(['wallet', 'new', '--key', 'newbie', '--scrypt-n', '1024'])
    expect(made.code, made.stderr).toBe(0)
    const address = made.stdout.match(/^address\s+(0x[0-9a-fA-F]{40})$/m)![1]!

    const broke = await bitcdn(['wallet', 'deposit', '5', '--key', 'newbie'])
    expectOneLine(broke, 'BITCDN_ERR_GAS_INSUFFICIENT', new RegExp(`not enough native currency.*bitcdn chain fund ${address}`))

    const funded = await bitcdn(['chain', 'fund', 'newbie', '--eth', '2', '--usdc', '90'])
    expect(funded.code, funded.stderr).toBe(0)
    expect(funded.stdout).toBe(`funded ${address}: +2 ETH, +90 USDC (now 2 ETH, 90 USDC)\n`)

    const dep = await bitcdn(['wallet', 'deposit', '12.5', '--account', 'newbie'])
    expect(dep.stderr).toBe('')
    expect(dep.stdout).toMatch(/^deposited 12\.5 USDC \(tx 0x[0-9a-f]{64}\)$/m)

    const bal = await bitcdn(['wallet', 'balance', '--key', 'newbie'])
    expect(bal.code, bal.stderr).toBe(0)
    expect(bal.stdout).toMatch(/^gas\s+1\.99\d* ETH$/m) // 2 ETH less two transactions' gas
    expect(bal.stdout).toMatch(/^wallet\s+77\.5 USDC$/m)
    expect(bal.stdout).toMatch(/^escrow free\s+12\.5 USDC$/m)
  })

  it('a deposit over the token balance fails with the decoded contract error in words', async () => {
    const r = await bitcdn(['wallet', 'deposit', '1000', '--key', 'newbie'])
    expectOneLine(r, 'BITCDN_ERR_TX_REVERTED', /: deposit of 1000 USDC exceeds your token balance of 77\.5 USDC\n$/)
    const w = await bitcdn(['wallet', 'withdraw', 'request', '100', '--key', 'newbie'])
    expectOneLine(w, 'BITCDN_ERR_TX_REVERTED', /: withdrawal request of 100 USDC exceeds your free escrow balance of 12\.5 USDC\n$/)
  })

  it('a funded dev key imported from a file deposits at once', async () => {
    const keyFile = join(dir, 'dev1.key')
    writeFileSync(keyFile, `${DEV_KEY_1}\n`, { mode: 0o600 })
    const imp = await bitcdn(['wallet', 'import', '--key', 'dev1', '--from-file', keyFile, '--scrypt-n', '1024'])
    expect(imp.code, imp.stderr).toBe(0)
    expect(imp.stdout).toMatch(new RegExp(`^address\\s+${DEV_ADDRESS_1}$`, 'm'))
    expect(imp.stdout + imp.stderr).not.toContain(DEV_KEY_1.slice(2))
    const dep = await bitcdn(['wallet', 'deposit', '25', '--key', 'dev1'])
    expect(dep.stderr).toBe('')
    expect(dep.code).toBe(0)
    const again = await bitcdn(['wallet', 'import', '--key', 'dev1', '--from-file', keyFile, '--scrypt-n', '1024'])
    expectOneLine(again, 'BITCDN_ERR_KEYSTORE_EXISTS', /already exists/)
    writeFileSync(keyFile, 'not a key\n')
    const bad = await bitcdn(['wallet', 'import', '--key', 'dev1b', '--from-file', keyFile])
    expectOneLine(bad, 'BITCDN_ERR_KEYSTORE_INVALID', /64 hex digits/)
  })

  it('--account NAME finds a Foundry keystore (here written by ethers) when BitCDN has no key of that name', async () => {
    const pk = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a'
    const json = await encryptKeystoreJson({ address: privateKeyToAddress(pk), privateKey: pk }, env.BITCDN_PASSPHRASE, { scrypt: { N: 1024 } })
    const { mkdirSync } = await import('node:fs')
    mkdirSync(foundryDir, { recursive: true })
    writeFileSync(join(foundryDir, 'castkey'), json)
    const show = await bitcdn(['wallet', 'show', '--account', 'castkey'])
    expect(show.code, show.stderr).toBe(0)
    expect(show.stdout).toContain(privateKeyToAddress(pk))
    await bitcdn(['chain', 'fund', privateKeyToAddress(pk), '--usdc', '10'])
    const dep = await bitcdn(['wallet', 'deposit', '1', '--account', 'castkey']) // decrypts ethers' file
    expect(dep.stderr).toBe('')
    const list = await bitcdn(['wallet', 'list'])
    expect(list.stdout).toMatch(/^castkey\s+0x\S+\s+\S+foundry-keystores\/castkey$/m)
    expect(list.stdout).toMatch(/^newbie\s+0x/m)
    expectOneLine(await bitcdn(['wallet', 'show', '--account', 'nobody']), 'BITCDN_ERR_KEYSTORE_NOT_FOUND', /no key named 'nobody'/)
  })

  it('chain fund refuses a chain that is not anvil', async () => {
    // a JSON-RPC endpoint that identifies as geth does (no other node software is installed here)
    const server: Server = createServer((req, res) => {
      let body = ''
      req.on('data', (d) => (body += d))
      req.on('end', () => {
        const { id, method } = JSON.parse(body) as { id: number; method: string }
        const result = method === 'web3_clientVersion' ? 'Geth/v1.14.11-stable/linux-amd64/go1.23.2' : '0x2105'
        res.setHeader('content-type', 'application/json').end(JSON.stringify({ jsonrpc: '2.0', id, result }))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
      const r = await bitcdn(['chain', 'fund', DEV_ADDRESS_1, '--rpc-url', url])
      expectOneLine(r, 'BITCDN_ERR_FAUCET_NOT_LOCAL', /works only on a local anvil chain; .* is Geth\/v1\.14/)
    } finally {
      server.close()
    }
  })

  it('with the chain down every wallet command is one line with BITCDN_ERR_RPC_UNREACHABLE and the URL; BITCDN_DEBUG=1 adds the stack', async () => {
    await chain.stop()
    for (const args of [['wallet', 'balance', '--key', 'newbie'], ['wallet', 'deposit', '1', '--key', 'newbie'], ['chain', 'fund', 'newbie']]) {
      const r = await bitcdn(args)
      expectOneLine(r, 'BITCDN_ERR_RPC_UNREACHABLE', new RegExp(`cannot reach the chain RPC at ${rpcUrl.replace(/\./g, '\\.')} \\(connection refused\\); is the local chain running\\? start it with \`bitcdn chain\``))
    }
    const debug = await bitcdn(['wallet', 'balance', '--key', 'newbie'], { BITCDN_DEBUG: '1' })
    expect(debug.stderr.split('\n')[0]).toMatch(/^bitcdn: BITCDN_ERR_RPC_UNREACHABLE: /)
    expect(debug.stderr).toMatch(/\n\s+at /) // the stack
    expect(debug.stderr).toMatch(/caused by: /)
  })
})
