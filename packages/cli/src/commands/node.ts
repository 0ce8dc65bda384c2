/**
 * `bitcdn node`: the operator's daemon. `init` writes the key, config and admin token under
 * `$BITCDN_HOME/node/`; `start` runs the node in the foreground (JSON-line logs on stdout, clean
 * exit on SIGTERM/SIGINT). `pin`, `unpin`, `status`, `earnings` and `cashout` talk to the running
 * node's admin API; when it is not running they work on its state files and say so.
 */
import { readFile } from 'node:fs/promises'
import { Command, Option } from 'commander'
import type { Address } from 'viem'
import { BitcdnError, formatBytes, hasCode } from '@bitcdn/core'
import { bitcdnHome, createCashout, createPayeeLedger, formatTokenAmount, keystorePath, readKeystoreAddress, resolvePassphrase, resolvePassphraseFrom, unlockKeystoreFile } from '@bitcdn/pay'
import {
  acquireNodeLock,
  connectChain,
  createAdminClient,
  initNode,
  loadConfig,
  nodePaths,
  offlineContent,
  offlineEarnings,
  offlinePin,
  offlineUnpin,
  readAdminToken,
  readNodeDeployment,
  runNode,
  NODE_KEY_NAME,
  type AdminClient,
  type ContentView,
  type NodeConfig,
  type PinSource,
} from '@bitcdn/node'
import { untilInterrupted } from '../interrupt.js'
import { parsePort, parseScryptN, parseUrl, repeatable, SCRYPT_N_HELP } from '../option-parsers.js'

interface PassOpts {
  passphraseEnv: string
}

const out = (line = ''): void => void process.stdout.write(`${line}\n`)
const note = (line: string): void => void process.stderr.write(`${line}\n`)
const usdc = (units: bigint | string): string => formatTokenAmount(BigInt(units), 6)

/** The admin client for a running node, or undefined (after checking no live node holds the state). */
async function running(): Promise<{ admin?: AdminClient; config: NodeConfig }> {
  const paths = nodePaths()
  const config = await loadConfig(paths.config)
  const admin = createAdminClient(config, await readAdminToken(paths.adminToken))
  try {
    await admin.request('GET', '/status')
    return { admin, config }
  } catch (err) {
    if (!hasCode(err, 'BITCDN_ERR_NODE_NOT_RUNNING')) throw err
  }
  // nothing answers: make sure no node is running with its admin API elsewhere
  const release = await acquireNodeLock(paths.lock)
  await release()
  return { config }
}

