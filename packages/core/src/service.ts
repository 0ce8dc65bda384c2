/**
 * Service shapes (js-libp2p style): `createX(init)` returns `(components) => X`. `init` is plain,
 * documented user config; `components` are injected collaborators (logger, clock, stores, chain
 * clients), so tests swap them without mocks of the code under test.
 */

/** Structured logger, pino-compatible. Libraries receive one; only node/gateway/hub bind pino. */
export interface Logger {
  debug(obj: object | string, msg?: string): void
  info(obj: object | string, msg?: string): void
  warn(obj: object | string, msg?: string): void
  error(obj: object | string, msg?: string): void
  child(bindings: Record<string, unknown>): Logger
}

/** A logger that drops everything: the default when no logger is injected. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger
  },
}

/** Time source, injectable so credit windows and timeouts are testable. */
export interface Clock {
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

/** A long-running service. */
export interface Startable {
  start(): Promise<void>
  stop(): Promise<void>
}
