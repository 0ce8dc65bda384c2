/**
 * The node's paid serving: packages/market's `bitcdn_pay` seller over the node's settlement,
 * plugged into the `PaidServingFactory` seam. Cheques accepted and refused (by reason) and bytes
 * served to paying buyers feed the node's metrics.
 */
import { createPaidSeller, settlementPayments } from '@bitcdn/market'
import type { SwarmClientComponents } from '@bitcdn/swarm'
import type { PaidServingFactory } from './paid-serving.js'

/**
 * @example createNode({ config, paths })({ chain, paidServing: marketPaidServing })
 */
export const marketPaidServing: PaidServingFactory = (ctx) => {
  const { terms } = ctx
  const seller = createPaidSeller({
    payee: terms.payee,
    domain: { chainId: terms.chainId, verifyingContract: terms.escrow },
    token: terms.token,
    pricePerGiB: terms.pricePerGiBUnits as never,
    softAllowance: terms.softAllowanceUnits as never,
    free: ctx.isFree,
  })({ payments: settlementPayments(ctx.settlement), logger: ctx.logger })
  seller.on('cheque', () => ctx.metrics.chequesAccepted.inc())
  seller.on('refused', (_payer, err) => ctx.metrics.chequesRefused.inc({ reason: err.code }))
  seller.on('banned', () => ctx.metrics.errors.inc({ kind: 'BITCDN_ERR_CREDIT_EXCEEDED' }))
  // bytes granted to paying buyers, per torrent, reported as the seller grants them
  const gate = seller.swarm.uploadGate
  const uploadGate: NonNullable<SwarmClientComponents['uploadGate']> = (conn, ref, infoHash) => {
    const before = seller.stats().paidBytes
    const ok = gate(conn, ref, infoHash)
    const paid = seller.stats().paidBytes - before
    if (paid > 0) ctx.servedPaid(infoHash, paid)
    return ok
  }
  return {
    extendWire: seller.swarm.extendWire as SwarmClientComponents['extendWire'],
    uploadGate,
    // which granted blocks are still on their way: a buyer keeps its slot until they are out
    uploadSettled: seller.swarm.uploadSettled as SwarmClientComponents['uploadSettled'],
    chokePolicy: seller.swarm.chokePolicy,
    attach: (client) => seller.attach(client),
    async stop() {
      seller.close()
    },
  }
}