async function pinSource(input: string): Promise<PinSource> {
  if (/^magnet:/i.test(input) || /^[0-9a-fA-F]{40}$/.test(input) || /^[A-Za-z2-7]{32}$/.test(input)) return { magnet: input }
  if (/^https?:\/\//i.test(input)) return { url: input }
  try {
    return { torrent: await readFile(input) }
  } catch (err) {
    throw new BitcdnError('BITCDN_ERR_PIN_SOURCE', `'${input}' is not a magnet, an info-hash, an http(s) URL or a readable .torrent file`, { cause: err })
  }
}

function printContent(rows: ContentView[]): void {
  if (rows.length === 0) return out('no content (pin some with: bitcdn node pin <magnet|torrent|URL>)')
  for (const r of rows) {
    const state = r.progress === undefined ? '' : `  ${(r.progress * 100).toFixed(1)}%  peers ${r.peers ?? 0}`
    out(`${r.infoHash}  ${r.pinned ? 'pinned' : 'cached'}${r.free ? ' free' : ''}${r.inPlace ? ' in-place' : ''}  ${formatBytes(r.bytes)}  served ${formatBytes(r.bytesServed)}${state}  ${r.name}`)
  }
}

interface EarningsJson {
  payee: string
  totals: { token: string; accruedUnits: string; heldUnits: string; claimedUnits: string; owedUnits: string; writtenOffUnits: string }[]
  payers: { payer: string; token: string; accruedUnits: string; claimedUnits: string; heldUnits: string; pendingTx?: string; owedUnits: string; writtenOffUnits: string; lastActivityMs?: number }[]
  claims: { txHash: string; payer: string; paidUnits: string; atMs: number }[]
}

function printEarnings(e: EarningsJson): void {
  out(`payee    ${e.payee}`)
  if (e.totals.length === 0) out('no cheques and no credit yet')
  for (const t of e.totals) {
    out(`token    ${t.token}`)
    out(`accrued  ${usdc(t.accruedUnits)}   (best cheque of every payer)`)
    out(`held     ${usdc(t.heldUnits)}   (in unclaimed cheques: exposure)`)
    out(`claimed  ${usdc(t.claimedUnits)}   (paid out on chain)`)
    out(`owed     ${usdc(t.owedUnits)}   (served, not yet paid by cheque: credit extended now)`)
    out(`written off ${usdc(t.writtenOffUnits)}   (debts of payers idle for the forgiveness period: lost)`)
  }
  if (e.payers.length > 0) {
    out('')
    out('per payer (exposure = held)')
    for (const p of e.payers) {
      const debt = `${BigInt(p.owedUnits) > 0n ? `  owes ${usdc(p.owedUnits)}` : ''}${BigInt(p.writtenOffUnits) > 0n ? `  written off ${usdc(p.writtenOffUnits)}` : ''}`
      const seen = p.lastActivityMs !== undefined ? `  last active ${new Date(p.lastActivityMs).toISOString()}` : ''
      out(`  ${p.payer}  accrued ${usdc(p.accruedUnits)}  claimed ${usdc(p.claimedUnits)}  held ${usdc(p.heldUnits)}${debt}${p.pendingTx ? `  claim pending ${p.pendingTx}` : ''}${seen}`)
    }
  }
  if (e.claims.length > 0) {
    out('')
    out('claims on chain')
    for (const c of e.claims) out(`  ${c.txHash}  ${c.payer}  ${usdc(c.paidUnits)}  ${new Date(c.atMs).toISOString()}`)
  }
}

const jsonSafe = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)))

/** Why a cash-out sent nothing, in words (the cash-out's `waiting` codes). */
const CASHOUT_WAITING: Record<string, string> = {
  'nothing-owed': 'no unclaimed cheque left to claim (a claim already sent waits for its confirmations: see `bitcdn node earnings`)',
  'below-threshold': 'the unclaimed total is below [cashout] threshold in config.toml',
  'gas-price': 'the gas price is above [cashout] gas_price_cap_gwei in config.toml; it waits',
  backoff: 'a recent claim failed; it retries after a back-off',
}

/**
 * Registers `bitcdn node`.
 * @example registerNode(program) // bitcdn node init; bitcdn node start
 */
