/**
 * Prometheus metrics of the gateway (prom-client, its own registry): bytes served by source, the
 * offload ratio (bytes not from the origin / all), time to first byte, hedges and failures by kind.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export type PieceOrigin = 'cache' | 'swarm' | 'origin'

export interface GatewayMetrics {
  readonly registry: Registry
  /** Piece bytes obtained for responses, by where they came from. */
  pieceBytes: Counter<'source'>
  /** Response body bytes written to clients, by route. */
  servedBytes: Counter<'route'>
  /** Pull-zone bytes proxied straight from the origin (first requests, uncacheable objects). */
  proxiedBytes: Counter
  ttfb: Histogram<'route' | 'source'>
  requests: Counter<'route' | 'status'>
  /** Pieces the origin was asked for because the swarm was late (and how that went). */
  hedges: Counter<'outcome'>
  errors: Counter<'kind'>
  /** Token units spent buying pieces (market buyer). */
  spend: Counter
  /** Pin requests for pull-zone torrents, by way (catalogue, admin) and result. */
  pinRequests: Counter<'via' | 'result'>
  inflightRequests: Gauge
  inflightBytes: Gauge
  cacheBytes: Gauge
  /** Peers connected over all torrents (swarm reach). */
  peers: Gauge
  /** Count piece bytes by source (updates the offload ratio). */
  countPiece(source: PieceOrigin, bytes: number): void
  /** Count pull-zone bytes proxied from the origin (they count against the offload ratio). */
  countProxied(bytes: number): void
}

/**
 * @example
 * const metrics = createGatewayMetrics()
 * reply.send(await metrics.registry.metrics())
 */
export function createGatewayMetrics(opts: { defaultMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry()
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'bitcdn_gateway_' })
  const registers = [registry]
  const bySource = { cache: 0, swarm: 0, origin: 0 }
  let proxied = 0
  const proxiedBytes = new Counter({ name: 'bitcdn_gateway_proxied_bytes_total', help: 'Pull-zone bytes proxied from the origin', registers })
  const m: GatewayMetrics = {
    registry,
    pieceBytes: new Counter({ name: 'bitcdn_gateway_piece_bytes_total', help: 'Piece bytes obtained for responses, by source', labelNames: ['source'], registers }),
    servedBytes: new Counter({ name: 'bitcdn_gateway_served_bytes_total', help: 'Response body bytes sent, by route', labelNames: ['route'], registers }),
    proxiedBytes,
    ttfb: new Histogram({
      name: 'bitcdn_gateway_ttfb_seconds',
      help: 'Time from request to the first body byte ready',
      labelNames: ['route', 'source'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    requests: new Counter({ name: 'bitcdn_gateway_requests_total', help: 'Requests answered, by route and status', labelNames: ['route', 'status'], registers }),
    hedges: new Counter({ name: 'bitcdn_gateway_hedges_total', help: 'Pieces asked of the origin because the swarm was late, by outcome', labelNames: ['outcome'], registers }),
    errors: new Counter({ name: 'bitcdn_gateway_errors_total', help: 'Failures by kind', labelNames: ['kind'], registers }),
    spend: new Counter({ name: 'bitcdn_gateway_spend_token_units_total', help: 'Token base units paid to nodes', registers }),
    pinRequests: new Counter({ name: 'bitcdn_gateway_pin_requests_total', help: 'Pin requests for pull-zone torrents, by way and result', labelNames: ['via', 'result'], registers }),
    inflightRequests: new Gauge({ name: 'bitcdn_gateway_inflight_requests', help: 'Requests being answered', registers }),
    inflightBytes: new Gauge({ name: 'bitcdn_gateway_inflight_bytes', help: 'Piece bytes held for responses', registers }),
    cacheBytes: new Gauge({ name: 'bitcdn_gateway_cache_bytes', help: 'Bytes in the piece cache', registers }),
    peers: new Gauge({ name: 'bitcdn_gateway_peers', help: 'Peers connected, over all torrents', registers }),
    countPiece(source, bytes) {
      bySource[source] += bytes
      m.pieceBytes.inc({ source }, bytes)
    },
    countProxied(bytes) {
      proxied += bytes
      proxiedBytes.inc(bytes)
    },
  }
  new Gauge({
    name: 'bitcdn_gateway_offload_ratio',
    help: 'Share of bytes not fetched from the origin (swarm + cache) / (all)',
    registers,
    collect() {
      const all = bySource.cache + bySource.swarm + bySource.origin + proxied
      this.set(all === 0 ? 0 : (bySource.cache + bySource.swarm) / all)
    },
  })
  return m
}
