/**
 * Per-origin politeness for web seeds. A CDN's HTTP origin is the web seed of many torrents at
 * once; every web-seed connection to the same origin (scheme://host:port) shares one pool entry:
 * at most `maxConnections` requests in flight, one keep-alive agent, and one exponential backoff
 * (1 s → 2 s → … → 60 s, reset by a success) so a failing origin is left alone instead of
 * hammered, yet never dropped for good. `https://` origins get an `https.Agent` that trusts Node's
 * store plus any extra CAs given (`ca`), for origins behind a private CA.
 */
import { EventEmitter } from 'node:events'
import http from 'node:http'
import https from 'node:https'
import tls from 'node:tls'
import { systemClock, type Clock } from '@bitcdn/core'

export interface OriginPoolInit {
  /** Concurrent HTTP requests per origin, across all web-seed connections. @default 4 */
  maxConnectionsPerOrigin?: number
  /** First backoff after a failure, in ms. @default 1000 */
  initialBackoffMs?: number
  /** Longest backoff, in ms. @default 60000 */
  maxBackoffMs?: number
  /** Longest `Retry-After` (429/503) honoured, in ms; an origin asking to wait longer waits this. @default 600000 */
  maxRetryAfterMs?: number
  /**
   * Extra CA certificates (PEM) trusted for every `https://` origin, on top of Node's trust store
   * (`tls.rootCertificates`). For private origins whose certificate a private CA signed.
   * @default none: Node's trust store only
   */
  ca?: CaOption
}

/** PEM certificate(s), as `tls.SecureContextOptions.ca` takes them. */
export type CaOption = string | Buffer | Array<string | Buffer>

export interface OriginPoolComponents {
  clock?: Clock
}

/** What the pool knows about one origin (for tests, metrics and the hub). */
export interface OriginState {
  /** Requests holding a slot now. */
  active: number
  /** Requests waiting for a slot. */
  waiting: number
  limit: number
  /** Consecutive failures since the last success. */
  failures: number
  /** Milliseconds of backoff left (0 when the origin may be asked). */
  backoffRemainingMs: number
}

export interface OriginPool {
  /**
   * Declare an origin and the most connections its user allows. The lowest limit any caller
   * asked for wins, so one cautious configuration is never overridden by a greedy one. Extra CAs
   * (`options.ca`) add to those already trusted for the origin; they never remove any.
   */
  register(origin: string, maxConnections?: number, options?: { ca?: CaOption }): void
  /** Wait for a request slot; resolves to its release function. Rejects if `signal` aborts. */
  acquire(origin: string, signal?: AbortSignal): Promise<() => void>
  /**
   * Record a failed request that started at `startedAt` (ms); returns the backoff now in force.
   * `minDelayMs` is the origin's own `Retry-After`, honoured up to `maxRetryAfterMs`.
   */
  reportFailure(origin: string, startedAt: number, minDelayMs?: number): number
  /** Record a successful request: the backoff resets. */
  reportSuccess(origin: string): void
  /** Milliseconds until the origin may be asked again (0: now). */
  backoffRemainingMs(origin: string): number
  /** Call `fn` each time a backoff of `origin` ends; returns an unsubscribe function. */
  onReady(origin: string, fn: () => void): () => void
  /** Keep-alive agent for the origin (sockets are reused between range requests). */
  agent(origin: string): http.Agent
  state(origin: string): OriginState
  /** Close idle sockets and timers. */
  destroy(): void
}

interface Entry {
  limit: number
  active: number
  waiters: Array<{ grant: () => void }>
  failures: number
  retryAt: number
  lastFailureAt: number
  timer: NodeJS.Timeout | undefined
  agent: http.Agent | undefined
  /** Extra CAs trusted for this origin (the pool's own `ca` comes on top). */
  ca: Array<string | Buffer>
}

/**
 * Create a pool. Most programs use {@link defaultOriginPool}; tests and embedders that want
 * their own limits and backoff create one and pass it to `createWebSeedConnection`.
 * @example
 * const pool = createOriginPool({ maxConnectionsPerOrigin: 2, initialBackoffMs: 500 })
 * const release = await pool.acquire('https://cdn.example.com')
 * try { ... } finally { release() }
 */
