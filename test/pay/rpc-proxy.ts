/**
 * A JSON-RPC HTTP proxy in front of anvil that a test can cut (every request then fails at the
 * socket, as with an RPC outage) and that refuses `eth_getLogs` over more than `maxLogRange`
 * blocks, as hosted RPCs do. Records the getLogs ranges it forwarded.
 */
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RpcProxy {
  url: string
  down(): void
  up(): void
  /** eth_getLogs ranges forwarded (from, to) and how many were refused as too large. */
  logRanges: { from: bigint; to: bigint }[]
  refusedRanges: number
  /** When each request arrived (Date.now()), every method. */
  requestTimes: number[]
  close(): Promise<void>
}

export async function startRpcProxy(target: string, opts: { maxLogRange?: number; /** Each request is answered this much later (a slow RPC). */ delayMs?: number } = {}): Promise<RpcProxy> {
  const t = new URL(target)
  let isDown = false
  const proxy: Partial<RpcProxy> = { logRanges: [], refusedRanges: 0, requestTimes: [] }
  const server: Server = createServer((req, res) => {
    if (isDown) {
      req.socket.destroy()
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => (opts.delayMs ? setTimeout(forward, opts.delayMs) : forward()))
    proxy.requestTimes!.push(Date.now())
    const forward = () => {
      const body = Buffer.concat(chunks)
      const msg = JSON.parse(body.toString()) as { id: number; method: string; params?: [{ fromBlock?: string; toBlock?: string }] }
      if (!Array.isArray(msg) && msg.method === 'eth_getLogs' && msg.params?.[0]?.fromBlock && msg.params[0].toBlock) {
        const from = BigInt(msg.params[0].fromBlock)
        const to = BigInt(msg.params[0].toBlock)
        if (opts.maxLogRange !== undefined && to - from + 1n > BigInt(opts.maxLogRange)) {
          proxy.refusedRanges!++
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: -32005, message: `query exceeds max block range ${opts.maxLogRange}` } }))
          return
        }
        proxy.logRanges!.push({ from, to })
      }
      const up = request({ host: t.hostname, port: t.port, method: 'POST', path: t.pathname, headers: { 'content-type': 'application/json' } }, (r) => {
        res.writeHead(r.statusCode ?? 502, { 'content-type': 'application/json' })
        r.pipe(res)
      })
      up.on('error', () => res.destroy())
      up.end(body)
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${port}`,
    down: () => void (isDown = true),
    up: () => void (isDown = false),
    close: () => new Promise<void>((r) => {
      server.closeAllConnections()
      server.close(() => r())
    }),
  }) as RpcProxy
}
