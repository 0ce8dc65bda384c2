/**
 * `bitcdn gateway [torrent...]`: the HTTP gateway. Serves the given torrents at
 * `/t/{infohash}/{path}` and, with `--origin`, every other path as a pull zone in front of that
 * origin. Pieces come from its cache, the swarm (peers given, trackers) and, per piece when the
 * swarm is late, the origin. With `--account` it pays nodes (market buyer, `--max-price`,
 * `--budget`, allocations topped up within the budget) and signs the hub catalogue entries that
 * ask nodes to pin pull-zone torrents (`--hub`); `--pin-node` pins them on the operator's own
 * nodes through their admin API. JSON logs on stdout; Ctrl-C stops it.
 */
import { readFile } from 'node:fs/promises'
import { BitcdnError, type Logger } from '@bitcdn/core'
import { join } from 'node:path'
import { Command, Option } from 'commander'
import { createGateway, createGatewayLogger, defaultCacheMemoryBytes } from '@bitcdn/gateway'
import { bitcdnHome } from '@bitcdn/pay'
import { SwarmErrorCode } from '@bitcdn/swarm'
import { listenError } from '../errors.js'
import { untilInterrupted } from '../interrupt.js'
import { openGatewayPayment, type GatewayPayment } from './gateway-payment.js'
import { parseBytes, parsePeer, parsePinNode, parsePort, parseSecondsToMs, parseUrl, repeatable } from '../option-parsers.js'

interface GatewayOptions {
  port: number
  host: string
  origin?: string
  cacheDir?: string
  cacheSize: number
  cacheMemory: number
  peer?: string[]
  tracker?: string[]
  webSeed?: string[]
  hedgeDelay: number
  pieceTimeout: number
  maxRequests: number
  maxInFlight: number
  swarmPort: number
  logLevel: string
  warmCache: boolean
  key?: string
  account?: string
  passphraseEnv: string
  deployment?: string
  rpcUrl?: string
  preset?: string
  token: string
  maxPrice?: string
  budget?: string
  allocation: string
  wallet?: string
  hub?: string[]
  publicUrl?: string
  pinNode?: { url: string; tokenFile: string }[]
}

