/**
 * The one seam where paid delivery plugs into the node (the `bitcdn_pay` extension of
 * packages/market): a factory that receives the node's settlement and free policy and returns the
 * swarm client's plugin slots. Without one the node serves only what its free policy allows.
 */
import type { Address, LocalAccount } from 'viem'
import type { ReceiveResult, SellerSettlement, SignedCheque } from '@bitcdn/pay'
import type { Logger } from '@bitcdn/core'
import type { SwarmClient, SwarmClientComponents } from '@bitcdn/swarm'
import type { NodeMetrics } from './metrics.js'

/** The terms the node sells at (from its config and deployment). */
export interface SellerTerms {
  payee: Address
  chainId: number
  escrow: Address
  token: Address
  /** Token base units per GiB (2^30 bytes) of verified data. */
  pricePerGiBUnits: bigint
  /** Served before the first cheque, base units. */
  softAllowanceUnits: bigint
}

/** What the node hands the paid-serving plugin. */
export interface PaidServingContext {
  terms: SellerTerms
  /** The payee's key: signs each connection's payee proof (market's payee binding). */
  payeeKey: Pick<LocalAccount, 'address' | 'signTypedData'>
  settlement: SellerSettlement
  /** Records cheques through the settlement and counts them in the metrics (accepted, refused by reason). */
  receive(cheques: readonly SignedCheque[]): Promise<ReceiveResult>
  /** True when the free policy serves this torrent to peers that do not pay. */
  isFree(infoHash: string): boolean
  /** Report bytes served to a paying peer (the rest of what is uploaded counts as free). */
  servedPaid(infoHash: string, bytes: number): void
  metrics: NodeMetrics
  logger?: Logger
}

/** The swarm slots a paid-serving plugin fills, and its lifetime. */
export interface PaidServing extends Pick<SwarmClientComponents, 'extendWire' | 'uploadGate' | 'uploadSettled' | 'chokePolicy'> {
  /** Called once the swarm client exists (so payments can rechoke its torrents at once). */
  attach?(client: SwarmClient): void
  stop?(): Promise<void>
}

export type PaidServingFactory = (ctx: PaidServingContext) => PaidServing
