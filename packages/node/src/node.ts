/**
 * The node daemon as a service: seeds every torrent in its content index, announces it, serves
 * peers by its free policy (and paying peers through the paid-serving plugin), keeps cached
 * content within the storage quota, and runs the seller's settlement (ledger, escrow watcher,
 * cash-out on policy). Everything a restart needs is on disk before it matters: the index
 * (SQLite) before a torrent is added, each cheque in the payee ledger before it is acknowledged,
 * the pieces in resume journals.
 */
import { mkdir, rm, stat } from 'node:fs/promises'
import { join, relative, resolve, isAbsolute } from 'node:path'
import type { Address, LocalAccount } from 'viem'
import { silentLogger, tokenUnits, type BitcdnError, type Logger } from '@bitcdn/core'
import type { Metainfo, TorrentRef } from '@bitcdn/content'
import { createSellerSettlement, type CashoutTick, type ReceiveResult, type SellerSettlement, type SignedCheque } from '@bitcdn/pay'
import { createSwarmClient, type SwarmClient, type Torrent } from '@bitcdn/swarm'
import { sellerCreditInit } from '@bitcdn/market'
import type { NodeConfig } from './config/schema.js'
import type { NodePaths } from './paths.js'
import type { NodeChain } from './chain.js'
import { nodeError } from './errors.js'
import { createNodeMetrics, type NodeMetrics } from './metrics.js'
import { openContentDb, type ContentDb, type ContentRow } from './state/content-db.js'
import { planEviction, storedBytes } from './cache/eviction.js'
import { resolvePinSource, type PinSource } from './pin-source.js'
import { freeChokePolicy, freePolicy } from './free-policy.js'
import { contentView, type ContentView } from './content-view.js'
import { earningsFromLedger, type Earnings } from './earnings.js'
import { acquireNodeLock } from './node-lock.js'
import type { PaidServing, PaidServingFactory, SellerTerms } from './paid-serving.js'
import { createCataloguePinner, type CataloguePinner } from './auto-pin/catalogue-pinner.js'

const GIB = 1024n ** 3n
const TICK_MS = 1000

export interface NodeInit {
  config: NodeConfig
  paths: NodePaths
}

export interface NodeComponents {
  logger?: Logger
  metrics?: NodeMetrics
  /** The chain and the node's key; without it the node is free-only. */
  chain?: NodeChain
  /** Paid delivery (packages/market); without it only the free policy serves. */
  paidServing?: PaidServingFactory
}

/** A pin request. */
export interface PinRequest {
  source: PinSource
  /** Seed data already in this folder, in place (never counted against the quota, never deleted). */
  dir?: string
  /** Serve free to every peer (a publisher sponsors it). @default false */
  free?: boolean
  /** Cache instead of pin: kept while the quota allows. @default false */
  cache?: boolean
}

export interface NodeStatus {
  peerId: string
  listen: { host: string; port: number }
  payee?: Address
  chain?: { chainId: number; escrow: Address; token: Address; rpcUrl: string }
  pricePerGiBUnits: bigint
  priceToken: 'USDC' | 'USDT'
  free: { enabled: boolean; infoHashes: string[] }
  storage: { quotaBytes: number; usedBytes: number; dataDir: string }
  peers: number
  bytesServed: { paid: number; free: number }
  torrents: ContentView[]
}

export interface BitcdnNode {
  start(): Promise<void>
  stop(): Promise<void>
  readonly metrics: NodeMetrics
  status(): NodeStatus
  /**
   * Pins (or caches) content and starts seeding it; returns at once, before the data is there.
   * @throws BitcdnError BITCDN_ERR_PIN_SOURCE, BITCDN_ERR_NODE_QUOTA, content's torrent/magnet errors
   */
  pin(req: PinRequest): Promise<ContentView>
  /** Unpins (the content becomes cached, evictable), or removes it with `delete`. @throws BitcdnError BITCDN_ERR_PIN_UNKNOWN */
  unpin(infoHash: string, opts?: { delete?: boolean }): Promise<void>
  /** @throws BitcdnError BITCDN_ERR_NODE_NO_CHAIN */
  earnings(): Earnings
  /** Claims every unclaimed cheque now (gas cap still applies). @throws BitcdnError BITCDN_ERR_NODE_NO_CHAIN */
  cashout(): Promise<CashoutTick>
  /** Records cheques delivered out of band (e.g. relayed by the operator). @throws BitcdnError BITCDN_ERR_NODE_NO_CHAIN */
  receiveCheques(cheques: readonly SignedCheque[]): Promise<ReceiveResult>
}

