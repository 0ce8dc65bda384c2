/**
 * `bitcdn devnet` as a function: the whole network on this machine, in one process — anvil with
 * the escrow and test stablecoins, the hub (tracker, API, website when built), N paid nodes at
 * different prices, a gateway that pays them from a funded dev wallet, the sample content pinned
 * on every node and, optionally, a few requests so the statistics move.
 *
 * The chain is new at every start (anvil keeps no state), so what refers to the old one — node
 * ledgers, the gateway's wallet, the hub's database — is reset; keys, configs, content and the
 * nodes' data are kept. Each node registers itself with the hub (its config's `[hub] urls`), as
 * any operator's node does: signed by its payout key at start and refreshed every minute.
 */
import { createWriteStream, existsSync, type WriteStream } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createPublicClient, createWalletClient, http, type Address, type Hex } from 'viem'
import { foundry } from 'viem/chains'
import { privateKeyToAccount } from 'viem/accounts'
import { BitcdnError, tokenUnits } from '@bitcdn/core'
import { createTorrent, type Metainfo } from '@bitcdn/content'
import { createGateway, createGatewayLogger, type Gateway } from '@bitcdn/gateway'
import { createHub, openSqliteHubStore, type Hub } from '@bitcdn/hub'
import { bytesValue, createPaidBuyer, type PaidBuyer } from '@bitcdn/market'
import { initNode, nodePaths, runNode, type RunningNode } from '@bitcdn/node'
import { anvilAccounts, createPayerWallet, formatTokenAmount, deployLocal, escrowAbi, startAnvil, testTokenAbi, writeDeployment, type AnvilInstance, type Deployment, type PayerWallet } from '@bitcdn/pay'
import { checkPorts } from './ports.js'
import { makeSampleContent, SAMPLE_FILES } from './sample-content.js'

/** Options of {@link startDevnet}; ports 0 pick free ones. */
export interface DevnetOptions {
  dir: string
  nodes: number
  chainPort: number
  hubPort: number
  trackerPort: number
  gatewayPort: number
  /** First node's BitTorrent port; node i gets +i (0: any). */
  nodePort: number
  /** First node's admin API port; node i gets +i (0: any). */
  adminPort: number
  /** Send a few gateway requests once up, and cash them out, so the statistics move. */
  traffic: boolean
  /** Progress lines. */
  progress?: (line: string) => void
}

export interface DevnetNode {
  payee: Address
  pricePerGiB: string
  endpoint: string
  adminUrl: string
  adminToken: string
  running: RunningNode
}

export interface Devnet {
  dir: string
  deployment: Deployment
  hub: Hub
  gateway: Gateway
  buyer: PaidBuyer
  nodes: DevnetNode[]
  content: { infoHash: string; name: string; files: readonly string[]; torrentFile: string }
  /** The web page of the hub: the website when packages/web is built, else its API. */
  websiteUrl: string
  /** Every node re-registers with the hub now (each also does so every NODE_REFRESH_MS by itself). */
  register(): Promise<void>
  stop(): Promise<void>
}

/** Prices of the nodes, per GiB in whole USDC: different so the price distribution shows. */
const PRICES = ['0.50', '1.00', '2.00', '0.75', '1.50', '3.00', '0.25', '2.50']
/** anvil dev account 0 deploys, 1 is the gateway's payer, 2… are the nodes. */
const PAYER_ACCOUNT = 1
const FIRST_NODE_ACCOUNT = 2
/** The devnet's passphrase for the nodes' keystores: dev keys, public anyway. */
const PASSPHRASE = 'bitcdn-devnet'
const HUB_ID = 'devnet'
/** Devnet nodes re-register every 5 s (operators' every minute), so the bytes they report move as traffic flows. */
const NODE_REFRESH_MS = 5_000
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')

/** Whole USDC in base units (6 decimals). */
const usdc = (whole: bigint) => tokenUnits(whole * 1_000_000n)
const withPort = (base: number, i: number) => (base === 0 ? 0 : base + i)

/**
 * @throws BitcdnError BITCDN_ERR_PORT_IN_USE (naming the flag), BITCDN_ERR_USAGE (bad node count)
 * @example const net = await startDevnet({ dir: '.devnet', nodes: 3, ... }); await net.stop()
 */
