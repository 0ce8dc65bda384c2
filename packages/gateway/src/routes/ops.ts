/**
 * Operations routes: `/metrics` (Prometheus text), `/healthz`, `/openapi.json` (OpenAPI 3.1 from
 * the route schemas).
 */
import type { FastifyInstance } from 'fastify'
import type { GatewayMetrics } from '../metrics.js'

export async function opsRoutes(app: FastifyInstance, opts: { metrics: GatewayMetrics; beforeScrape?: () => void }): Promise<void> {
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', response: { 200: { description: 'Prometheus text exposition', content: { 'text/plain': { schema: { type: 'string' } } } } } } }, async (_req, reply) => {
    opts.beforeScrape?.()
    reply.header('content-type', opts.metrics.registry.contentType)
    return opts.metrics.registry.metrics()
  })
  app.get('/healthz', { schema: { summary: 'Liveness', response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } } } }, async () => ({ ok: true }))
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}
