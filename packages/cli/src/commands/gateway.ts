/**
 * `bitcdn gateway [torrent...]`: the HTTP gateway. Serves the given torrents at
 * `/t/{infohash}/{path}` and, with `--origin`, every other path as a pull zone in front of that
 * origin. Pieces come from its cache, the swarm (peers given, trackers) and, per piece when the
 * swarm is late, the origin. JSON logs on stdout; Ctrl-C stops it.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Command, Option } from 'commander'
import { createGateway, createGatewayLogger } from '@bitcdn/gateway'
import { bitcdnHome } from '@bitcdn/pay'
import { untilInterrupted } from '../interrupt.js'
import { parseBytes, parsePeer, parsePort, parseSecondsToMs, parseUrl, repeatable } from '../option-parsers.js'

interface GatewayOptions {
  port: number
  host: string
  origin?: string
  cacheDir?: string
  cacheSize: number
  peer?: string[]
  tracker?: string[]
  webSeed?: string[]
  hedgeDelay: number
  pieceTimeout: number
  maxRequests: number
  maxInFlight: number
  swarmPort: number
  logLevel: string
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
    .addOption(new Option('--port <n>', 'HTTP port').argParser(parsePort).default(8080))
    .option('--host <address>', 'HTTP address to listen on', '127.0.0.1')
    .addOption(new Option('--origin <url>', 'pull zone: map every other path to this origin').argParser(parseUrl))
    .option('--cache-dir <dir>', 'piece cache directory (default $BITCDN_HOME/gateway/cache)')
    .addOption(new Option('--cache-size <bytes>', 'piece cache limit').argParser(parseBytes).default(10 * 1024 ** 3, '10GiB'))
    .addOption(new Option('--peer <host:port>', 'a peer for every torrent (repeatable)').argParser(repeatable(parsePeer)))
    .addOption(new Option('--tracker <url>', 'a tracker for every torrent (repeatable)').argParser(repeatable(parseUrl)))
    .addOption(new Option('--web-seed <url>', 'an origin to hedge every torrent to (repeatable)').argParser(repeatable(parseUrl)))
    .addOption(new Option('--hedge-delay <ms>', 'ask the origin for a piece the swarm has not delivered after this long').argParser(parseMs).default(300))
    .addOption(new Option('--piece-timeout <s>', 'give up on a piece after this long (504)').argParser(parseSecondsToMs).default(15_000, '15'))
    .addOption(new Option('--max-requests <n>', 'requests answered at once (more get 503)').argParser(parseMs).default(1024))
    .addOption(new Option('--max-in-flight <bytes>', 'piece bytes held for responses at once').argParser(parseBytes).default(256 * 1024 ** 2, '256MiB'))
    .addOption(new Option('--swarm-port <n>', 'BitTorrent TCP port (0: any)').argParser(parsePort).default(0))
    .option('--log-level <level>', 'pino log level', 'info')
    .addHelpText(
      'after',
      '\nSigned URLs: set BITCDN_GATEWAY_SIGNING_KEY to require ?expires=&scope=&sig= tokens on content and pull-zone routes.\n' +
        '\nExamples:\n  bitcdn gateway site.torrent --peer 127.0.0.1:6881\n  bitcdn gateway --origin https://www.example.com --tracker http://127.0.0.1:8000/announce',
    )
    .action(async (torrents: string[], opts: GatewayOptions) => {
      await runGateway(torrents, opts)
    })
}

async function runGateway(torrents: string[], opts: GatewayOptions): Promise<void> {
  const logger = createGatewayLogger(opts.logLevel)
  const signingKey = process.env.BITCDN_GATEWAY_SIGNING_KEY
  const gw = createGateway({
    host: opts.host,
    port: opts.port,
    origin: opts.origin,
    cacheDir: opts.cacheDir ?? join(bitcdnHome(), 'gateway', 'cache'),
    cacheMaxBytes: opts.cacheSize,
    hedgeDelayMs: opts.hedgeDelay,
    pieceTimeoutMs: opts.pieceTimeout,
    maxConcurrentRequests: opts.maxRequests,
    maxBytesInFlight: opts.maxInFlight,
    signingKey: signingKey !== undefined && signingKey !== '' ? signingKey : undefined,
    swarm: { port: opts.swarmPort },
    defaults: { peers: opts.peer, announce: opts.tracker, origins: opts.webSeed },
  })({ logger })
  await gw.start()
  for (const file of torrents) {
    const entry = await gw.content.add(await readFile(file))
    logger.info({ infoHash: entry.infoHash, name: entry.metainfo.name, url: `${gw.url}/t/${entry.infoHash}` }, 'serving torrent')
  }
  logger.info({ url: gw.url, origin: opts.origin, torrents: gw.content.entries.length }, 'gateway listening')
  process.stderr.write(`gateway listening on ${gw.url}\n`)
  await untilInterrupted()
  process.stderr.write('stopping gateway\n')
  await gw.stop()
}