export async function startDevnet(opts: DevnetOptions): Promise<Devnet> {
  const say = opts.progress ?? (() => {})
  const n = opts.nodes
  if (!Number.isInteger(n) || n < 1 || n > PRICES.length) throw new BitcdnError('BITCDN_ERR_USAGE', `--nodes must be 1 to ${PRICES.length}, got ${n}`)
  const host = '127.0.0.1'
  await checkPorts(
    [
      { port: opts.chainPort, flag: '--chain-port', what: 'chain' },
      { port: opts.hubPort, flag: '--hub-port', what: 'hub' },
      { port: opts.trackerPort, flag: '--tracker-port', what: 'tracker' },
      { port: opts.gatewayPort, flag: '--gateway-port', what: 'gateway' },
      ...Array.from({ length: n }, (_, i) => [
        { port: withPort(opts.nodePort, i), flag: '--node-port', what: `node ${i + 1}` },
        { port: withPort(opts.adminPort, i), flag: '--admin-port', what: `node ${i + 1} admin` },
      ]).flat(),
    ],
    host,
  )
  await mkdir(join(opts.dir, 'logs'), { recursive: true })
  const stops: Array<() => Promise<unknown>> = []
  const logs: WriteStream[] = []
  const logFile = (name: string) => {
    const s = createWriteStream(join(opts.dir, 'logs', `${name}.log`), { flags: 'a' })
    logs.push(s)
    return s
  }
  const stopAll = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => {})
    await Promise.all(logs.splice(0).map((s) => new Promise((r) => s.end(r))))
  }
  try {
    // ---- chain
    say(`chain     starting anvil${opts.chainPort ? ` on port ${opts.chainPort}` : ''} and deploying the escrow ...`)
    const accounts = anvilAccounts(FIRST_NODE_ACCOUNT + n)
    const anvil: AnvilInstance = await startAnvil({ port: opts.chainPort, accounts: accounts.length, blockTime: 1, mixedMining: true })
    stops.push(() => anvil.stop())
    const deployment = await deployLocal({ rpcUrl: anvil.rpcUrl, withdrawDelaySeconds: 60, fund: { accounts: accounts.map((a) => a.address), amount: usdc(1_000_000n) } })
    const deploymentFile = join(opts.dir, 'deployment.json')
    await writeDeployment(deploymentFile, deployment)
    say(`chain     ${anvil.rpcUrl}  escrow ${deployment.escrow}`)

    // ---- hub (a new chain: its old database describes another one)
    await rm(join(opts.dir, 'hub'), { recursive: true, force: true })
    await mkdir(join(opts.dir, 'hub'), { recursive: true })
    const webRoot = join(repoRoot, 'packages', 'web', 'dist')
    const hubLog = logFile('hub')
    const hub = await createHub(
      {
        hubId: HUB_ID,
        host,
        port: opts.hubPort,
        trackerPort: opts.trackerPort,
        probeIntervalMs: 30_000,
        statsIntervalMs: 2_000,
        webRoot: existsSync(join(webRoot, 'index.html')) ? webRoot : undefined,
        chain: { rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, escrow: deployment.escrow, fromBlock: BigInt(deployment.deployedAtBlock) },
      },
      { store: openSqliteHubStore(join(opts.dir, 'hub', 'hub.sqlite')), log: (line) => void hubLog.write(`${JSON.stringify({ time: Date.now(), ...line })}\n`) },
    )
    await hub.start()
    stops.push(() => hub.stop())
    const tracker = hub.trackers.find((t) => t.startsWith('http')) ?? hub.trackers[0]!
    say(`hub       ${hub.url}  tracker ${tracker}`)

    // ---- content
    const site = await makeSampleContent(join(opts.dir, 'content'))
    const m: Metainfo = await createTorrent(site, { announce: [tracker], pieceLength: 64 * 1024, createdBy: 'bitcdn devnet' })
    const torrentFile = join(opts.dir, 'content', 'sample-site.torrent')
    await writeFile(torrentFile, m.torrentFile)

    // ---- nodes
    const nodes: DevnetNode[] = []
    for (let i = 0; i < n; i++) {
      const acct = accounts[FIRST_NODE_ACCOUNT + i]!
      const home = join(opts.dir, 'nodes', `node-${i + 1}`)
      const paths = nodePaths(home)
      // the config names this run's tracker and ports; the key, token, content and data stay
      await rm(paths.config, { force: true })
      await rm(paths.ledger, { force: true })
      await rm(`${paths.ledger}-wal`, { force: true })
      await rm(`${paths.ledger}-shm`, { force: true })
      const keyExists = existsSync(join(home, 'keys', 'node.json'))
      await initNode({
        paths,
        config: { listenHost: host, listenPort: withPort(opts.nodePort, i), adminHost: host, adminPort: withPort(opts.adminPort, i), pricePerGiB: PRICES[i]!, storageQuota: '1GiB', trackers: [tracker], freeEnabled: false, deployment: deploymentFile, hubs: [hub.url] },
        passphrase: async () => PASSPHRASE,
        ...(keyExists ? {} : { privateKey: acct.privateKey }),
      })
      const running = await runNode({ paths, passphrase: async () => PASSPHRASE, destination: logFile(`node-${i + 1}`), hubRefreshMs: NODE_REFRESH_MS })
      stops.push(() => running.stop())
      await running.node.pin({ source: { torrent: Buffer.from(m.torrentFile) }, dir: dirname(site) })
      const st = running.node.status()
      const endpoint = `${st.listen.host}:${st.listen.port}`
      nodes.push({ payee: st.payee!, pricePerGiB: PRICES[i]!, endpoint, adminUrl: running.adminUrl, adminToken: (await readFile(paths.adminToken, 'utf8')).trim(), running })
      say(`node ${i + 1}    ${endpoint}  ${PRICES[i]} USDC/GiB  payee ${st.payee}  admin ${running.adminUrl}`)
    }

    // ---- registrations: each node registered itself at start (its own hub registration, signed
    // by its payout key); this only checks that the hub took them and refreshes them on demand
    const register = async () => {
      for (const [i, node] of nodes.entries()) {
        const results = (await node.running.hubRegistration?.registerNow()) ?? []
        const bad = results.find((r) => !r.ok)
        if (bad || results.length === 0) throw new BitcdnError('BITCDN_ERR_UNEXPECTED', `devnet: node ${i + 1} could not register with the hub: ${bad?.detail ?? 'no hub registration running'}`)
      }
    }
    // the first registration (at node start) listed nothing pinned yet: refresh it now
    await register()
    say(`hub       ${n} node(s) registered themselves (signed by each node's key, refreshed every ${NODE_REFRESH_MS / 1000} s)`)

    // ---- gateway, paying from a funded dev wallet
    const payer = accounts[PAYER_ACCOUNT]!
    await deposit(deployment, payer.privateKey, usdc(100n))
    const walletDb = join(opts.dir, 'gateway', 'wallet.db')
    await mkdir(dirname(walletDb), { recursive: true })
    for (const suffix of ['', '-wal', '-shm']) await rm(`${walletDb}${suffix}`, { force: true })
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.escrow }
    const payerKey = privateKeyToAccount(payer.privateKey)
    const wallet: PayerWallet = createPayerWallet({ dbPath: walletDb, signer: payerKey, payer: payer.address, domain })
    stops.push(async () => wallet.close())
    const buyer = createPaidBuyer({ payer: payer.address, signer: payer.address, domain, token: deployment.tokens.USDC, maxPricePerGiB: usdc(5n), budget: usdc(50n), allowFree: false })({ wallet, signerKey: payerKey })
    stops.push(async () => buyer.close())
    // the piece cache is for this chain's run too: an old cache would serve without paying anyone
    await rm(join(opts.dir, 'gateway', 'cache'), { recursive: true, force: true })
    const gateway = createGateway({
      host,
      port: opts.gatewayPort,
      cacheDir: join(opts.dir, 'gateway', 'cache'),
      swarm: { stateDir: join(opts.dir, 'gateway', 'swarm') },
      defaults: { announce: [tracker], peers: nodes.map((x) => x.endpoint) },
      hedgeDelayMs: 5_000,
    })({ buyer, logger: createGatewayLogger('info', logFile('gateway')) })
    await gateway.start()
    stops.push(() => gateway.stop())
    await gateway.content.add(m.torrentFile)
    hub.addGateway(gateway.url) // the network page charts its offload ratio
    say(`gateway   ${gateway.url}  paying from ${payer.address} (100 USDC deposited)`)

    await hub.tick() // the first page view already counts the nodes and the deposit
    const net: Devnet = {
      dir: opts.dir,
      deployment,
      hub,
      gateway,
      buyer,
      nodes,
      content: { infoHash: m.infoHash, name: m.name, files: SAMPLE_FILES, torrentFile },
      websiteUrl: hub.url,
      register,
      stop: stopAll,
    }
    if (opts.traffic) {
      say('traffic   fetching the sample files through the gateway ...')
      const statuses: number[] = []
      for (const f of SAMPLE_FILES) {
        const r = await fetch(`${gateway.url}/t/${m.infoHash}/${f}`)
        await r.arrayBuffer()
        statuses.push(r.status)
      }
      await waitPaid(buyer)
      for (const node of nodes) await node.running.node.cashout()
      await register()
      await hub.tick()
      say(`traffic   ${SAMPLE_FILES.length} files fetched (${statuses.join(' ')}), ${formatTokenAmount(buyer.spent(), 6)} USDC paid in cheques, claims sent on chain`)
    }
    return net
  } catch (err) {
    await stopAll()
    throw err
  }
}

