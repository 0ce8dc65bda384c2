// `bitcdn get --wallet` as a new user runs it: a key imported with `bitcdn wallet import`, funds
// deposited with `bitcdn wallet deposit`, then a real `bitcdn get` process pays real sellers
// (swarm client + pay's SellerSettlement + market's seller, over TCP) on anvil with the real escrow.
// It pays each seller exactly ⌊verified bytes × price / 2^30⌋, leaves sellers above --max-price,
// stops at --budget, prints what it spent and to whom, and fails in one coded line when no
// seller is cheap enough, the budget is spent, or the RPC is down.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tokenUnits } from '@bitcdn/core'
import { createFileStore, createTorrent, type Metainfo } from '@bitcdn/content'
import { writeDeployment } from '@bitcdn/pay'
import { requireTools } from '../interop/helpers/clients.js'
import { removeDir, sha256Tree, tempDir, writeRandomFiles } from '../interop/helpers/data.js'
import { stopAll } from '../interop/helpers/processes.js'
import { startPayChain, type PayChain } from '../pay/helpers.js'
import { market, valueOf, type TestSeller } from '../market/market-helpers.js'
import { freePort, runBitcdn, startBitcdn, until } from '../node/helpers.js'

const MiB = 1024 * 1024
const SIZE = 6 * MiB
let chain: PayChain
let dir: string
let home: string
let m: Metainfo
let mk: ReturnType<typeof market>
let cheap: TestSeller
let dear: TestSeller
let torrentFile: string
let payer: string

beforeAll(async () => {
  requireTools(['cli'])
  chain = await startPayChain({ withdrawDelaySeconds: 3600 })
  mk = market(chain)
  dir = tempDir('cli-get-paid-')
  home = join(dir, 'home')
  mkdirSync(home)
  writeRandomFiles(join(dir, 'src'), { 'movie.bin': SIZE })
  m = await createTorrent(join(dir, 'src', 'movie.bin'), { pieceLength: 256 * 1024 })
  torrentFile = join(dir, 'movie.torrent')
  writeFileSync(torrentFile, m.torrentFile)
  // the sellers serve the files in place, read-only, as `bitcdn node pin --dir` does
  const store = async () => createFileStore(m, { dir: join(dir, 'src'), readOnly: true })
  cheap = await mk.seller(chain.accounts[2]!, m, await store(), { pricePerGiB: tokenUnits(500_000n) }) // 0.5 USDC/GiB
  dear = await mk.seller(chain.accounts[3]!, m, await store(), { pricePerGiB: tokenUnits(2_000_000n) }) // 2 USDC/GiB
  await writeDeployment(join(home, 'deployment.json'), chain.deployment)

  // the new user's key and deposit, through the CLI
  const keyFile = join(dir, 'key.txt')
  writeFileSync(keyFile, chain.accounts[6]!.privateKey)
  const imp = await runBitcdn(home, ['wallet', 'import', '--key', 'buyer', '--from-file', keyFile, '--scrypt-n', '1024'])
  expect(imp.stderr).toBe('')
  payer = imp.stdout.match(/^address\s+(0x[0-9a-fA-F]{40})$/m)![1]!
  const dep = await runBitcdn(home, ['wallet', 'deposit', '5', '--key', 'buyer'])
  expect(dep.stdout).toMatch(/^deposited 5 USDC/m)
}, 180_000)
afterAll(async () => {
  await mk?.cleanup()
  await stopAll()
  await chain?.anvil.stop()
  removeDir(dir)
})

const get = (out: string, extra: string[]) => runBitcdn(home, ['get', torrentFile, '-o', join(dir, out), '--peer', cheap.addr, '--peer', dear.addr, '--timeout', '20', ...extra])

