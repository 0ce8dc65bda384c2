/**
 * A paid P2P download (Node only): a swarm client carrying the market's buyer (`bitcdn_pay`), a
 * payer wallet that stores each cheque's cumulative on disk before it signs it, and the buyer's
 * limits — a maximum price per GiB and a total budget. Each seller is paid for exactly the bytes it
 * delivered into pieces that verified. The payer must hold a deposit in the escrow
 * (`depositToEscrow`).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getAddress, type Address, type Hex } from 'viem'
import { privateKeyToAccount, privateKeyToAddress } from 'viem/accounts'
import { tokenUnits } from '@bitcdn/core'
import { parseTorrentFile, type Metainfo } from '@bitcdn/content'
import { bytesValue, createPaidBuyer, type PaidBuyer } from '@bitcdn/market'
import { createPayerWallet, createPrivateKeyChequeSigner, type PayerWallet } from '@bitcdn/pay'
import { createSwarmClient, type SwarmClient, type SwarmClientInit, type Torrent } from '@bitcdn/swarm'
import { sdkError } from '../errors.js'

export interface PaidDownloadInit {
  /** A .torrent file's bytes, its parsed metainfo, a magnet link or a 40-hex info-hash. */
  torrent: Uint8Array | Metainfo | string
  /** Folder the content is written to. */
  dir: string
  /** The payer's key (its escrow deposit pays; it signs the cheques). */
  privateKey: Hex
  /** The payer wallet's SQLite file; reuse it across downloads (cumulatives live there). */
  walletPath: string
  /** The escrow and token (a `deployment.json`'s `chainId`, `escrow`, `tokens.USDC`). */
  chain: { chainId: number; escrow: Address; token: Address }
  /** Sellers priced above this are left, token base units per GiB. */
  maxPricePerGiB: bigint
  /** The most this download pays in total, token base units. */
  budget: bigint
  /** Peers to dial, `host:port` (nodes' endpoints from the hub's registry). */
  peers?: string[]
  /** Trackers (the hub's) besides the torrent's. */
  trackers?: string[]
  /**
   * Also fetch from the torrent's web seeds (BEP 19: the publisher's origin, unpaid). Off, the
   * content comes only from peers — paid nodes, and free peers if `allowFree`. @default true
   */
  webSeeds?: boolean
  /** Also take pieces from peers that ask no payment. @default false */
  allowFree?: boolean
  /** Fail when no byte arrives for this long, ms. @default 60000 */
  stallTimeoutMs?: number
  /** How long to wait, once done, for the sellers to acknowledge the last cheques, ms. @default 10000 */
  settleTimeoutMs?: number
  /** The swarm client's options. @default a client on 127.0.0.1, any port */
  swarm?: SwarmClientInit
  signal?: AbortSignal
  onProgress?: (p: { progress: number; downloadedBytes: number; spent: bigint }) => void
}

export interface PaidSellerReport {
  payee: Address
  pricePerGiB: bigint
  /** Bytes it delivered into verified pieces. */
  verifiedBytes: number
  /** Paid by cheques this download signed (the wallet's cumulative may include earlier ones). */
  paid: bigint
  /** The seller's last acknowledged cumulative. */
  acked: bigint
}

export interface PaidDownloadResult {
  infoHash: string
  name: string
  length: number
  dir: string
  /** Everything this download paid, token base units. */
  spent: bigint
  sellers: PaidSellerReport[]
}

/**
 * @throws BitcdnError BITCDN_ERR_SDK_DOWNLOAD_STALLED, the swarm's and the wallet's errors; the signal's reason
 * @example
 * const r = await paidDownload({ torrent, dir: './dl', privateKey, walletPath: './wallet.db',
 *   chain: { chainId, escrow, token }, maxPricePerGiB: 2_000_000n, budget: 1_000_000n, peers: ['127.0.0.1:6881'] })
 */
