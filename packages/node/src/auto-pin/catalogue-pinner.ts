/**
 * Auto-pin (opt-in, config `[auto_pin]`): the node polls the catalogues of the hubs it names and
 * pins new entries from the publishers it trusts (a list is required: "anyone's" would let anyone
 * make the node fetch URLs of their choosing) up to its own quota. This is how content a gateway hashed from its origin reaches nodes the gateway does not
 * run: the gateway announces it, signed, to the hub; the node verifies the publisher's signature
 * itself (a hub is not trusted to have), fetches the .torrent from the magnet's `xs` URL (16 MiB
 * and 15 s bounded, public addresses only unless `allowPrivateSources`), checks that it is the
 * info-hash the entry names and that its web seeds are public too, and pins it; the data comes from the torrent's web seed (the
 * origin) and the swarm, and is then served like any pin (paid).
 *
 * Everything from the hub and the `xs` server is hostile: one page of entries per poll (the
 * hub's limit caps it), each entry's size bounded before anything is fetched and checked again
 * against the real metainfo, at most one fetch at a time, and entries that failed are not tried
 * again until the process restarts (a bounded set: the newest 10,000). What was
 * auto-pinned is written to `auto-pin.json` before the pin, so a restart counts it in the quota.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import { getAddress } from 'viem'
import { silentLogger, type Logger } from '@bitcdn/core'
import type { Metainfo, TorrentRef } from '@bitcdn/content'
import { verifiedCataloguePublisher } from '@bitcdn/pay/signed-messages'
import { resolvePinSource, type PinSource } from '../pin-source.js'
import { assertPublicUrl } from './public-address.js'
import type { BitcdnNode } from '../node.js'

export interface CataloguePinnerInit {
  /** Hub API base URLs whose catalogue is followed. */
  hubs: string[]
  /** Catalogue publishers (0x addresses) whose entries are pinned; empty: auto-pin stays off. */
  publishers: string[]
  /** Fetch `xs` URLs and accept web seeds at private and loopback addresses (a lab, a LAN). @default false */
  allowPrivateSources?: boolean
  /** Total bytes auto-pinned content may take (0 turns auto-pin off). */
  quotaBytes: number
  /** Largest single entry pinned, bytes. */
  maxObjectBytes: number
  /** Between polls, ms. */
  intervalMs: number
  /** `auto-pin.json`: info-hash → bytes of what was auto-pinned. */
  stateFile: string
}

export interface CataloguePinnerComponents {
  node: Pick<BitcdnNode, 'pin' | 'status'>
  logger?: Logger
  /** Counts entries by outcome (`pinned`, `skipped`, `failed`). */
  count?: (outcome: string) => void
}

export interface CataloguePinner {
  start(): Promise<void>
  stop(): void
  /** One poll of every hub now (what the timer runs). */
  poll(): Promise<void>
}

interface Entry {
  [field: string]: unknown
  publisher?: unknown
  infoHash?: unknown
  length?: unknown
  magnet?: unknown
}

const PAGE = 100
const TRIED_MAX = 10_000
const FETCH_TIMEOUT_MS = 15_000

/** The `.torrent` URL of a magnet (`xs=`, http or https), if it names one. */
function exactSource(magnet: string): string | undefined {
  const xs = new URLSearchParams(magnet.slice(magnet.indexOf('?') + 1)).get('xs')
  if (xs === null) return undefined
  try {
    const u = new URL(xs)
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined
  } catch {
    return undefined
  }
}

/**
 * @example
 * const pinner = createCataloguePinner({ hubs: ['http://hub:8080'], publishers: [], quotaBytes: 10 * 2 ** 30, maxObjectBytes: 2 ** 30, intervalMs: 30_000, stateFile })({ node })
 * await pinner.start()
 */