describe('bitcdn get --wallet', () => {
  it('pays the seller under --max-price exactly its verified bytes × price, leaves the dearer one, and says so', async () => {
    const r = await get('dl', ['--wallet', 'buyer', '--max-price', '1', '--budget', '1'])
    expect(r.stderr).not.toMatch(/^bitcdn:/m)
    expect(r.code).toBe(0)
    expect(sha256Tree(join(dir, 'dl'))).toEqual(sha256Tree(join(dir, 'src')))
    const owed = valueOf(SIZE, 500_000n)
    const usdc = (u: bigint) => `${u / 1_000_000n}.${(u % 1_000_000n).toString().padStart(6, '0')}`.replace(/\.?0+$/, '')
    expect(r.stdout).toMatch(new RegExp(`^paid ${usdc(owed).replace('.', '\\.')} USDC of a 1 USDC budget to 1 seller\\(s\\):$`, 'm'))
    expect(r.stdout).toContain(`  ${cheap.payee}  6.0 MiB (${SIZE} B) at 0.5 USDC/GiB: ${usdc(owed)} USDC\n`)
    expect(r.stdout).not.toContain(dear.payee)
    // the seller stored exactly that cumulative (durably, before acknowledging), the dear one nothing
    expect(cheap.settlement.ledger.best(payer as `0x${string}`, mk.usdc)?.cheque.cumulativeAmount).toBe(owed)
    expect(dear.settlement.ledger.best(payer as `0x${string}`, mk.usdc)).toBeUndefined()
    // the cumulative lives in the payer's wallet file, written before it was signed
    expect(existsSync(join(home, 'payer', `${payer}.db`))).toBe(true)
  }, 180_000)

  it('a second download by the same payer continues its cumulative: the seller gets the sum', async () => {
    const r = await get('dl2', ['--wallet', 'buyer', '--max-price', '1', '--budget', '1'])
    expect(r.code).toBe(0)
    const owed = valueOf(SIZE, 500_000n)
    expect(cheap.settlement.ledger.best(payer as `0x${string}`, mk.usdc)?.cheque.cumulativeAmount).toBe(2n * owed)
    expect(r.stdout).not.toMatch(/not acknowledged/)
  }, 180_000)

  it('a gateway paying from the same key continues the same cumulative (one ledger per key), not a second one the seller refuses', async () => {
    const before = cheap.settlement.ledger.best(payer as `0x${string}`, mk.usdc)!.cheque.cumulativeAmount
    expect(before).toBeGreaterThan(0n)
    const gw = startBitcdn(home, ['gateway', torrentFile, '--port', '0', '--peer', cheap.addr, '--account', 'buyer', '--max-price', '1', '--budget', '1', '--allocation', '0', '--piece-timeout', '10'])
    const url = (await gw.waitFor(/^gateway listening on (http:\S+)$/m, 60_000))[1]!
    const res = await fetch(`${url}/t/${m.infoHash}`)
    expect(res.status).toBe(200)
    const body = Buffer.from(await res.arrayBuffer())
    expect(body.length).toBe(SIZE)
    expect(body.equals(readFileSync(join(dir, 'src', 'movie.bin')))).toBe(true)
    // the seller took the gateway's cheques on top of get's: each verified byte paid once, at 0.5 USDC/GiB
    await until('the gateway paid the seller', () => cheap.settlement.ledger.best(payer as `0x${string}`, mk.usdc)!.cheque.cumulativeAmount >= before + valueOf(SIZE, 500_000n), 20_000)
    expect(cheap.settlement.ledger.best(payer as `0x${string}`, mk.usdc)!.cheque.cumulativeAmount).toBe(before + valueOf(SIZE, 500_000n))
    await gw.stop()
    expect(gw.stderr()).not.toMatch(/not above/)
    expect(existsSync(join(home, 'gateway', 'wallet.db'))).toBe(false)
  }, 180_000)

  it('no seller under --max-price: one coded line naming the prices seen, nothing paid', async () => {
    const r = await get('dl3', ['--wallet', 'buyer', '--max-price', '0.1', '--budget', '1'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^bitcdn: BITCDN_ERR_NO_SELLER: no seller under --max-price 0\.1 USDC\/GiB: 2 seller\(s\) asked 0\.5, 2 USDC\/GiB; raise --max-price or find other nodes$/m)
    expect(r.stderr).toMatch(/^paid 0 USDC of a 1 USDC budget to 0 seller\(s\)$/m)
  }, 60_000)

  it('budget exhausted: stops buying, pays only for verified bytes within the budget, one coded line', async () => {
    const before = cheap.settlement.ledger.best(payer as `0x${string}`, mk.usdc)!.cheque.cumulativeAmount
    // 0.0003 USDC buys 0.6 MiB at 0.5 USDC/GiB: two or so of the 24 pieces
    const r = await get('dl4', ['--wallet', 'buyer', '--max-price', '1', '--budget', '0.0003'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^bitcdn: BITCDN_ERR_BUDGET_EXHAUSTED: the budget of 0\.0003 USDC is spent at \d+\.\d%: run the same command again with a higher --budget to fetch the rest$/m)
    const line = r.stderr.match(/^paid (\S+) USDC of a 0\.0003 USDC budget/m)
    expect(line).not.toBeNull()
    const paidNow = cheap.settlement.ledger.best(payer as `0x${string}`, mk.usdc)!.cheque.cumulativeAmount - before
    expect(paidNow).toBeGreaterThan(0n)
    expect(paidNow).toBeLessThanOrEqual(300n)
    // what was paid is what the verified pieces were worth: the bytes kept on disk
    const bytes = Number(r.stderr.match(/\((\d+) B\) at 0\.5 USDC\/GiB/)![1])
    expect(bytes % (256 * 1024)).toBe(0)
    expect(paidNow).toBe(valueOf(bytes, 500_000n))
    // the blocks in flight when the budget was all committed landed and were paid before it stopped,
    // and the percentage it names is what it kept (it once quit first: nothing bought, "spent at 0.0%")
    const pct = r.stderr.match(/is spent at (\d+\.\d)%/)![1]
    expect(pct).toBe(((bytes / SIZE) * 100).toFixed(1))
  }, 60_000)

  it('an unreachable RPC fails at once in one line naming the URL', async () => {
    const port = await freePort()
    const r = await get('dl5', ['--wallet', 'buyer', '--budget', '1', '--rpc-url', `http://127.0.0.1:${port}`])
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toMatch(new RegExp(`^bitcdn: BITCDN_ERR_RPC_UNREACHABLE: cannot reach the chain RPC at http://127\\.0\\.0\\.1:${port} `))
  }, 60_000)

  it('usage: --budget is required with --wallet, and --max-price needs a wallet', async () => {
    const a = await get('dl6', ['--wallet', 'buyer'])
    expect(a.code).toBe(2) // a usage error, as commander's own
    expect(a.stderr.trim()).toBe('bitcdn: BITCDN_ERR_USAGE: --wallet needs --budget USDC: the most this download may spend')
    const b = await get('dl6', ['--max-price', '1'])
    expect(b.code).toBe(2)
    expect(b.stderr.trim()).toMatch(/^bitcdn: BITCDN_ERR_USAGE: --max-price and --budget pay nodes, which needs --wallet NAME/)
  }, 60_000)

  it('without a wallet, priced sellers serve nothing, and the stall says they want paying', async () => {
    const r = await runBitcdn(home, ['get', torrentFile, '-o', join(dir, 'dl8'), '--peer', cheap.addr, '--peer', dear.addr, '--timeout', '4'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^bitcdn: BITCDN_ERR_NO_SOURCE: no source delivered any data for 4 s \(tried 2 peer\(s\), 0 tracker\(s\), 0 web seed\(s\)\); 2 of the peers sell data and do not serve for free: pay them with --wallet NAME --budget USDC$/m)
  }, 60_000)

  it('a payer with nothing in the escrow is told to deposit', async () => {
    const keyFile = join(dir, 'key2.txt')
    writeFileSync(keyFile, chain.accounts[7]!.privateKey)
    expect((await runBitcdn(home, ['wallet', 'import', '--key', 'broke', '--from-file', keyFile, '--scrypt-n', '1024'])).code).toBe(0)
    const r = await get('dl7', ['--account', 'broke', '--budget', '1'])
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toMatch(/^bitcdn: BITCDN_ERR_ESCROW_EMPTY: 0x[0-9a-fA-F]{40} has no USDC in the escrow on chain 31337: .*bitcdn wallet deposit AMOUNT --key broke$/)
  }, 60_000)
})
