/**
 * Asking nodes to pin what the pull zone hashed. Two ways, both fire-and-forget after publish:
 *
 * - **the hub catalogue** (any node on the network): the torrent is announced, signed by the
 *   gateway's key (EIP-191, the hub's catalogue-entry format), with a magnet carrying the origin
 *   as web seed (`ws=`), the trackers (`tr=`) and the gateway's own `.torrent` URL (`xs=`). Nodes
 *   that opted in ("auto-pin catalogue content from hub X, publisher Y, up to a quota") pick it
 *   up, fetch the data from the web seed or the swarm, and serve it, paid.
 * - **the admin API** of nodes the gateway's operator runs (each configured with its token):
 *   `POST /pins` with the .torrent bytes.
 *
 * The gateway does not import the hub (the hub is to its right): the signer comes in as a
 * component (`signCatalogueEntry` bound to the gateway's account, wired by the CLI).
 */
import type { Metainfo } from '@bitcdn/content'
import type { FastifyBaseLogger } from 'fastify'
import type { Counter } from 'prom-client'

/** The fields of a hub catalogue entry (`BitCDN catalogue entry v1`). */
export interface CatalogueEntryInput {
  publisher: string
  infoHash: string
  name: string
  description: string
  length: string
  magnet: string
  hub: string
  timestamp: number
}

export interface PinRequestsInit {
  /** Hub API base URLs (`http://hub:8080`) whose catalogue gets each new torrent. */
  hubs?: string[]
  /** Nodes the operator runs: admin API base URL and bearer token. */
  nodes?: { url: string; token: string }[]
  /** This gateway's URL as nodes reach it (the `.torrent` is at `/torrents/{infohash}`). */
  publicUrl?: string
  /** Trackers the magnet names. */
  trackers?: string[]
  /** Per HTTP call, ms. @default 10000 */
  timeoutMs?: number
}

export interface PinRequestsComponents {
  /** The gateway's address: the catalogue entry's publisher. Required with `hubs`. */
  publisher?: string
  /** Signs a catalogue entry (EIP-191) with the publisher's key. Required with `hubs`. */
  sign?: (input: CatalogueEntryInput) => Promise<{ fields: unknown; signature: string }>
  logger: FastifyBaseLogger
  /** `bitcdn_gateway_pin_requests_total{via, result}`. */
  counter?: Counter<'via' | 'result'>
}

export interface PinRequests {
  /** Ask every hub and node to pin `m` (the pull-zone object at `url`); never throws. */
  request(m: Metainfo, url: string): Promise<void>
}

/**
 * The magnet a catalogue entry carries: info-hash, name, size, trackers, web seeds and the
 * `.torrent` URL (BEP 9 `xs`), so a node gets the metadata without asking peers.
 * @example catalogueMagnet(m, 'http://gw.example:8080', ['http://hub:8000/announce'])
 */
export function catalogueMagnet(m: Metainfo, publicUrl: string | undefined, trackers: readonly string[]): string {
  const parts = [`xt=urn:btih:${m.infoHash}`, `dn=${encodeURIComponent(m.name)}`, `xl=${m.length}`]
  for (const tr of new Set([...m.announce, ...trackers])) parts.push(`tr=${encodeURIComponent(tr)}`)
  for (const ws of m.urlList) parts.push(`ws=${encodeURIComponent(ws)}`)
  if (publicUrl !== undefined) parts.push(`xs=${encodeURIComponent(`${publicUrl.replace(/\/$/, '')}/torrents/${m.infoHash}`)}`)
  return `magnet:?${parts.join('&')}`
}

/**
 * @example
 * const pins = createPinRequests({ hubs: ['http://hub:8080'], publicUrl })({ publisher, sign, logger })
 * onPublish: (m, url) => void pins.request(m, url)
 */
export function createPinRequests(init: PinRequestsInit): (components: PinRequestsComponents) => PinRequests {
  return (c) => {
    const timeoutMs = init.timeoutMs ?? 10_000
    const hubIds = new Map<string, string>()
    const count = (via: string, result: string) => c.counter?.inc({ via, result })

    const hubId = async (hub: string): Promise<string> => {
      const known = hubIds.get(hub)
      if (known !== undefined) return known
      const res = await fetch(`${hub}/api/v1/info`, { signal: AbortSignal.timeout(timeoutMs) })
      if (!res.ok) throw new Error(`${hub}/api/v1/info: HTTP ${res.status}`)
      const id = ((await res.json()) as { hub?: unknown }).hub
      if (typeof id !== 'string' || id === '') throw new Error(`${hub}/api/v1/info names no hub id`)
      hubIds.set(hub, id)
      return id
    }

    const toHub = async (hub: string, m: Metainfo, url: string): Promise<void> => {
      if (c.sign === undefined || c.publisher === undefined) throw new Error('no key to sign catalogue entries')
      const body = await c.sign({
        publisher: c.publisher,
        infoHash: m.infoHash,
        name: m.name.slice(0, 200),
        description: `pull zone ${url}`.slice(0, 2000),
        length: String(m.length),
        magnet: catalogueMagnet(m, init.publicUrl, init.trackers ?? []),
        hub: await hubId(hub),
        timestamp: Date.now(),
      })
      const res = await fetch(`${hub}/api/v1/catalogue`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) })
      // 409: an entry as new is already there (another request published the same torrent)
      if (!res.ok && res.status !== 409) throw new Error(`${hub}/api/v1/catalogue: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`)
    }

    const toNode = async (node: { url: string; token: string }, m: Metainfo): Promise<void> => {
      const res = await fetch(`${node.url.replace(/\/$/, '')}/pins`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${node.token}` },
        body: JSON.stringify({ torrent: m.torrentFile.toString('base64') }),
        signal: AbortSignal.timeout(timeoutMs),
      })
      if (!res.ok) throw new Error(`${node.url}/pins: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`)
    }

    return {
      async request(m, url) {
        const jobs: Promise<void>[] = []
        for (const hub of init.hubs ?? []) {
          const base = hub.replace(/\/$/, '')
          jobs.push(
            toHub(base, m, url).then(
              () => {
                count('catalogue', 'ok')
                c.logger.info({ hub: base, infoHash: m.infoHash, url }, 'pull zone: announced to the hub catalogue')
              },
              (err: unknown) => {
                count('catalogue', 'failed')
                c.logger.warn({ hub: base, infoHash: m.infoHash, err: (err as Error).message }, 'pull zone: catalogue announcement failed')
              },
            ),
          )
        }
        for (const node of init.nodes ?? []) {
          jobs.push(
            toNode(node, m).then(
              () => {
                count('admin', 'ok')
                c.logger.info({ node: node.url, infoHash: m.infoHash, url }, 'pull zone: pinned on an operator node')
              },
              (err: unknown) => {
                count('admin', 'failed')
                c.logger.warn({ node: node.url, infoHash: m.infoHash, err: (err as Error).message }, 'pull zone: admin pin failed')
              },
            ),
          )
        }
        await Promise.all(jobs)
      },
    }
  }
}
