/**
 * Self-registration with the hubs in the config (`[hub] urls`): at start and every
 * REGISTRATION_REFRESH_MS the node signs a registration with its payout key (EIP-191, the message
 * of `@bitcdn/pay`'s `signRegistration`) — endpoint, price, token, chain, escrow, pinned content,
 * bytes served — and posts it to each hub's `/api/v1/nodes`. The hub network's id comes from the
 * hub's `/api/v1/info`; a hub serving another chain or escrow is skipped with one clear log line
 * rather than sent a registration it must refuse. Failures never stop the node: each is one
 * `warn` line with `BITCDN_ERR_NODE_HUB_REGISTRATION`, and the next refresh tries again.
 */
import { signRegistration, REGISTRATION_REFRESH_MS } from '@bitcdn/pay'
import type { Logger } from '@bitcdn/core'
import type { Address, Hex } from 'viem'
import { NodeErrorCode } from './errors.js'
import type { NodeStatus } from './node.js'

export interface HubRegistrationInit {
  /** Hub API base URLs. */
  urls: readonly string[]
  /** host:port to advertise; empty: the node's listen address. */
  endpoint: string
  region: string
  /** Software version sent, e.g. `bitcdn/0.1.0`. */
  version: string
  /** @default REGISTRATION_REFRESH_MS */
  refreshMs?: number
  /** Per-request timeout. @default 10000 */
  timeoutMs?: number
}

export interface HubRegistrationComponents {
  status: () => NodeStatus
  /** The payout key (signs). */
  account: { address: Address; signMessage(args: { message: string }): Promise<Hex> }
  logger: Logger
  now?: () => number
}

/** Outcome of one registration attempt at one hub. */
export interface HubRegistrationResult {
  url: string
  ok: boolean
  /** HTTP status, when the hub answered. */
  status?: number
  detail?: string
}

export interface HubRegistration {
  /** Registers now, then every `refreshMs`. Resolves after the first round (never throws). */
  start(): Promise<HubRegistrationResult[]>
  stop(): Promise<void>
  /** One round now: every hub, in parallel. */
  registerNow(): Promise<HubRegistrationResult[]>
}

interface HubInfo {
  hub: string
  chainId?: number
  escrow?: string
}

const WILDCARD = new Set(['0.0.0.0', '::', '[::]', ''])
/** A hub's answer is read up to this size; anything bigger is not a hub's JSON. */
const MAX_ANSWER_BYTES = 64 * 1024

/**
 * @example
 * const reg = createHubRegistration({ urls: ['http://127.0.0.1:8080'], endpoint: '', region: '', version: 'bitcdn/0.1.0' })({ status: () => node.status(), account, logger })
 * await reg.start()
 */
