/**
 * The gateway's JSON logs (pino, one event per line on stdout). Only services bind pino; the
 * libraries below take any `Logger` through their components.
 */
import pino from 'pino'
import type { FastifyBaseLogger } from 'fastify'

/**
 * @example
 * const log = createGatewayLogger('info')
 * log.info({ port }, 'gateway listening')
 */
export function createGatewayLogger(level: string = 'info', destination?: NodeJS.WritableStream): FastifyBaseLogger {
  return pino({ level, base: { service: 'bitcdn-gateway' }, timestamp: pino.stdTimeFunctions.isoTime }, destination ?? process.stdout) as unknown as FastifyBaseLogger
}