/** Waits until the buyer has paid (a cheque per seller, coalesced) for what it received. */
async function waitPaid(buyer: PaidBuyer, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs
  // paid for every verified byte, and each seller acknowledged (stored) the cheque
  const due = () => buyer.sellers().some((s) => bytesValue(s.verifiedBytes, s.pricePerGiB) > s.paid || s.acked < s.paid)
  while (due() && Date.now() < until) await new Promise((r) => setTimeout(r, 100))
}

/** Approves and deposits test USDC for the gateway's payer. */
async function deposit(d: Deployment, key: Hex, amount: bigint): Promise<void> {
  const transport = http(d.rpcUrl)
  const chain = { ...foundry, id: d.chainId }
  const pub = createPublicClient({ chain, transport, pollingInterval: 50 })
  const w = createWalletClient({ chain, transport, account: privateKeyToAccount(key) })
  await pub.waitForTransactionReceipt({ hash: await w.writeContract({ address: d.tokens.USDC, abi: testTokenAbi, functionName: 'approve', args: [d.escrow, amount] }) })
  const r = await pub.waitForTransactionReceipt({ hash: await w.writeContract({ address: d.escrow, abi: escrowAbi, functionName: 'deposit', args: [d.tokens.USDC, amount] }) })
  if (r.status !== 'success') throw new BitcdnError('BITCDN_ERR_UNEXPECTED', 'devnet: the gateway wallet deposit reverted')
}