export function createCataloguePinner(init: CataloguePinnerInit): (components: CataloguePinnerComponents) => CataloguePinner {
  return (c) => {
    const log = (c.logger ?? silentLogger).child({ component: 'auto-pin' })
    const trusted = new Set<string>(init.publishers.map((p) => getAddress(p)))
    const pinned = new Map<string, number>()
    const tried = new Set<string>()
    let timer: NodeJS.Timeout | undefined
    let running: Promise<void> | undefined
    let stopped = false

    const save = async () => {
      const tmp = `${init.stateFile}.tmp`
      await writeFile(tmp, JSON.stringify(Object.fromEntries(pinned)))
      await rename(tmp, init.stateFile)
    }
    /** Bytes of auto-pinned content the node still holds. */
    const used = (held: Set<string>) => [...pinned].reduce((n, [h, b]) => (held.has(h) ? n + b : n), 0)

    const consider = async (hub: string, e: Entry, held: Set<string>): Promise<void> => {
      if (typeof e.infoHash !== 'string' || !/^[0-9a-f]{40}$/.test(e.infoHash) || typeof e.magnet !== 'string' || typeof e.publisher !== 'string') return
      const infoHash = e.infoHash
      if (held.has(infoHash) || tried.has(infoHash)) return
      tried.add(infoHash)
      // a hub can list new entries without end: remember the newest TRIED_MAX only
      if (tried.size > TRIED_MAX) tried.delete(tried.values().next().value!)
      let publisher: string
      try {
        publisher = getAddress(e.publisher)
      } catch {
        return
      }
      if (!trusted.has(publisher)) return c.count?.('skipped')
      // the hub says it checked the signature; a hostile or broken hub would list anything
      if ((await verifiedCataloguePublisher(e as Record<string, unknown>)) !== publisher) {
        log.warn({ hub, infoHash, publisher }, 'catalogue entry: the signature is not the publisher’s')
        return c.count?.('failed')
      }
      const declared = typeof e.length === 'string' && /^\d{1,16}$/.test(e.length) ? Number(e.length) : NaN
      const fits = (bytes: number) => bytes <= init.maxObjectBytes && used(held) + bytes <= init.quotaBytes
      if (!(declared > 0) || !fits(declared)) {
        log.info({ hub, infoHash, bytes: e.length, quotaBytes: init.quotaBytes, usedBytes: used(held) }, 'catalogue entry does not fit the auto-pin quota')
        return c.count?.('skipped')
      }
      const xs = exactSource(e.magnet)
      const source: PinSource = xs !== undefined ? { url: xs } : { magnet: e.magnet }
      let resolved: Metainfo | TorrentRef
      try {
        resolved = await resolvePinSource(source, AbortSignal.timeout(FETCH_TIMEOUT_MS), { publicOnly: init.allowPrivateSources !== true })
        // web seeds are fetched by the swarm later: the same rule, checked now
        if ('pieceHashes' in resolved && init.allowPrivateSources !== true) for (const u of resolved.urlList.slice(0, 16)) await assertPublicUrl(u)
        if ('pieceHashes' in resolved && resolved.urlList.length > 16) throw new Error(`${resolved.urlList.length} web seeds (at most 16)`)
      } catch (err) {
        log.warn({ hub, infoHash, err: (err as Error).message }, 'catalogue entry: cannot get its metadata')
        return c.count?.('failed')
      }
      if (resolved.infoHash.toLowerCase() !== infoHash) {
        log.warn({ hub, infoHash, got: resolved.infoHash }, 'catalogue entry: the .torrent is for another info-hash')
        return c.count?.('failed')
      }
      // a magnet without xs: the size is only known once peers send the metadata; the declared
      // size (bounded above) is what the quota counts until then
      const bytes = 'pieceHashes' in resolved ? resolved.length : declared
      if (!fits(bytes)) return c.count?.('skipped')
      pinned.set(infoHash, bytes)
      await save()
      try {
        await c.node.pin({ source: 'pieceHashes' in resolved ? { torrent: resolved.torrentFile } : source })
        held.add(infoHash)
        log.info({ hub, infoHash, publisher, bytes }, 'auto-pinned a catalogue entry')
        c.count?.('pinned')
      } catch (err) {
        pinned.delete(infoHash)
        await save()
        log.warn({ hub, infoHash, code: (err as { code?: string }).code, err: (err as Error).message }, 'auto-pin failed')
        c.count?.('failed')
      }
    }

    const pollHub = async (hub: string): Promise<void> => {
      let entries: Entry[]
      try {
        const res = await fetch(`${hub}/api/v1/catalogue?limit=${PAGE}`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })
        if (!res.ok) throw new Error(`HTTP ${res.status}`)
        const body = (await res.json()) as { entries?: unknown }
        entries = Array.isArray(body.entries) ? (body.entries.slice(0, PAGE) as Entry[]) : []
      } catch (err) {
        log.warn({ hub, err: (err as Error).message }, 'cannot read the hub catalogue')
        return
      }
      const held = new Set(c.node.status().torrents.map((t) => t.infoHash))
      for (const e of entries) {
        if (stopped) return
        if (e === null || typeof e !== 'object') continue
        await consider(hub, e, held)
      }
    }

    const pinner: CataloguePinner = {
      async start() {
        if (init.hubs.length === 0 || init.quotaBytes <= 0) return
        if (trusted.size === 0) {
          log.warn({ hubs: init.hubs }, 'auto-pin is off: auto_pin.publishers names no publisher to trust')
          return
        }
        try {
          const saved = JSON.parse(await readFile(init.stateFile, 'utf8')) as Record<string, unknown>
          for (const [h, b] of Object.entries(saved)) if (/^[0-9a-f]{40}$/.test(h) && typeof b === 'number' && b >= 0) pinned.set(h, b)
        } catch {
          // no state yet (or a torn write, which save's rename prevents): start empty
        }
        const loop = () => {
          if (stopped) return
          running = pinner.poll().finally(() => {
            running = undefined
            if (!stopped) timer = setTimeout(loop, init.intervalMs)
          })
        }
        log.info({ hubs: init.hubs, publishers: [...trusted], quotaBytes: init.quotaBytes }, 'auto-pin following hub catalogues')
        loop()
      },
      stop() {
        stopped = true
        if (timer) clearTimeout(timer)
      },
      async poll() {
        if (running !== undefined) return running
        for (const hub of init.hubs) await pollHub(hub.replace(/\/$/, ''))
      },
    }
    return pinner
  }
}