export function createOriginPool(init: OriginPoolInit = {}, components: OriginPoolComponents = {}): OriginPool {
  const defaultLimit = Math.max(1, init.maxConnectionsPerOrigin ?? 4)
  const initialBackoffMs = init.initialBackoffMs ?? 1000
  const maxBackoffMs = init.maxBackoffMs ?? 60_000
  const maxRetryAfterMs = init.maxRetryAfterMs ?? 600_000
  const clock = components.clock ?? systemClock
  const poolCa = toList(init.ca)
  /** Agents replaced after an origin gained a CA; destroyed with the pool. */
  const retired: http.Agent[] = []
  const entries = new Map<string, Entry>()
  const ready = new EventEmitter()
  ready.setMaxListeners(0)

  function entry(origin: string): Entry {
    let e = entries.get(origin)
    if (!e) {
      e = { limit: defaultLimit, active: 0, waiters: [], failures: 0, retryAt: 0, lastFailureAt: 0, timer: undefined, agent: undefined, ca: [] }
      entries.set(origin, e)
    }
    return e
  }

  function grantNext(e: Entry): void {
    while (e.active < e.limit && e.waiters.length > 0) {
      e.active++
      ;(e.waiters.shift() as { grant: () => void }).grant()
    }
  }

  return {
    register(origin, maxConnections, options) {
      const e = entry(origin)
      if (maxConnections !== undefined) e.limit = Math.max(1, Math.min(e.limit, maxConnections))
      const added = toList(options?.ca).filter((c) => !e.ca.some((have) => sameCert(have, c)))
      if (added.length > 0) {
        e.ca.push(...added)
        // the next request builds an agent that trusts them; requests in flight keep the old one
        if (e.agent) retired.push(e.agent)
        e.agent = undefined
      }
    },

    acquire(origin, signal) {
      const e = entry(origin)
      return new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason)
        let released = false
        const release = (): void => {
          if (released) return
          released = true
          e.active--
          grantNext(e)
        }
        const waiter = {
          grant: () => {
            signal?.removeEventListener('abort', onAbort)
            resolve(release)
          },
        }
        const onAbort = (): void => {
          const i = e.waiters.indexOf(waiter)
          if (i >= 0) e.waiters.splice(i, 1)
          reject(signal?.reason)
        }
        signal?.addEventListener('abort', onAbort, { once: true })
        e.waiters.push(waiter)
        grantNext(e)
      })
    },

    reportFailure(origin, startedAt, minDelayMs = 0) {
      const e = entry(origin)
      const now = clock.now()
      // Requests that were already in flight when the origin last failed fail together (one
      // outage, many requests); they must not push the backoff up once each.
      if (startedAt >= e.lastFailureAt || e.failures === 0) {
        e.failures++
        const delay = Math.max(Math.min(maxBackoffMs, initialBackoffMs * 2 ** (e.failures - 1)), Math.min(minDelayMs, maxRetryAfterMs))
        e.retryAt = now + delay
        e.lastFailureAt = now
        if (e.timer) clearTimeout(e.timer)
        e.timer = setTimeout(() => {
          e.timer = undefined
          // the timer is the authority: Date.now() may still read a millisecond short of retryAt
          e.retryAt = 0
          ready.emit(origin)
        }, delay)
        e.timer.unref()
      }
      return Math.max(0, e.retryAt - now)
    },

    reportSuccess(origin) {
      const e = entry(origin)
      e.failures = 0
      e.retryAt = 0
    },

    backoffRemainingMs(origin) {
      const e = entries.get(origin)
      return e ? Math.max(0, e.retryAt - clock.now()) : 0
    },

    onReady(origin, fn) {
      ready.on(origin, fn)
      return () => ready.off(origin, fn)
    },

    agent(origin) {
      const e = entry(origin)
      if (!e.agent) {
        const opts = { keepAlive: true, maxSockets: e.limit, scheduling: 'lifo' as const }
        if (origin.startsWith('https:')) {
          const extra = [...poolCa, ...e.ca]
          // `ca` replaces Node's store: extra CAs are added to it, never trusted instead of it
          e.agent = new https.Agent(extra.length > 0 ? { ...opts, ca: [...tls.rootCertificates, ...extra] } : opts)
        } else e.agent = new http.Agent(opts)
      }
      return e.agent
    },

    state(origin) {
      const e = entry(origin)
      return {
        active: e.active,
        waiting: e.waiters.length,
        limit: e.limit,
        failures: e.failures,
        backoffRemainingMs: Math.max(0, e.retryAt - clock.now()),
      }
    },

    destroy() {
      for (const e of entries.values()) {
        if (e.timer) clearTimeout(e.timer)
        e.agent?.destroy()
      }
      for (const a of retired.splice(0)) a.destroy()
      entries.clear()
      ready.removeAllListeners()
    },
  }
}

function toList(ca: CaOption | undefined): Array<string | Buffer> {
  if (ca === undefined) return []
  return Array.isArray(ca) ? ca : [ca]
}

function sameCert(a: string | Buffer, b: string | Buffer): boolean {
  return Buffer.from(a).equals(Buffer.from(b))
}

let shared: OriginPool | undefined

/**
 * The process-wide pool every web-seed connection uses unless given another, so all torrents
 * served by one origin share its connection limit and backoff.
 * @example
 * defaultOriginPool().state('https://cdn.example.com').backoffRemainingMs
 */
export function defaultOriginPool(): OriginPool {
  shared ??= createOriginPool()
  return shared
}
