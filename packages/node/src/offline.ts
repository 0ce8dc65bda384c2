/**
 * What the CLI does on the state files when the node is not running: list and edit the content
 * index (the node seeds the changes at its next start) and read earnings from the payee ledger.
 * The node's lock says whether it is running; these refuse to edit under a live node.
 */
import { access } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { getAddress, type Address } from 'viem'
import { createPayeeLedger, openCreditStore, type Deployment } from '@bitcdn/pay'
import { nodeError } from './errors.js'
import type { NodeConfig } from './config/schema.js'
import type { NodePaths } from './paths.js'
import { openContentDb } from './state/content-db.js'
import { contentView, type ContentView } from './content-view.js'
import { resolvePinSource, type PinSource } from './pin-source.js'
import { earningsFromLedger, type Earnings } from './earnings.js'

/**
 * The content index, without live stats.
 * @example const rows = offlineContent(paths)
 */
export function offlineContent(paths: NodePaths): ContentView[] {
  const db = openContentDb(paths.db)
  try {
    return db.all().map((r) => contentView(r))
  } finally {
    db.close()
  }
}

/**
 * Adds a pin to the index for the next start (the quota is checked then).
 * @example await offlinePin(paths, config, { source: { magnet } })
 */
export async function offlinePin(paths: NodePaths, config: NodeConfig, req: { source: PinSource; dir?: string; free?: boolean; cache?: boolean }): Promise<ContentView> {
  const t = await resolvePinSource(req.source)
  const infoHash = t.infoHash.toLowerCase()
  const meta = 'pieceHashes' in t ? t : undefined
  const db = openContentDb(paths.db)
  try {
    const old = db.get(infoHash)
    if (old) {
      db.put({ ...old, pinned: old.pinned || !req.cache, free: old.free || req.free === true })
    } else {
      const dir = req.dir !== undefined ? resolve(req.dir) : join(config.dataDir, infoHash)
      if (req.dir !== undefined && meta) {
        await access(join(dir, meta.name)).catch((err: unknown) => {
          throw nodeError('pinSource', `no data for ${meta.name} in ${dir}`, { dir }, err)
        })
      }
      db.put({
        infoHash,
        name: meta?.name ?? t.name ?? infoHash,
        ...(meta ? { torrent: meta.torrentFile } : { magnet: 'source' in req && 'magnet' in req.source ? req.source.magnet : `magnet:?xt=urn:btih:${infoHash}` }),
        dir,
        inPlace: req.dir !== undefined,
        pinned: !req.cache,
        free: req.free === true,
        bytes: meta?.length ?? 0,
        addedAtMs: Date.now(),
      })
    }
    return contentView(db.get(infoHash)!)
  } finally {
    db.close()
  }
}

/**
 * Unpins (or forgets, with `delete`; the data folder is removed at the next start's eviction or
 * by hand) in the index.
 * @throws BitcdnError BITCDN_ERR_PIN_UNKNOWN
 */
export function offlineUnpin(paths: NodePaths, infoHashIn: string, opts: { delete?: boolean } = {}): void {
  const infoHash = infoHashIn.toLowerCase()
  const db = openContentDb(paths.db)
  try {
    if (!db.get(infoHash)) throw nodeError('pinUnknown', `this node holds no content ${infoHash}`, { infoHash })
    if (opts.delete) db.remove(infoHash)
    else db.setPinned(infoHash, false)
  } finally {
    db.close()
  }
}

/**
 * Earnings straight from the payee ledger file (safe beside a running node: SQLite WAL readers).
 * @throws BitcdnError BITCDN_ERR_NODE_NO_CHAIN when the node never had a ledger
 */
export async function offlineEarnings(paths: NodePaths, deployment: Deployment, payee: Address): Promise<Earnings> {
  try {
    await access(paths.ledger)
  } catch {
    return { payee: getAddress(payee), totals: [], payers: [], claims: [] }
  }
  const ledger = createPayeeLedger({ dbPath: paths.ledger, payee, domain: { chainId: deployment.chainId, verifyingContract: deployment.escrow } })
  const credit = openCreditStore(paths.ledger)
  try {
    return earningsFromLedger(ledger, credit.list())
  } finally {
    credit.close()
    ledger.close()
  }
}