export function registerNode(program: Command): void {
  const node = program.command('node').description('run a BitCDN node: seed content, get paid per verified byte, cash out')
  const passOpt = () => new Option('--passphrase-env <var>', 'environment variable holding the key passphrase').default('BITCDN_PASSPHRASE')

  node
    .command('init')
    .description('create the node key (encrypted), a commented config and the admin token in $BITCDN_HOME/node/')
    .option('--data-dir <dir>', 'where content is stored (default: $BITCDN_HOME/node/data)')
    .option('--listen-host <address>', 'address peers connect to (0.0.0.0: from anywhere)', '127.0.0.1')
    .addOption(new Option('--port <n>', 'TCP port peers connect to').argParser(parsePort).default(6881))
    .option('--admin-host <address>', 'admin API address (keep it on loopback)', '127.0.0.1')
    .addOption(new Option('--admin-port <n>', 'admin API port').argParser(parsePort).default(8790))
    .option('--price <usdc>', 'price per GiB served, in tokens', '0.50')
    .option('--quota <size>', 'storage quota, e.g. 50GiB', '50GiB')
    .addOption(new Option('--tracker <url>', 'announce every torrent here too (repeatable)').argParser(repeatable(parseUrl)))
    .addOption(new Option('--hub <url>', 'register with this hub (its API URL) at start and every minute, signed by the payout key (repeatable)').argParser(repeatable(parseUrl)))
    .option('--free', 'serve peers that do not pay (plain BitTorrent clients)', false)
    .option('--deployment <file>', 'deployment file (default: $BITCDN_HOME/deployment.json)')
    .option('--private-key-env <var>', 'use the 0x private key in this environment variable instead of a new one (it pays the gas of claims)')
    .addOption(new Option('--scrypt-n <n>', SCRYPT_N_HELP).default('262144'))
    .addOption(passOpt())
    .action(async (o: { dataDir?: string; listenHost: string; port: number; adminHost: string; adminPort: number; price: string; quota: string; tracker?: string[]; hub?: string[]; free: boolean; deployment?: string; privateKeyEnv?: string; scryptN: string } & PassOpts) => {
      const scryptN = parseScryptN(o.scryptN)
      let privateKey: `0x${string}` | undefined
      if (o.privateKeyEnv !== undefined) {
        const v = process.env[o.privateKeyEnv]
        if (!v) throw new BitcdnError('BITCDN_ERR_CONFIG_INVALID', `--private-key-env: ${o.privateKeyEnv} is not set`)
        privateKey = v.trim() as `0x${string}`
      }
      const r = await initNode({
        paths: nodePaths(),
        config: {
          ...(o.dataDir ? { dataDir: o.dataDir } : {}),
          listenHost: o.listenHost,
          listenPort: o.port,
          adminHost: o.adminHost,
          adminPort: o.adminPort,
          pricePerGiB: o.price,
          storageQuota: o.quota,
          trackers: o.tracker ?? [],
          hubs: o.hub ?? [],
          freeEnabled: o.free,
          ...(o.deployment ? { deployment: o.deployment } : {}),
        },
        passphrase: () => resolvePassphrase({ envVar: o.passphraseEnv, confirm: true }),
        scryptN,
        ...(privateKey ? { privateKey } : {}),
      })
      out(`node address  ${r.address}${r.keyCreated ? '' : '  (existing key)'}`)
      out(`key           ${r.keyFile}`)
      out(`config        ${r.configFile}`)
      out(`admin token   ${r.tokenFile}  (mode 0600)`)
      out('')
      if (r.keyCreated && privateKey === undefined) out(`next: send ${r.address} a little of the chain's native coin (it pays the gas of claims),`)
      out(`${r.keyCreated && privateKey === undefined ? '     ' : 'next:'} review the config, then run  bitcdn node start`)
    })

  node
    .command('start')
    .description('run the node in the foreground (JSON-line logs on stdout); Ctrl-C or SIGTERM stops it cleanly')
    .addOption(passOpt())
    .action(async (o: PassOpts) => {
      const r = await runNode({ passphrase: () => resolvePassphraseFrom({ envVar: o.passphraseEnv }) })
      const signal = await untilInterrupted()
      r.logger.info({ signal }, 'stopping')
      await r.stop()
    })

  node
    .command('pin')
    .description('seed content: a magnet, an info-hash, a .torrent file or an http(s) URL of one')
    .argument('<magnet|torrent|URL>', 'what to pin')
    .option('--dir <dir>', 'the data is already in this folder: seed it in place (not counted in the quota, never deleted)')
    .option('--free', 'serve this content to every peer, paying or not (sponsored)', false)
    .option('--cache', 'keep it only while the storage quota allows (evictable), instead of pinning', false)
    .action(async (input: string, o: { dir?: string; free: boolean; cache: boolean }) => {
      const source = await pinSource(input)
      const { admin, config } = await running()
      const dir = o.dir !== undefined ? (await import('node:path')).resolve(o.dir) : undefined
      if (admin) {
        const body = 'torrent' in source ? { torrent: source.torrent.toString('base64') } : source
        const v = await admin.request<ContentView>('POST', '/pins', { ...body, ...(dir ? { dir } : {}), free: o.free, cache: o.cache })
        out(`${o.cache ? 'cached' : 'pinned'} ${v.infoHash}  ${v.name}  (seeding)`)
      } else {
        const v = await offlinePin(nodePaths(), config, { source, ...(dir ? { dir } : {}), free: o.free, cache: o.cache })
        out(`${o.cache ? 'cached' : 'pinned'} ${v.infoHash}  ${v.name}`)
        note('node not running: recorded in its state; seeding starts with  bitcdn node start')
      }
    })

  node
    .command('unpin')
    .description('unpin content (it stays as evictable cache), or remove it with --delete')
    .argument('<info-hash>', 'the content, by info-hash')
    .option('--delete', 'stop seeding it and delete its data now', false)
    .action(async (infoHash: string, o: { delete: boolean }) => {
      if (!/^[0-9a-fA-F]{40}$/.test(infoHash)) throw new BitcdnError('BITCDN_ERR_PIN_SOURCE', `'${infoHash}' is not an info-hash (40 hex characters)`)
      const { admin } = await running()
      if (admin) await admin.request('DELETE', `/pins/${infoHash}${o.delete ? '?delete=true' : ''}`)
      else offlineUnpin(nodePaths(), infoHash, { delete: o.delete })
      out(o.delete ? `removed ${infoHash.toLowerCase()}` : `unpinned ${infoHash.toLowerCase()} (kept as cache while the quota allows)`)
      if (!admin) note(o.delete ? 'node not running: removed from its state; delete the data folder by hand if you want the space now' : 'node not running: recorded in its state')
    })

  node
    .command('status')
    .description('what the node serves: address, chain, storage, torrents, bytes served')
    .option('--json', 'print JSON', false)
    .action(async (o: { json: boolean }) => {
      const { admin, config } = await running()
      if (!admin) {
        const rows = offlineContent(nodePaths())
        if (o.json) return out(JSON.stringify({ running: false, torrents: rows }, null, 2))
        out(`node      not running (from its state files; start it with: bitcdn node start)`)
        out(`storage   quota ${formatBytes(config.storageQuotaBytes)} in ${config.dataDir}`)
        return printContent(rows)
      }
      const s = await admin.request<{ peerId: string; listen: { host: string; port: number }; payee?: string; chain?: { chainId: number; escrow: string }; pricePerGiBUnits: string; priceToken: string; free: { enabled: boolean }; storage: { quotaBytes: number; usedBytes: number; dataDir: string }; peers: number; bytesServed: { paid: number; free: number }; torrents: ContentView[] }>('GET', '/status')
      if (o.json) return out(JSON.stringify({ running: true, ...s }, null, 2))
      out(`node      running, admin ${admin.url}`)
      out(`listen    ${s.listen.host}:${s.listen.port}  peer id ${s.peerId}`)
      out(s.chain ? `chain     ${s.chain.chainId}  escrow ${s.chain.escrow}  payee ${s.payee}` : 'chain     none (no deployment file): free policy only, no cash-out')
      out(`price     ${usdc(s.pricePerGiBUnits)} ${s.priceToken} per GiB   free policy ${s.free.enabled ? 'on (every peer is served)' : 'off (only paying peers and --free pins)'}`)
      out(`storage   ${formatBytes(s.storage.usedBytes)} of ${formatBytes(s.storage.quotaBytes)} in ${s.storage.dataDir}`)
      out(`served    ${formatBytes(s.bytesServed.paid)} paid, ${formatBytes(s.bytesServed.free)} free (this run)   peers ${s.peers}`)
      printContent(s.torrents)
    })

  node
    .command('earnings')
    .description('accrued, held in unclaimed cheques, claimed on chain (with transactions), exposure per payer, what each payer owes now and what was written off for idle payers')
    .option('--json', 'print JSON', false)
    .action(async (o: { json: boolean }) => {
      const { admin, config } = await running()
      let e: EarningsJson
      if (admin) e = await admin.request<EarningsJson>('GET', '/earnings')
      else {
        const found = await readNodeDeployment(config)
        if (!found) throw new BitcdnError('BITCDN_ERR_NODE_NO_CHAIN', 'this node has no chain (no deployment file): no earnings')
        const payee = await readKeystoreAddress(keystorePath(bitcdnHome(), NODE_KEY_NAME))
        e = jsonSafe(await offlineEarnings(nodePaths(), found.deployment, payee)) as EarningsJson
        if (!o.json) note('node not running: read from its ledger file')
      }
      if (o.json) return out(JSON.stringify(e, null, 2))
      printEarnings(e)
    })

  node
    .command('cashout')
    .description('claim every unclaimed cheque on chain now and withdraw the earnings (the gas-price cap still applies)')
    .addOption(passOpt())
    .action(async (o: PassOpts) => {
      const { admin, config } = await running()
      let r: { sent: string[]; confirmed: string[]; withdrawn: { amount: string; txHash: string }[]; waiting?: string }
      if (admin) r = await admin.request('POST', '/cashout')
      else {
        r = jsonSafe(await offlineCashout(config, o)) as typeof r
        note('node not running: claimed with the node key from its ledger file')
      }
      for (const h of r.sent) out(`claim sent       ${h}`)
      for (const h of r.confirmed) out(`claim confirmed  ${h}`)
      for (const w of r.withdrawn) out(`withdrawn        ${usdc(w.amount)}  ${w.txHash}`)
      if (r.sent.length === 0 && r.confirmed.length === 0 && r.withdrawn.length === 0) out(`nothing sent${r.waiting ? `: ${CASHOUT_WAITING[r.waiting] ?? r.waiting}` : ''}`)
      else if (r.sent.length > 0) out('claims count once confirmed; see: bitcdn node earnings')
    })
}

