/**
 * Gateways' offload ratio: the hub reads each gateway it watches from the gateway's own Prometheus
 * `/metrics` (piece bytes by source, pull-zone bytes proxied from the origin) and computes the
 * share of bytes that did not come from the origin — per gateway and over all of them, weighted by
 * bytes. A gateway's answer is untrusted input: read with a timeout, at most MAX_METRICS_BYTES, and
 * only the few lines named here are parsed.
 */

/** Largest `/metrics` answer read. */
export const MAX_METRICS_BYTES = 1 << 20

export interface GatewayOffload {
  url: string
  /** Piece bytes served from the cache, the swarm (paid nodes) and the origin, plus proxied bytes. */
  cacheBytes: number
  swarmBytes: number
  originBytes: number
  proxiedBytes: number
  /** (cache + swarm) / all; undefined before the gateway has served anything or when unreadable. */
  offloadRatio?: number
  /** Why it could not be read, when it could not. */
  error?: string
}

/** Parses the gateway's counters out of Prometheus text. */
export function parseGatewayMetrics(url: string, text: string): GatewayOffload {
  const sample = (re: RegExp) => {
    const m = re.exec(text)
    const v = m ? Number(m[1]) : 0
    return Number.isFinite(v) && v >= 0 ? v : 0
  }
  const cacheBytes = sample(/^bitcdn_gateway_piece_bytes_total\{source="cache"\} (\S+)$/m)
  const swarmBytes = sample(/^bitcdn_gateway_piece_bytes_total\{source="swarm"\} (\S+)$/m)
  const originBytes = sample(/^bitcdn_gateway_piece_bytes_total\{source="origin"\} (\S+)$/m)
  const proxiedBytes = sample(/^bitcdn_gateway_proxied_bytes_total (\S+)$/m)
  const all = cacheBytes + swarmBytes + originBytes + proxiedBytes
  return { url, cacheBytes, swarmBytes, originBytes, proxiedBytes, ...(all > 0 ? { offloadRatio: (cacheBytes + swarmBytes) / all } : {}) }
}

/**
 * Reads one gateway's counters; never throws (an unreadable gateway carries `error`).
 * @example const g = await readGatewayOffload('http://127.0.0.1:8088')
 */
export async function readGatewayOffload(url: string, timeoutMs = 5_000): Promise<GatewayOffload> {
  const empty = { url, cacheBytes: 0, swarmBytes: 0, originBytes: 0, proxiedBytes: 0 }
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(timeoutMs) })
    if (!res.ok || !res.body) return { ...empty, error: `HTTP ${res.status}` }
    let text = ''
    const decoder = new TextDecoder()
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true })
      if (text.length > MAX_METRICS_BYTES) return { ...empty, error: `metrics larger than ${MAX_METRICS_BYTES} bytes` }
    }
    return parseGatewayMetrics(url, text)
  } catch (err) {
    return { ...empty, error: (err as Error).message }
  }
}

/** Over all gateways, weighted by bytes; undefined when none has served anything. */
export function overallOffload(gateways: readonly GatewayOffload[]): number | undefined {
  let off = 0
  let all = 0
  for (const g of gateways) {
    off += g.cacheBytes + g.swarmBytes
    all += g.cacheBytes + g.swarmBytes + g.originBytes + g.proxiedBytes
  }
  return all > 0 ? off / all : undefined
}