/**
 * @example
 * const node = createNode({ config, paths })({ logger, chain })
 * await node.start()
 * await node.pin({ source: { magnet } })
 */
export function createNode(init: NodeInit): (components?: NodeComponents) => BitcdnNode {
  return (components = {}) => {
    const { config, paths } = init
    const log = (components.logger ?? silentLogger).child({ component: 'node' })
    const metrics = components.metrics ?? createNodeMetrics()
    const chain = components.chain
    let db: ContentDb | undefined
    let swarm: SwarmClient | undefined
    let settlement: SellerSettlement | undefined
    let paid: PaidServing | undefined
    let release: (() => Promise<void>) | undefined
    let timer: NodeJS.Timeout | undefined
    let autoPin: CataloguePinner | undefined
    const lastUploaded = new Map<string, number>()
    const paidSinceTick = new Map<string, number>()
    /**
     * Paid bytes sent per torrent since this process started, and the earnings already written:
     * one write per torrent per tick, valued on the running total (a value per 16 KiB block,
     * rounded down each time, lost about 2% at 1 USDC/GiB), and no bigint per block.
     */
    const earnedBytes = new Map<string, { bytes: number; written: bigint }>()
    const flushEarned = (): void => {
      for (const [infoHash, e] of earnedBytes) {
        const units = (BigInt(e.bytes) * config.price.perGiBUnits) / GIB - e.written
        if (units <= 0n) continue
        e.written += units
        db?.addEarned(infoHash, units)
      }
    }
    const totals = { paid: 0, free: 0 }
    const isFree = freePolicy(config, (h) => db?.get(h)?.free === true)

    const need = <T>(v: T | undefined): T => {
      if (v === undefined) throw nodeError('notRunning', 'the node is not started')
      return v
    }
    const needChain = (): SellerSettlement => {
      if (!settlement) throw nodeError('noChain', 'this node has no chain (no deployment file): no cheques, nothing to cash out')
      return settlement
    }
    const countWarning = (err: BitcdnError) => metrics.errors.inc({ kind: err.code ?? 'unknown' })

    const insideDataDir = (dir: string): boolean => {
      const r = relative(resolve(config.dataDir), resolve(dir))
      return r !== '' && !r.startsWith('..') && !isAbsolute(r)
    }

    const watch = (t: Torrent): void => {
      t.on('warning', (err) => {
        countWarning(err)
        log.debug({ infoHash: t.infoHash, code: err.code, err: err.message }, 'torrent warning')
      })
      t.on('error', (err) => {
        countWarning(err)
        log.error({ infoHash: t.infoHash, code: err.code, err: err.message }, 'torrent failed')
      })
      t.on('metadata', (m) => {
        db?.setMetadata(t.infoHash, m.name, m.torrentFile, m.length)
        log.info({ infoHash: t.infoHash, name: m.name, bytes: m.length }, 'metadata received')
        enforceQuota(t.infoHash).catch((err: unknown) => log.warn({ err }, 'eviction failed'))
      })
      t.on('done', () => log.info({ infoHash: t.infoHash }, 'content complete; seeding'))
    }

    const addToSwarm = async (row: ContentRow): Promise<Torrent> => {
      const s = need(swarm)
      const input: Metainfo | TorrentRef | string | Buffer = row.torrent ?? row.magnet ?? row.infoHash
      if (!row.inPlace) await mkdir(row.dir, { recursive: true })
      // in-place data may be edited between runs: recheck it rather than trust a journal
      const t = await s.add(input, { dir: row.dir, announce: config.trackers, resume: !row.inPlace })
      watch(t)
      lastUploaded.set(t.infoHash, 0)
      return t
    }

    const evict = async (infoHash: string, why: string): Promise<void> => {
      const row = db?.get(infoHash)
      if (!row) return
      if (swarm?.get(infoHash)) await swarm.remove(infoHash)
      lastUploaded.delete(infoHash)
      if (!row.inPlace && insideDataDir(row.dir)) await rm(row.dir, { recursive: true, force: true })
      db?.remove(infoHash)
      log.info({ infoHash, name: row.name, bytes: row.bytes, why }, 'content removed')
    }

    /** Evicts cached content until everything fits; `incoming` (already indexed) is evicted itself if it is cached and cannot fit. */
    const enforceQuota = async (incoming?: string): Promise<void> => {
      const rows = need(db).all()
      const plan = planEviction(rows, config.storageQuotaBytes)
      if (plan === undefined) {
        const row = incoming ? rows.find((r) => r.infoHash === incoming) : undefined
        if (row && !row.pinned) await evict(row.infoHash, 'does not fit the storage quota')
        else log.warn({ quotaBytes: config.storageQuotaBytes }, 'pinned content exceeds the storage quota')
        return
      }
      for (const h of plan) await evict(h, 'storage quota')
    }

    const tick = (): void => {
      if (!swarm || !db) return
      flushEarned()
      let peers = 0
      let verified = 0
      let missing = 0
      const now = Date.now()
      for (const t of swarm.torrents) {
        const s = t.stats()
        peers += s.peers
        verified += s.verifiedPieces
        missing += s.pieceCount - s.verifiedPieces
        const delta = s.uploaded - (lastUploaded.get(t.infoHash) ?? 0)
        lastUploaded.set(t.infoHash, s.uploaded)
        // paid bytes are counted when granted, uploads when sent: a block granted before this
        // tick and sent after it is paid in the next one (dropping it here miscounted it as free)
        const granted = paidSinceTick.get(t.infoHash) ?? 0
        const paidBytes = Math.min(granted, Math.max(delta, 0))
        if (granted > paidBytes) paidSinceTick.set(t.infoHash, granted - paidBytes)
        else paidSinceTick.delete(t.infoHash)
        if (delta > 0) {
          db.addServed(t.infoHash, delta, now)
          metrics.bytesServed.inc({ kind: 'paid' }, paidBytes)
          metrics.bytesServed.inc({ kind: 'free' }, delta - paidBytes)
          totals.paid += paidBytes
          totals.free += delta - paidBytes
        }
      }
      metrics.peers.set(peers)
      metrics.pieces.set({ state: 'verified' }, verified)
      metrics.pieces.set({ state: 'missing' }, missing)
      const rows = db.all()
      metrics.torrents.set({ kind: 'pinned' }, rows.filter((r) => r.pinned).length)
      metrics.torrents.set({ kind: 'cached' }, rows.filter((r) => !r.pinned).length)
      if (settlement) {
        for (const t of settlement.ledger.tokens()) {
          const e = settlement.ledger.entries(t)
          metrics.earningsAccrued.set({ token: t }, Number(e.reduce((s, x) => s + x.best.cheque.cumulativeAmount, 0n)))
          metrics.earningsClaimed.set({ token: t }, Number(e.reduce((s, x) => s + x.settled, 0n)))
        }
      }
    }

    const receive = async (cheques: readonly SignedCheque[]): Promise<ReceiveResult> => {
      const r = await needChain().receive(cheques)
      metrics.chequesAccepted.inc(r.accepted.length)
      for (const x of r.rejected) metrics.chequesRefused.inc({ reason: (x.error as { code?: string })?.code ?? 'unknown' })
      if (r.accepted.length > 0) log.info({ accepted: r.accepted.map((a) => ({ payer: a.payer, cumulative: a.cumulative })) }, 'cheques accepted')
      return r
    }

    const node: BitcdnNode = {
      metrics,
      async start() {
        await mkdir(paths.dir, { recursive: true, mode: 0o700 })
        await mkdir(config.dataDir, { recursive: true })
        release = await acquireNodeLock(paths.lock)
        try {
          db = openContentDb(paths.db)
          if (chain) {
            const payee = chain.walletClient.account!.address
            const domain = { chainId: chain.deployment.chainId, verifyingContract: chain.deployment.escrow }
            settlement = createSellerSettlement(
              {
                ledgerPath: paths.ledger,
                payee,
                domain,
                tokens: [chain.token],
                // credit a new buyer gets against its free escrow balance (the terms announce it)
                softAllowance: config.price.softAllowanceUnits,
                // an idle buyer's unpaid debt is written off after this (0: never); counted in the metrics
                forgiveUnpaidAfterMs: config.price.forgiveUnpaidAfterMs,
                onWriteOff: (w) => {
                  metrics.creditWriteOffs.inc({ token: w.token })
                  metrics.creditWrittenOff.inc({ token: w.token }, Number(w.amount))
                },
                cashout: {
                  thresholdUnits: config.cashout.thresholdUnits,
                  maxAgeMs: config.cashout.maxAgeMs,
                  gasPriceCapWei: config.cashout.gasPriceCapWei,
                  confirmations: config.cashout.confirmations,
                  withdrawTo: config.cashout.withdrawTo,
                },
              },
              // a buyer's unpaid debt stays within a window of the largest piece served (≥ 1 MiB),
              // doubling as it pays: a smaller one could never sell a whole piece
              sellerCreditInit(tokenUnits(config.price.perGiBUnits), () => {
                let largest = 0
                for (const t of swarm?.torrents ?? []) largest = Math.max(largest, t.metainfo?.pieceLength ?? 0)
                return largest
              }),
            )({ publicClient: chain.publicClient, walletClient: chain.walletClient, logger: components.logger })
            await settlement.start()
            const terms: SellerTerms = {
              payee,
              chainId: domain.chainId,
              escrow: domain.verifyingContract,
              token: chain.token,
              pricePerGiBUnits: config.price.perGiBUnits,
              softAllowanceUnits: config.price.softAllowanceUnits,
            }
            paid = components.paidServing?.({
              terms,
              // the node's key is the payee's (chain.ts: a local account from the keystore)
              payeeKey: chain.walletClient.account as LocalAccount,
              settlement,
              receive,
              isFree,
              servedPaid(infoHash, bytes) {
                paidSinceTick.set(infoHash, (paidSinceTick.get(infoHash) ?? 0) + bytes)
                const e = earnedBytes.get(infoHash)
                if (e === undefined) earnedBytes.set(infoHash, { bytes, written: 0n })
                else e.bytes += bytes
              },
              metrics,
              logger: components.logger,
            })
            log.info({ payee, chainId: domain.chainId, escrow: domain.verifyingContract, paid: paid !== undefined }, 'settlement started')
          } else {
            log.warn({ code: 'BITCDN_ERR_NODE_NO_CHAIN' }, 'no deployment file: serving by the free policy only, no cash-out')
          }
          swarm = createSwarmClient(
            { host: config.listen.host, port: config.listen.port, stateDir: paths.stateDir },
            {
              logger: components.logger,
              extendWire: paid?.extendWire,
              // without paid serving, only what the free policy allows: choked, and requests refused
              chokePolicy: paid?.chokePolicy ?? freeChokePolicy(isFree),
              uploadGate: paid?.uploadGate ?? ((_conn, _ref, infoHash) => isFree(infoHash)),
              uploadSettled: paid?.uploadSettled,
            },
          )
          paid?.attach?.(swarm)
          await swarm.start()
          for (const row of db.all()) {
            try {
              await addToSwarm(row)
            } catch (err) {
              countWarning(err as BitcdnError)
              log.error({ infoHash: row.infoHash, code: (err as BitcdnError).code, err: (err as Error).message }, 'cannot resume seeding')
            }
          }
          timer = setInterval(tick, TICK_MS)
          timer.unref()
          autoPin = createCataloguePinner({ ...config.autoPin, stateFile: join(paths.dir, 'auto-pin.json') })({ node, logger: components.logger, count: (outcome) => metrics.autoPins.inc({ outcome }) })
          await autoPin.start()
          log.info({ host: config.listen.host, port: swarm.port, torrents: swarm.torrents.length }, 'node started')
        } catch (err) {
          await node.stop().catch(() => {})
          throw err
        }
      },
      async stop() {
        autoPin?.stop()
        autoPin = undefined
        if (timer) clearInterval(timer)
        timer = undefined
        tick()
        await paid?.stop?.().catch((err: unknown) => log.warn({ err }, 'paid serving stop failed'))
        paid = undefined
        await swarm?.stop()
        swarm = undefined
        await settlement?.stop()
        settlement = undefined
        flushEarned()
        db?.close()
        db = undefined
        await release?.()
        release = undefined
      },
      status() {
        const rows = need(db).all()
        const s = need(swarm)
        const views = rows.map((r) => contentView(r, s.get(r.infoHash)))
        return {
          peerId: s.peerId,
          listen: { host: config.listen.host, port: s.port },
          ...(chain
            ? {
                payee: chain.walletClient.account!.address,
                chain: { chainId: chain.deployment.chainId, escrow: chain.deployment.escrow, token: chain.token, rpcUrl: chain.rpcUrl },
              }
            : {}),
          pricePerGiBUnits: config.price.perGiBUnits,
          priceToken: config.price.token,
          free: config.free,
          storage: { quotaBytes: config.storageQuotaBytes, usedBytes: rows.reduce((n, r) => n + storedBytes(r), 0), dataDir: config.dataDir },
          peers: views.reduce((n, v) => n + (v.peers ?? 0), 0),
          bytesServed: { ...totals },
          torrents: views,
        }
      },
      async pin(req) {
        const d = need(db)
        const resolved = await resolvePinSource(req.source)
        const infoHash = resolved.infoHash.toLowerCase()
        const existing = d.get(infoHash)
        if (existing) {
          d.put({ ...existing, pinned: existing.pinned || !req.cache, free: existing.free || req.free === true })
          if (!swarm!.get(infoHash)) await addToSwarm(d.get(infoHash)!)
          return contentView(d.get(infoHash)!, swarm!.get(infoHash))
        }
        const meta = 'pieceHashes' in resolved ? resolved : undefined
        const inPlace = req.dir !== undefined
        const dir = inPlace ? resolve(req.dir!) : join(config.dataDir, infoHash)
        if (inPlace) {
          try {
            await stat(join(dir, meta?.name ?? ''))
          } catch {
            throw nodeError('pinSource', `no data for ${meta?.name ?? infoHash} in ${dir}`, { dir })
          }
        }
        if (meta && !inPlace) {
          const plan = planEviction(d.all(), config.storageQuotaBytes, meta.length)
          if (plan === undefined) {
            throw nodeError('quota', `${meta.name} (${meta.length} bytes) does not fit the storage quota of ${config.storageQuotaBytes} bytes beside the pinned content`, {
              bytes: meta.length,
              quotaBytes: config.storageQuotaBytes,
            })
          }
          for (const h of plan) await evict(h, 'storage quota')
        }
        const row = {
          infoHash,
          name: meta?.name ?? resolved.name ?? infoHash,
          ...(meta ? { torrent: meta.torrentFile } : { magnet: 'magnetURI' in resolved ? String(resolved.magnetURI) : `magnet:?xt=urn:btih:${infoHash}${(resolved.announce ?? []).map((a) => `&tr=${encodeURIComponent(a)}`).join('')}` }),
          dir,
          inPlace,
          pinned: !req.cache,
          free: req.free === true,
          bytes: meta?.length ?? 0,
          addedAtMs: Date.now(),
        }
        d.put(row)
        try {
          const t = await addToSwarm(d.get(infoHash)!)
          log.info({ infoHash, name: row.name, pinned: row.pinned, inPlace, dir }, row.pinned ? 'pinned' : 'cached')
          return contentView(d.get(infoHash)!, t)
        } catch (err) {
          d.remove(infoHash)
          throw err
        }
      },
      async unpin(infoHashIn, opts = {}) {
        const d = need(db)
        const infoHash = infoHashIn.toLowerCase()
        if (!d.get(infoHash)) throw nodeError('pinUnknown', `this node holds no content ${infoHash}`, { infoHash })
        if (opts.delete) return evict(infoHash, 'unpinned and deleted')
        d.setPinned(infoHash, false)
        log.info({ infoHash }, 'unpinned; kept as cache while the quota allows')
        await enforceQuota()
      },
      earnings() {
        const s = needChain()
        return earningsFromLedger(s.ledger, s.credits())
      },
      async cashout() {
        const s = needChain()
        // claim everyone now; the gas-price cap still holds (the claim then waits)
        for (const e of s.ledger.unsettled()) s.cashout.urgent(e.payer)
        const r = await s.cashout.tick()
        log.info({ sent: r.sent, confirmed: r.confirmed, withdrawn: r.withdrawn, waiting: r.waiting }, 'cash-out')
        return r
      },
      receiveCheques: receive,
    }
    return node
  }
}
