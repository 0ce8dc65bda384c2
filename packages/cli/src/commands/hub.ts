/**
 * `bitcdn hub`: the hub — tracker (HTTP and UDP announces), signed node registry, content catalogue
 * and network statistics, with its JSON API (OpenAPI at /openapi.json) and, when built, the
 * website. Storage is SQLite in `$BITCDN_HOME/hub/hub.sqlite` by default, or PostgreSQL
 * (`--database postgres://…`) so several hub instances can share one database.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { Command, Option } from 'commander'
import { createHub, openPgHubStore, openSqliteHubStore } from '@bitcdn/hub'
import { bitcdnHome, defaultDeploymentPath, loadDeployment } from '@bitcdn/pay'
import { listenError } from '../errors.js'
import { untilInterrupted } from '../interrupt.js'
import { parsePort, parseUrl, repeatable } from '../option-parsers.js'

interface HubOptions {
  port: number
  trackerPort: number
  host: string
  database?: string
  hubId: string
  deployment?: string
  chain: boolean
  web?: string | false
  probeInterval: number
  gateway?: string[]
  explorerTxUrl?: string
}

/**
 * Registers `bitcdn hub`.
 * @example registerHub(program) // bitcdn hub --port 8080 --tracker-port 8000
 */
export function registerHub(program: Command): void {
  program
    .command('hub')
    .description('run the hub: tracker, node registry, catalogue, network statistics and website; Ctrl-C stops it')
    .addOption(new Option('--port <n>', 'port of the HTTP API and website').argParser(parsePort).default(8080))
    .addOption(new Option('--tracker-port <n>', 'port of the tracker (HTTP and UDP)').argParser(parsePort).default(8000))
    .option('--host <address>', 'address to listen on (API and tracker)', '127.0.0.1')
    .option('--database <url>', 'postgres://… to share one database between hub instances (default: SQLite in $BITCDN_HOME/hub)')
    .option('--hub-id <id>', 'the network id node registrations must name', 'bitcdn')
    .option('--deployment <file>', 'deployment file of the chain whose escrow events feed the statistics (default: $BITCDN_HOME/deployment.json when present)')
    .option('--no-chain', 'do not read escrow events, even when a deployment file exists')
    .option('--web <dir>', 'folder of a built website to serve at / (default: the built @bitcdn/web, when present)')
    .option('--no-web', 'serve the API only, no website')
    .addOption(new Option('--gateway <url>', "a gateway whose offload ratio the network page charts (its base URL; /metrics is read; repeatable)").argParser(repeatable(parseUrl)))
    .option('--explorer-tx-url <template>', 'link claims to a block explorer, {hash} replaced (default: the hub\'s own /api/v1/chain/tx/{hash})')
    .addOption(new Option('--probe-interval <s>', 'seconds between probes of every registered node (0: never)').argParser(Number).default(60))
    .addHelpText('after', '\nExamples:\n  bitcdn hub\n  bitcdn hub --database postgres://bitcdn@127.0.0.1/bitcdn --port 8081 --tracker-port 8001')
    .action(async (opts: HubOptions) => runHub(opts))
}

async function runHub(opts: HubOptions): Promise<void> {
  const store = opts.database ? openPgHubStore(opts.database) : openSqliteHubStore(join(bitcdnHome(), 'hub', 'hub.sqlite'))
  const deploymentFile = opts.deployment ?? defaultDeploymentPath()
  const deployment = opts.chain && (opts.deployment || existsSync(deploymentFile)) ? await loadDeployment(deploymentFile) : undefined
  const webRoot = opts.web === false ? undefined : (opts.web ?? defaultWebRoot())
  const hub = await createHub(
    {
      hubId: opts.hubId,
      host: opts.host,
      port: opts.port,
      trackerPort: opts.trackerPort,
      probeIntervalMs: opts.probeInterval * 1000,
      webRoot,
      gateways: opts.gateway ?? [],
      ...(opts.explorerTxUrl ? { explorerTxUrl: opts.explorerTxUrl } : {}),
      chain: deployment && { rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, escrow: deployment.escrow, fromBlock: BigInt(deployment.deployedAtBlock) },
    },
    { store, log: (line) => process.stderr.write(`${JSON.stringify({ time: Date.now(), ...line })}\n`) },
  )
  await hub.start().catch((err: unknown) => {
    const port = (err as { details?: { port?: number } }).details?.port ?? opts.port
    // the tracker's port has its own flag
    throw listenError(err, port, port === opts.trackerPort && port !== opts.port ? '--tracker-port' : '--port')
  })
  const out = process.stdout
  out.write(`hub "${opts.hubId}" on ${hub.url} (${store.engine}${deployment ? `, escrow ${deployment.escrow} on chain ${deployment.chainId}` : ', no chain'})\n`)
  if (webRoot) out.write(`website   ${hub.url}/\n`)
  out.write(`api       ${hub.url}/api/v1/stats   (OpenAPI: ${hub.url}/openapi.json)\n`)
  for (const t of hub.trackers) out.write(`announce  ${t}\n`)
  await untilInterrupted()
  process.stderr.write('stopping hub\n')
  await hub.stop()
}

/** `dist/` of the installed `@bitcdn/web` package when it has been built, else undefined. */
export function defaultWebRoot(): string | undefined {
  try {
    const dist = join(dirname(createRequire(import.meta.url).resolve('@bitcdn/web/package.json')), 'dist')
    return existsSync(join(dist, 'index.html')) ? dist : undefined
  } catch {
    return undefined
  }
}
