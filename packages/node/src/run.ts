/**
 * `bitcdn node start` as a function: config → key → chain → node → admin API, JSON-line logs
 * (pino) on stdout, until `stop()`. The CLI waits for SIGTERM/SIGINT and calls `stop()`.
 */
import { pino } from 'pino'
import { BitcdnError, type Logger } from '@bitcdn/core'
import { keystorePath, readKeystoreFile, type ResolvedPassphrase } from '@bitcdn/pay'
import { loadConfig } from './config/load.js'
import { nodePaths, NODE_KEY_NAME, type NodePaths } from './paths.js'
import { readNodeDeployment, connectChain, type NodeChain } from './chain.js'
import { createNode, type BitcdnNode } from './node.js'
import { createNodeMetrics } from './metrics.js'
import { build } from './admin/build.js'
import { readAdminToken } from './admin-client.js'
import type { PaidServingFactory } from './paid-serving.js'
import { marketPaidServing } from './market-serving.js'
import { createHubRegistration, type HubRegistration } from './hub-registration.js'
import { createRequire } from 'node:module'

export interface RunNodeOptions {
  paths?: NodePaths
  /**
   * Asked only when the node has a chain (its key signs claims). With `from` (as
   * `resolvePassphraseFrom` gives it) a wrong passphrase is reported with its source.
   */
  passphrase: () => Promise<string | ResolvedPassphrase>
  /** @default marketPaidServing (the `bitcdn_pay` extension) */
  paidServing?: PaidServingFactory
  /** pino level. @default $BITCDN_LOG_LEVEL or 'info' */
  level?: string
  /** Log destination. @default stdout */
  destination?: NodeJS.WritableStream
  /** How often the node re-registers with its hubs. @default REGISTRATION_REFRESH_MS (60 s) */
  hubRefreshMs?: number
}

export interface RunningNode {
  node: BitcdnNode
  adminUrl: string
  logger: Logger
  /** Self-registration with the config's `[hub] urls` (undefined when none or no chain). */
  hubRegistration?: HubRegistration
  stop(): Promise<void>
}

/**
 * Starts a node from its config.
 * @throws BitcdnError BITCDN_ERR_CONFIG_*, keystore errors, BITCDN_ERR_NODE_LOCKED, listen errors
 * @example
 * const running = await runNode({ passphrase: () => resolvePassphrase() })
 * await untilInterrupted(); await running.stop()
 */
export async function runNode(opts: RunNodeOptions): Promise<RunningNode> {
  const paths = opts.paths ?? nodePaths()
  const config = await loadConfig(paths.config)
  const token = await readAdminToken(paths.adminToken)
  const logger = pino({ level: opts.level ?? process.env.BITCDN_LOG_LEVEL ?? 'info', base: { pid: process.pid } }, (opts.destination ?? process.stdout) as never) as unknown as Logger
  const found = await readNodeDeployment(config)
  let chain: NodeChain | undefined
  if (found) {
    const p = await opts.passphrase()
    const key = typeof p === 'string' ? await readKeystoreFile(keystorePath(paths.home, NODE_KEY_NAME), p) : await readKeystoreFile(keystorePath(paths.home, NODE_KEY_NAME), p.passphrase, p.from)
    chain = connectChain(found, key.privateKey)
  }
  const metrics = createNodeMetrics({ defaults: true })
  const node = createNode({ config, paths })({ logger, metrics, chain, paidServing: opts.paidServing ?? marketPaidServing })
  await node.start().catch((err: unknown) => {
    // the peer port taken (another node, a BitTorrent client): say which setting moves it
    const e = err as { code?: string; cause?: { code?: string } }
    if (e.code === 'BITCDN_ERR_SWARM_LISTEN' && e.cause?.code === 'EADDRINUSE') {
      throw new BitcdnError('BITCDN_ERR_PORT_IN_USE', `peer port ${config.listen.port} on ${config.listen.host} is in use; change listen.port in ${paths.config}`, { details: { port: config.listen.port }, cause: err })
    }
    throw err
  })
  const app = await build({ node, token, logger })
  try {
    await app.listen({ host: config.admin.host, port: config.admin.port })
  } catch (err) {
    await node.stop()
    if ((err as { code?: string }).code === 'EADDRINUSE') {
      throw new BitcdnError('BITCDN_ERR_PORT_IN_USE', `admin port ${config.admin.port} on ${config.admin.host} is in use; change admin.port in ${paths.config}`, { details: { port: config.admin.port }, cause: err })
    }
    throw err
  }
  const addr = app.server.address()
  const port = typeof addr === 'object' && addr ? addr.port : config.admin.port
  const adminUrl = `http://${config.admin.host.includes(':') ? `[${config.admin.host}]` : config.admin.host}:${port}`
  logger.info({ adminUrl, listen: node.status().listen, payee: chain?.walletClient.account?.address }, 'admin API listening')
  const registration = startHubRegistration(config.hub, chain, node, logger, opts.hubRefreshMs)
  // in the background: an unreachable hub must not hold up the node's start
  void registration?.start()
  return {
    node,
    adminUrl,
    logger,
    hubRegistration: registration,
    async stop() {
      await registration?.stop()
      await app.close()
      await node.stop()
      logger.info({}, 'node stopped')
    },
  }
}

/** Self-registration with `[hub] urls`, signed by the payout key; none without hubs. */
function startHubRegistration(hub: { urls: string[]; endpoint: string; region: string }, chain: NodeChain | undefined, node: BitcdnNode, logger: Logger, refreshMs?: number): HubRegistration | undefined {
  if (hub.urls.length === 0) return undefined
  const account = chain?.walletClient.account
  if (!account || !account.signMessage) {
    logger.warn({ code: 'BITCDN_ERR_NODE_HUB_REGISTRATION', hubs: hub.urls }, 'hub registration skipped: the node has no chain (no deployment file), and a registration names the escrow that pays it')
    return undefined
  }
  const version = `bitcdn/${(createRequire(import.meta.url)('../package.json') as { version: string }).version}`
  const signer = { address: account.address, signMessage: (args: { message: string }) => account.signMessage!(args) }
  return createHubRegistration({ urls: hub.urls, endpoint: hub.endpoint, region: hub.region, version, ...(refreshMs ? { refreshMs } : {}) })({ status: () => node.status(), account: signer, logger })
}