export async function paidDownload(init: PaidDownloadInit): Promise<PaidDownloadResult> {
  const payer = privateKeyToAddress(init.privateKey)
  const domain = { chainId: init.chain.chainId, verifyingContract: getAddress(init.chain.escrow) }
  const token = getAddress(init.chain.token)
  const wallet: PayerWallet = createPayerWallet({ dbPath: init.walletPath, signer: createPrivateKeyChequeSigner(init.privateKey, domain), payer, domain })
  const buyer: PaidBuyer = createPaidBuyer({
    payer,
    signer: payer,
    domain,
    token,
    maxPricePerGiB: tokenUnits(init.maxPricePerGiB),
    budget: tokenUnits(init.budget),
    allowFree: init.allowFree ?? false,
  })({ wallet, signerKey: privateKeyToAccount(init.privateKey) })
  // resume journals of this download stay out of the user's $BITCDN_HOME
  const stateDir = init.swarm?.stateDir ?? (await mkdtemp(join(tmpdir(), 'bitcdn-sdk-dl-')))
  const client: SwarmClient = createSwarmClient({ host: '127.0.0.1', port: 0, ...init.swarm, stateDir }, buyer.swarm)
  try {
    await client.start()
    let source: Buffer | Metainfo | string = init.torrent instanceof Uint8Array ? Buffer.from(init.torrent) : init.torrent
    if (init.webSeeds === false && typeof source !== 'string') {
      const m = Buffer.isBuffer(source) ? parseTorrentFile(source) : source
      source = { ...m, urlList: [] }
    }
    const t = await client.add(source, { dir: init.dir, ...(init.peers ? { peers: init.peers } : {}), ...(init.trackers ? { announce: init.trackers } : {}) })
    t.on('warning', () => {})
    buyer.track(t)
    await untilDone(t, buyer, init)
    await settled(buyer, init.settleTimeoutMs ?? 10_000)
    const m = t.metainfo!
    return {
      infoHash: t.infoHash,
      name: m.name,
      length: m.length,
      dir: init.dir,
      spent: buyer.spent(),
      sellers: buyer.sellers().map((s) => ({ payee: s.payee, pricePerGiB: s.pricePerGiB, verifiedBytes: s.verifiedBytes, paid: s.paid, acked: s.acked })),
    }
  } finally {
    await client.stop()
    buyer.close()
    wallet.close()
    if (init.swarm?.stateDir === undefined) await rm(stateDir, { recursive: true, force: true })
  }
}

/** Done, or stalled (no byte for `stallTimeoutMs`), or aborted. */
function untilDone(t: Torrent, buyer: PaidBuyer, init: PaidDownloadInit): Promise<void> {
  const stallMs = init.stallTimeoutMs ?? 60_000
  return new Promise<void>((resolve, reject) => {
    let last = -1
    let lastAt = Date.now()
    const timer = setInterval(() => {
      const s = t.stats()
      init.onProgress?.({ progress: s.progress, downloadedBytes: s.downloaded, spent: buyer.spent() })
      if (s.downloaded !== last) {
        last = s.downloaded
        lastAt = Date.now()
      } else if (Date.now() - lastAt > stallMs) {
        finish(sdkError('downloadStalled', `no data for ${Math.round(stallMs / 1000)} s at ${(s.progress * 100).toFixed(1)}% (peers ${s.peers}); check the peers, the price limit and the budget`, { infoHash: t.infoHash, progress: s.progress, spent: buyer.spent().toString() }))
      }
    }, 250)
    const onAbort = () => finish(init.signal!.reason as Error)
    const onError = (err: Error) => finish(err)
    function finish(err?: Error) {
      clearInterval(timer)
      init.signal?.removeEventListener('abort', onAbort)
      t.off('error', onError)
      if (err) reject(err)
      else resolve()
    }
    if (init.signal?.aborted) return finish(init.signal.reason as Error)
    init.signal?.addEventListener('abort', onAbort, { once: true })
    t.once('error', onError)
    t.whenDone().then(() => finish(), (err: Error) => finish(err))
  })
}

/** Waits until every seller is paid what its verified bytes are worth and has acknowledged it. */
async function settled(buyer: PaidBuyer, limitMs: number): Promise<void> {
  const end = Date.now() + limitMs
  const done = () => buyer.sellers().every((s) => s.paid >= bytesValue(s.verifiedBytes, s.pricePerGiB) && s.acked >= s.paid)
  while (!done() && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
}