export function createHubRegistration(init: HubRegistrationInit): (components: HubRegistrationComponents) => HubRegistration {
  return ({ status, account, logger, now = Date.now }) => {
    const log = logger.child({ component: 'hub-registration' })
    const refreshMs = init.refreshMs ?? REGISTRATION_REFRESH_MS
    const timeoutMs = init.timeoutMs ?? 10_000
    const infos = new Map<string, HubInfo>()
    let timer: NodeJS.Timeout | undefined
    let round: Promise<HubRegistrationResult[]> | undefined
    const abort = new AbortController()

    async function getJson(url: string, body?: string): Promise<{ status: number; json: Record<string, unknown> }> {
      const res = await fetch(url, {
        method: body ? 'POST' : 'GET',
        headers: body ? { 'content-type': 'application/json', accept: 'application/json' } : { accept: 'application/json' },
        body,
        signal: AbortSignal.any([abort.signal, AbortSignal.timeout(timeoutMs)]),
      })
      const text = await res.text()
      if (text.length > MAX_ANSWER_BYTES) return { status: res.status, json: {} }
      let json: Record<string, unknown> = {}
      try {
        const parsed: unknown = JSON.parse(text)
        if (parsed && typeof parsed === 'object') json = parsed as Record<string, unknown>
      } catch {
        // not JSON: reported by status below
      }
      return { status: res.status, json }
    }

    async function info(url: string): Promise<HubInfo> {
      const known = infos.get(url)
      if (known) return known
      const { status: code, json } = await getJson(`${url}/api/v1/info`)
      if (code !== 200 || typeof json.hub !== 'string') throw new Error(`${url}/api/v1/info answered ${code}, not a hub's info`)
      const i: HubInfo = { hub: json.hub, chainId: typeof json.chainId === 'number' ? json.chainId : undefined, escrow: typeof json.escrow === 'string' ? json.escrow : undefined }
      infos.set(url, i)
      return i
    }

    async function registerAt(url: string): Promise<HubRegistrationResult> {
      const st = status()
      const chain = st.chain
      if (!chain) return { url, ok: false, detail: 'the node has no chain (no deployment file): a hub registration names the escrow that pays it' }
      const endpoint = init.endpoint || (WILDCARD.has(st.listen.host) ? '' : `${st.listen.host.includes(':') ? `[${st.listen.host}]` : st.listen.host}:${st.listen.port}`)
      if (!endpoint) return { url, ok: false, detail: `the node listens on ${st.listen.host}, which no one can dial: set [hub] endpoint = "host:port" in the config` }
      const hub = await info(url)
      if (hub.chainId !== undefined && hub.chainId !== chain.chainId) return { url, ok: false, detail: `the hub serves chain ${hub.chainId}, this node is on chain ${chain.chainId}` }
      if (hub.escrow !== undefined && hub.escrow.toLowerCase() !== chain.escrow.toLowerCase()) return { url, ok: false, detail: `the hub serves escrow ${hub.escrow}, this node is paid through ${chain.escrow}` }
      const body = await signRegistration(account, {
        payee: account.address,
        endpoint,
        pricePerGiB: st.pricePerGiBUnits.toString(),
        token: chain.token,
        chainId: chain.chainId,
        escrow: chain.escrow,
        hub: hub.hub,
        region: init.region,
        version: init.version,
        servedBytes: String(st.bytesServed.paid + st.bytesServed.free),
        pinned: st.torrents.filter((t) => t.pinned).map((t) => t.infoHash).slice(0, 256),
        timestamp: now(),
      })
      const r = await getJson(`${url}/api/v1/nodes`, JSON.stringify(body))
      if (r.status === 200 || r.status === 201) return { url, ok: true, status: r.status }
      // the hub network may have changed under the same URL: ask its info again next time
      infos.delete(url)
      return { url, ok: false, status: r.status, detail: `${typeof r.json.code === 'string' ? `${r.json.code}: ` : ''}${typeof r.json.message === 'string' ? r.json.message : `HTTP ${r.status}`}` }
    }

    async function roundOnce(): Promise<HubRegistrationResult[]> {
      const results = await Promise.all(
        init.urls.map((url) => registerAt(url).catch((err: Error): HubRegistrationResult => ({ url, ok: false, detail: err.message }))),
      )
      for (const r of results) {
        if (r.ok) log.debug({ hub: r.url, status: r.status }, 'registered with hub')
        else if (!abort.signal.aborted) log.warn({ code: NodeErrorCode.hubRegistration, hub: r.url, status: r.status, detail: r.detail }, `hub registration failed: ${r.detail}`)
      }
      return results
    }

    function registerNow(): Promise<HubRegistrationResult[]> {
      // one round at a time: a slow hub must not pile up rounds
      round ??= roundOnce().finally(() => (round = undefined))
      return round
    }

    return {
      registerNow,
      async start() {
        if (init.urls.length === 0) return []
        const first = await registerNow()
        const ok = first.filter((r) => r.ok).length
        log.info({ hubs: init.urls, registered: ok, refreshMs }, `registered with ${ok} of ${init.urls.length} hub(s)`)
        timer = setInterval(() => void registerNow(), refreshMs)
        timer.unref()
        return first
      },
      async stop() {
        if (timer) clearInterval(timer)
        timer = undefined
        abort.abort()
        await round?.catch(() => {})
      },
    }
  }
}