/** One cash-out pass with the node stopped: claim all, wait for the receipts, reconcile. */
async function offlineCashout(config: NodeConfig, o: PassOpts) {
  const paths = nodePaths()
  const found = await readNodeDeployment(config)
  if (!found) throw new BitcdnError('BITCDN_ERR_NODE_NO_CHAIN', 'this node has no chain (no deployment file): nothing to cash out')
  const release = await acquireNodeLock(paths.lock)
  try {
    const key = await unlockKeystoreFile(keystorePath(paths.home, NODE_KEY_NAME), { envVar: o.passphraseEnv })
    const chain = connectChain(found, key.privateKey)
    const ledger = createPayeeLedger({ dbPath: paths.ledger, payee: key.address as Address, domain: { chainId: found.deployment.chainId, verifyingContract: found.deployment.escrow } })
    try {
      const cashout = createCashout({ escrow: found.deployment.escrow, thresholdUnits: 0n, confirmations: 1, watchWithdrawals: false, gasPriceCapWei: config.cashout.gasPriceCapWei, withdrawTo: config.cashout.withdrawTo })({ ledger, publicClient: chain.publicClient, walletClient: chain.walletClient })
      for (const e of ledger.unsettled()) cashout.urgent(e.payer)
      const first = await cashout.tick()
      for (const hash of first.sent) await chain.publicClient.waitForTransactionReceipt({ hash })
      const second = first.sent.length > 0 ? await cashout.tick() : undefined
      return { ...first, confirmed: [...first.confirmed, ...(second?.confirmed ?? [])], withdrawn: [...first.withdrawn, ...(second?.withdrawn ?? [])] }
    } finally {
      ledger.close()
    }
  } finally {
    await release()
  }
}
