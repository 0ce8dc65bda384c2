/**
 * `createHub(init)`: the hub service — its tracker (HTTP, UDP and WebSocket announces, via the
 * swarm's `bittorrent-tracker/server` wrapper; WebSocket on the tracker's HTTP port), the HTTP API and website, the node prober, the statistics
 * sampler and, when given a chain, the escrow-event reader. Several hubs may share one PostgreSQL
 * database; each runs its own tracker (nodes announce to every tracker they are given, so discovery
 * never depends on one hub).
 */
import type { FastifyInstance } from 'fastify'
import { createTrackerServer, type TrackerServer } from '@bitcdn/swarm'
import type { Address } from 'viem'
import { buildHubApp } from './api/app.js'
import { STALE_MS } from './registry/registration.js'
import { probeNode } from './registry/prober.js'
import type { HubStore } from './store/hub-store.js'
import { createChainTotals, type ChainTotals } from './stats/chain-totals.js'
import { computeStats, SERIES, seriesValue, type NetworkStats } from './stats/network-stats.js'

export interface HubInit {
  /** The hub network's id (registrations name it). @default 'bitcdn' */
  hubId?: string
  /** Address for the API and the tracker. @default '127.0.0.1' */
  host?: string
  /** API/website port; 0 picks one. @default 8080 */
  port?: number
  /** Tracker port (HTTP, UDP and WebSocket); 0 picks one; false runs no tracker. @default 8000 */
  trackerPort?: number | false
  /** Serve WebSocket (WebTorrent) announces on the tracker's HTTP port. @default true */
  trackerWs?: boolean
  /** Chain to read escrow events from, and to require in registrations. */
  chain?: { rpcUrl: string; chainId: number; escrow: Address; fromBlock?: bigint }
  /** How often statistics are recomputed, pushed and sampled. @default 5000 */
  statsIntervalMs?: number
  /** How often every online node is probed. @default 60000; 0 disables */
  probeIntervalMs?: number
  /** Static website files (the built `packages/web/dist`), served at `/`. */
  webRoot?: string
}

export interface HubComponents {
  store: HubStore
  now?: () => number
  log?: (line: Record<string, unknown>) => void
}

export interface Hub {
  start(): Promise<void>
  stop(): Promise<void>
  /** `http://host:port` of the API once started. */
  readonly url: string
  /** Announce URLs of its tracker. */
  readonly trackers: string[]
  readonly app: FastifyInstance
  /** Recompute statistics now (also pushes them to live subscribers and samples them). */
  tick(): Promise<NetworkStats>
  /** Probe every online node once. */
  probeAll(): Promise<void>
}

/**
 * @example const hub = await createHub({ port: 8080 }, { store: openSqliteHubStore(path) }); await hub.start()
 */
export async function createHub(init: HubInit, components: HubComponents): Promise<Hub> {
  const { store } = components
  const now = components.now ?? Date.now
  const log = components.log ?? (() => {})
  const host = init.host ?? '127.0.0.1'
  const hubId = init.hubId ?? 'bitcdn'
  const statsEvery = init.statsIntervalMs ?? 5000
  const probeEvery = init.probeIntervalMs ?? 60_000
  const tracker: TrackerServer | undefined = init.trackerPort === false ? undefined : createTrackerServer({ host, port: init.trackerPort ?? 8000, ws: init.trackerWs !== false })
  const chain: ChainTotals | undefined = init.chain ? createChainTotals(init.chain) : undefined
  const listeners = new Set<(s: NetworkStats) => void>()
  let latest: NetworkStats | undefined
  let timers: NodeJS.Timeout[] = []
  let url = ''
  const trackerUrls = () => [tracker?.httpUrl, tracker?.udpUrl, tracker?.wsUrl].filter((u): u is string => !!u)

  const stats = async () => {
    const t = tracker?.stats()
    return computeStats({ store, now, tracker: t ? () => ({ torrents: t.torrents, peers: t.peers }) : undefined, chain: chain ? () => chain.snapshot() : undefined })
  }
  const app = await buildHubApp({
    store,
    hubId,
    chainId: init.chain?.chainId,
    escrow: init.chain?.escrow,
    now,
    stats: async () => latest ?? (latest = await stats()),
    onStats: (l) => {
      listeners.add(l)
      return () => listeners.delete(l)
    },
    trackers: () => trackerUrls(),
  })
  if (init.webRoot) {
    const { default: fastifyStatic } = await import('./api/static.js')
    await app.register(fastifyStatic, { root: init.webRoot })
  }

  async function tick(): Promise<NetworkStats> {
    if (chain) {
      await chain.refresh().catch((err: Error) => log({ level: 'warn', msg: 'escrow events unreadable', err: err.message }))
    }
    const s = await stats()
    latest = s
    for (const l of listeners) l(s)
    // one sample per metric per interval bucket; the first hub instance to write a bucket wins
    const bucket = Math.floor(s.at / statsEvery) * statsEvery
    for (const metric of SERIES) await store.putSample({ metric, at: bucket, value: seriesValue(s, metric) })
    return s
  }

  async function probeAll(): Promise<void> {
    const nodes = await store.listNodes(now() - STALE_MS, 1000)
    for (const n of nodes) {
      const r = await probeNode(n.fields.payee, n.fields.endpoint, n.fields.pinned[0], now)
      await store.putProbe(r)
    }
  }

  return {
    app,
    get url() {
      return url
    },
    get trackers() {
      return trackerUrls()
    },
    tick,
    probeAll,
    async start() {
      await store.migrate()
      if (tracker) await tracker.start()
      const address = await app.listen({ host, port: init.port ?? 8080 })
      url = address.replace('[::1]', 'localhost')
      await tick()
      const guard = (what: string, fn: () => Promise<unknown>) => () => void fn().catch((err: Error) => log({ level: 'warn', msg: `${what} failed`, err: err.message }))
      timers.push(setInterval(guard('statistics', tick), statsEvery))
      if (probeEvery > 0) timers.push(setInterval(guard('probe', probeAll), probeEvery))
      for (const t of timers) t.unref()
    },
    async stop() {
      for (const t of timers) clearInterval(t)
      timers = []
      await app.close()
      if (tracker) await tracker.stop()
      await store.close()
    },
  }
}