const parseMs = (v: string): number => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected milliseconds (an integer ≥ 0), got ${v}`)
  return n
}

/**
 * Registers `bitcdn gateway`.
 * @example registerGateway(program) // bitcdn gateway site.torrent --peer 127.0.0.1:6881
 */
export function registerGateway(program: Command): void {
  program
    .command('gateway')
    .description('serve torrents over HTTP (/t/<infohash>/<path>) and, with --origin, a pull zone; Ctrl-C stops it')
    .argument('[torrent...]', '.torrent files to serve (more can be remembered in the cache)')
    .addOption(new Option('--port <n>', 'HTTP port').argParser(parsePort).default(8088))
    .option('--host <address>', 'HTTP address to listen on', '127.0.0.1')
    .addOption(new Option('--origin <url>', 'pull zone: map every other path to this origin').argParser(parseUrl))
    .option('--cache-dir <dir>', 'piece cache directory (default $BITCDN_HOME/gateway/cache)')
    .addOption(new Option('--cache-size <bytes>', 'piece cache limit').argParser(parseBytes).default(10 * 1024 ** 3, '10GiB'))
    .addOption(new Option('--cache-memory <bytes>', 'recently used pieces also held in memory').argParser(parseBytes).default(defaultCacheMemoryBytes(), '1/8 of RAM, at most 1GiB'))
    .addOption(new Option('--peer <host:port>', 'a peer for every torrent (repeatable)').argParser(repeatable(parsePeer)))
    .addOption(new Option('--tracker <url>', 'a tracker for every torrent (repeatable)').argParser(repeatable(parseUrl)))
    .addOption(new Option('--web-seed <url>', 'an origin to hedge every torrent to (repeatable)').argParser(repeatable(parseUrl)))
    .addOption(new Option('--hedge-delay <ms>', 'ask the origin for a piece the swarm has not delivered after this long').argParser(parseMs).default(300))
    .addOption(new Option('--piece-timeout <s>', 'give up on a piece after this long (504)').argParser(parseSecondsToMs).default(15_000, '15'))
    .addOption(new Option('--max-requests <n>', 'requests answered at once (more get 503)').argParser(parseMs).default(1024))
    .addOption(new Option('--max-in-flight <bytes>', 'piece bytes held for responses at once').argParser(parseBytes).default(256 * 1024 ** 2, '256MiB'))
    .addOption(new Option('--swarm-port <n>', 'BitTorrent TCP port (0: any)').argParser(parsePort).default(0))
    .option('--no-warm-cache', 'do not put a new pull-zone object into the piece cache (later requests go to the swarm)')
    .option('--account <name>', 'pay nodes from this key\'s escrow account: $BITCDN_HOME/keys/<name>.json (or ~/.foundry/keystores/<name>)')
    .option('--key <name>', 'the same as --account')
    .option('--passphrase-env <var>', 'environment variable holding the key passphrase', 'BITCDN_PASSPHRASE')
    .option('--deployment <file>', 'deployment file (default: $BITCDN_HOME/deployment.json)')
    .option('--rpc-url <url>', 'RPC endpoint (default: the deployment file\'s, or the preset\'s variable)')
    .option('--preset <name>', 'network preset the deployment must be on (base, base-sepolia, ...)')
    .option('--token <symbol>', 'token to pay in: USDC or USDT', 'USDC')
    .option('--max-price <tokens>', 'leave nodes priced above this per GiB (with --account)')
    .option('--budget <tokens>', 'the most this run pays nodes in total (with --account)')
    .option('--allocation <tokens>', 'hard allocation kept for each node bought from steadily (0: none); all together stay within the budget', '1')
    .option('--wallet <file>', 'payer wallet: cheque totals (default: $BITCDN_HOME/payer/<address>.db, the one `bitcdn get --wallet` uses with that key)')
    .addOption(new Option('--hub <url>', 'announce pull-zone torrents to this hub\'s catalogue, signed by --account (repeatable)').argParser(repeatable(parseUrl)))
    .addOption(new Option('--public-url <url>', 'this gateway\'s URL as nodes reach it (its .torrent files, for the catalogue)').argParser(parseUrl))
    .addOption(new Option('--pin-node <url=token-file>', 'pin pull-zone torrents on this node of yours via its admin API (repeatable)').argParser(repeatable(parsePinNode)))
    .option('--log-level <level>', 'pino log level', 'info')
    .addHelpText(
      'after',
      '\nSigned URLs: set BITCDN_GATEWAY_SIGNING_KEY to require ?expires=&scope=&sig= tokens on content and pull-zone routes.\n' +
        'Admin API: set BITCDN_GATEWAY_ADMIN_TOKEN (16+ characters) to enable POST /admin/torrents (Authorization: Bearer <token>; a .torrent as application/x-bittorrent).\n' +
        '\nExamples:\n  bitcdn gateway site.torrent --peer 127.0.0.1:6881\n  bitcdn gateway --origin https://www.example.com --tracker http://127.0.0.1:8000/announce',
    )
    .action(async (torrents: string[], opts: GatewayOptions) => {
      await runGateway(torrents, opts)
    })
}

async function runGateway(torrents: string[], opts: GatewayOptions): Promise<void> {
  const logger = createGatewayLogger(opts.logLevel)
  const signingKey = process.env.BITCDN_GATEWAY_SIGNING_KEY
  // the admin routes (POST /admin/torrents) exist only with a token
  const adminToken = process.env.BITCDN_GATEWAY_ADMIN_TOKEN
  if (adminToken !== undefined && adminToken !== '' && adminToken.length < 16) throw new BitcdnError('BITCDN_ERR_GATEWAY_CONFIG', 'BITCDN_GATEWAY_ADMIN_TOKEN must be at least 16 characters')
  const accountName = opts.account ?? opts.key
  if (accountName === undefined && (opts.maxPrice !== undefined || opts.budget !== undefined)) {
    throw new BitcdnError('BITCDN_ERR_GATEWAY_CONFIG', '--max-price and --budget need --account (the key whose escrow account pays)')
  }
  if (accountName !== undefined && (opts.maxPrice === undefined || opts.budget === undefined)) {
    throw new BitcdnError('BITCDN_ERR_GATEWAY_CONFIG', '--account needs --max-price and --budget (what the gateway may pay per GiB and in total)')
  }
  if (opts.hub !== undefined && accountName === undefined) throw new BitcdnError('BITCDN_ERR_GATEWAY_CONFIG', '--hub needs --account (its key signs the catalogue entries)')
  if ((opts.hub !== undefined || opts.pinNode !== undefined) && opts.origin === undefined) throw new BitcdnError('BITCDN_ERR_GATEWAY_CONFIG', '--hub and --pin-node ask nodes to pin pull-zone objects: they need --origin')
  const pinNodes = await Promise.all(
    (opts.pinNode ?? []).map(async (n) => {
      try {
        return { url: n.url, token: (await readFile(n.tokenFile, 'utf8')).trim() }
      } catch (err) {
        throw new BitcdnError('BITCDN_ERR_GATEWAY_CONFIG', `--pin-node ${n.url}: cannot read its token file ${n.tokenFile}: ${(err as Error).message}`)
      }
    }),
  )
  let payment: GatewayPayment | undefined
  if (accountName !== undefined) {
    payment = await openGatewayPayment(
      {
        account: accountName,
        passphraseEnv: opts.passphraseEnv,
        deployment: opts.deployment,
        rpcUrl: opts.rpcUrl,
        preset: opts.preset,
        token: opts.token,
        maxPrice: opts.maxPrice!,
        budget: opts.budget!,
        allocation: opts.allocation,
        wallet: opts.wallet,
      },
      logger as unknown as Logger,
    )
  }
  const gw = createGateway({
    host: opts.host,
    port: opts.port,
    origin: opts.origin,
    cacheDir: opts.cacheDir ?? join(bitcdnHome(), 'gateway', 'cache'),
    cacheMaxBytes: opts.cacheSize,
    cacheMemoryBytes: opts.cacheMemory,
    hedgeDelayMs: opts.hedgeDelay,
    pieceTimeoutMs: opts.pieceTimeout,
    maxConcurrentRequests: opts.maxRequests,
    maxBytesInFlight: opts.maxInFlight,
    signingKey: signingKey !== undefined && signingKey !== '' ? signingKey : undefined,
    adminToken: adminToken !== undefined && adminToken !== '' ? adminToken : undefined,
    swarm: { port: opts.swarmPort },
    defaults: { peers: opts.peer, announce: opts.tracker, origins: opts.webSeed },
    warmCache: opts.warmCache,
    pinRequests: opts.hub !== undefined || pinNodes.length > 0 ? { hubs: opts.hub, nodes: pinNodes, publicUrl: opts.publicUrl } : undefined,
  })({ logger, buyer: payment?.buyer, publisher: payment?.payer, signCatalogue: payment?.signCatalogue })
  await gw.start().catch(async (err: unknown) => {
    // a half-started gateway (swarm listening, HTTP refused) would keep the process alive
    await gw.stop().catch(() => undefined)
    await payment?.close()
    const swarmPort = (err as { code?: unknown } | null)?.code === SwarmErrorCode.listen
    throw swarmPort ? listenError(err, opts.swarmPort, '--swarm-port') : listenError(err, opts.port)
  })
  for (const file of torrents) {
    const entry = await gw.content.add(await readFile(file))
    logger.info({ infoHash: entry.infoHash, name: entry.metainfo.name, url: `${gw.url}/t/${entry.infoHash}` }, 'serving torrent')
  }
  logger.info({ url: gw.url, origin: opts.origin, torrents: gw.content.entries.length }, 'gateway listening')
  process.stderr.write(`gateway listening on ${gw.url}\n`)
  await untilInterrupted()
  process.stderr.write('stopping gateway\n')
  await gw.stop()
  await payment?.close()
}
