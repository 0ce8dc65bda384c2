/**
 * Must-show of issue 8, end to end on anvil with the real escrow: a buyer (`bitcdn get --wallet`,
 * a real process, with a key imported and funds deposited through `bitcdn wallet`) downloads
 * 256 MiB from three `bitcdn node` processes priced 1, 2 and 4 USDC/GiB, each seeding the same
 * files in place. After each node's cash-out (`bitcdn node cashout`):
 *   - each node's on-chain income (the escrow's `paidOut(payer, node)`, withdrawn to the node's
 *     wallet) equals its verified bytes served × its price, rounded down once on the cumulative:
 *     ⌊bytes × price / 2^30⌋, which is below the exact value by less than one token base unit
 *     (0.000001 USDC) per node, in the buyer's favour (the documented rounding);
 *   - the buyer paid nothing for bytes it did not verify: the bytes it paid for add up to exactly
 *     the 256 MiB it verified, while the nodes sent at least that much (endgame duplicates);
 *   - the cheaper nodes served more (the buyer's policy by price).
 * CPU: one random 256 MiB file, hashed once by `create`, once by each node at start (seeding in
 * place is rechecked) and by the buyer as it verifies; 1 MiB pieces keep the cheque count near 300.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Address } from 'viem'
import { escrowAbi, testTokenAbi, writeDeployment } from '@bitcdn/pay'
import { requireTools } from '../interop/helpers/clients.js'
import { removeDir, sha256Tree, tempDir, writeRandomFiles } from '../interop/helpers/data.js'
import { stopAll } from '../interop/helpers/processes.js'
import { startPayChain, type PayChain } from '../pay/helpers.js'
import { admin, freePort, metric, runBitcdn, startNodeProcess, until, type RunningNodeProcess } from './helpers.js'

const MiB = 1024 * 1024
const SIZE = 256 * MiB
const GiB = 1n << 30n
const PRICES = ['1', '2', '4'] // USDC per GiB, cheapest first
let chain: PayChain
let dir: string

interface NodeUnderTest {
  home: string
  payee: Address
  price: bigint
  proc: RunningNodeProcess
}
const nodes: NodeUnderTest[] = []

beforeAll(async () => {
  requireTools(['cli'])
  chain = await startPayChain({ withdrawDelaySeconds: 3600 })
  dir = tempDir('node-paid-e2e-')
  writeRandomFiles(join(dir, 'src'), { 'movie.bin': SIZE })
  const c = await runBitcdn(dir, ['create', join(dir, 'src', 'movie.bin'), '--piece-length', '1MiB', '-o', join(dir, 'movie.torrent')])
  expect(c.code).toBe(0)
  for (const price of PRICES) {
    const home = join(dir, `node-${price}`)
    mkdirSync(home)
    await writeDeployment(join(home, 'deployment.json'), chain.deployment)
    const init = await runBitcdn(home, ['node', 'init', '--scrypt-n', '1024', '--port', '0', '--admin-port', String(await freePort()), '--price', price])
    expect(init.code).toBe(0)
    const payee = init.stdout.match(/^node address\s+(0x[0-9a-fA-F]{40})/m)![1] as Address
    // claims only when asked, counted after one block
    const configFile = join(home, 'node', 'config.toml')
    writeFileSync(configFile, readFileSync(configFile, 'utf8').replace('threshold = "5"', 'threshold = "1000"').replace('confirmations = 2', 'confirmations = 1'))
    await chain.testClient.setBalance({ address: payee, value: 10n ** 20n })
    expect((await runBitcdn(home, ['node', 'pin', join(dir, 'movie.torrent'), '--dir', join(dir, 'src')])).code).toBe(0)
    nodes.push({ home, payee, price: BigInt(Number(price) * 1_000_000), proc: await startNodeProcess(home) })
  }
}, 600_000)
afterAll(async () => {
  await stopAll()
  await chain?.anvil.stop()
  removeDir(dir)
})

describe('paid delivery end to end: three bitcdn nodes, one paying bitcdn get', () => {
  it('each node earns on chain exactly its verified bytes × price; the buyer paid only for verified bytes; the cheaper served more', async () => {
    const { deployment, publicClient } = chain
    const usdc = deployment.tokens.USDC
    const buyerHome = join(dir, 'buyer')
    mkdirSync(buyerHome)
    await writeDeployment(join(buyerHome, 'deployment.json'), deployment)
    writeFileSync(join(dir, 'buyer.key'), chain.accounts[5]!.privateKey)
    const imp = await runBitcdn(buyerHome, ['wallet', 'import', '--key', 'buyer', '--from-file', join(dir, 'buyer.key'), '--scrypt-n', '1024'])
    const payer = imp.stdout.match(/^address\s+(0x[0-9a-fA-F]{40})$/m)![1] as Address
    expect((await runBitcdn(buyerHome, ['wallet', 'deposit', '10', '--key', 'buyer'])).code).toBe(0)

    const peers = nodes.flatMap((n) => ['--peer', `127.0.0.1:${n.proc.port}`])
    const get = await runBitcdn(buyerHome, ['get', join(dir, 'movie.torrent'), '-o', join(dir, 'dl'), ...peers, '--wallet', 'buyer', '--max-price', '5', '--budget', '5', '--timeout', '120'], 900_000)
    expect(get.stderr).not.toMatch(/^bitcdn:/m)
    expect(get.code).toBe(0)
    expect(sha256Tree(join(dir, 'dl'))).toEqual(sha256Tree(join(dir, 'src')))

    // what the buyer says it paid, per node: bytes verified from it, price, amount
    const rows = new Map<string, { bytes: number; paid: bigint }>()
    for (const m of get.stdout.matchAll(/^ {2}(0x[0-9a-fA-F]{40}) {2}\S+ \S+ \((\d+) B\) at (\S+) USDC\/GiB: (\S+) USDC$/gm)) {
      rows.set(m[1]!, { bytes: Number(m[2]), paid: units(m[4]!) })
    }
    expect([...rows.keys()].sort()).toEqual(nodes.map((n) => n.payee).sort())
    const verified = nodes.map((n) => rows.get(n.payee)!.bytes)
    // every verified byte is paid to exactly one node, and nothing else is paid for
    expect(verified.reduce((a, b) => a + b, 0)).toBe(SIZE)
    const total = units(get.stdout.match(/^paid (\S+) USDC of a 5 USDC budget to 3 seller\(s\):$/m)![1]!)

    let sum = 0n
    for (const [i, n] of nodes.entries()) {
      const owed = (BigInt(verified[i]!) * n.price) / GiB
      // the documented rounding: one floor on the cumulative, under one base unit per node
      expect(rows.get(n.payee)!.paid).toBe(owed)
      expect(BigInt(verified[i]!) * n.price - owed * GiB).toBeLessThan(GiB)
      sum += owed
      // the node sent at least what the buyer verified from it (paid bytes served, metrics)
      const served = async () => metric(await (await admin(n.home, n.proc.adminUrl, '/metrics')).text(), 'bitcdn_bytes_served_total', '{kind="paid"}')
      await until(`node ${PRICES[i]} USDC/GiB counted its paid bytes`, async () => (await served()) >= verified[i]!, 30_000) // counters move on the node's 1 s tick
      expect(await served()).toBeGreaterThanOrEqual(verified[i]!)
      // and its ledger holds exactly the buyer's cumulative
      const e = (await (await admin(n.home, n.proc.adminUrl, '/earnings')).json()) as { payers: { payer: string; accruedUnits: string }[] }
      expect(BigInt(e.payers.find((p) => p.payer === payer)!.accruedUnits)).toBe(owed)
    }
    expect(total).toBe(sum)
    console.log(`e2e: verified ${verified.join(' / ')} bytes from the nodes at ${PRICES.join(' / ')} USDC/GiB; paid ${nodes.map((n) => rows.get(n.payee)!.paid).join(' / ')} base units`)
    // the buyer's policy by price: the cheapest served most, the dearest least
    expect(verified[0]!).toBeGreaterThan(verified[1]!)
    expect(verified[1]!).toBeGreaterThan(verified[2]!)

    // cash-out: each node claims on chain and withdraws its earnings to its own wallet
    for (const [i, n] of nodes.entries()) {
      const owed = (BigInt(verified[i]!) * n.price) / GiB
      const co = await runBitcdn(n.home, ['node', 'cashout'])
      expect(co.code).toBe(0)
      const paidOut = () => publicClient.readContract({ address: deployment.escrow, abi: escrowAbi, functionName: 'paidOut', args: [payer, n.payee, usdc] }) as Promise<bigint>
      await until(`node ${PRICES[i]} USDC/GiB claimed on chain`, async () => (await paidOut()) === owed, 120_000)
      const balance = () => publicClient.readContract({ address: usdc, abi: testTokenAbi, functionName: 'balanceOf', args: [n.payee] }) as Promise<bigint>
      await until(`node ${PRICES[i]} USDC/GiB withdrew its earnings`, async () => {
        if ((await balance()) === owed) return true
        await admin(n.home, n.proc.adminUrl, '/cashout', { method: 'POST' })
        return false
      }, 120_000)
      expect(await balance()).toBe(owed)
    }
    for (const n of nodes) await n.proc.proc.stop()
  }, 1_500_000)
})

/** "0.123456" USDC → base units. */
function units(text: string): bigint {
  const [whole, frac = ''] = text.split('.')
  return BigInt(whole!) * 1_000_000n + BigInt(frac.padEnd(6, '0'))
}
