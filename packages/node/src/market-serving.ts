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
  })({
    payments: settlementPayments(ctx.settlement),
    payeeKey: ctx.payeeKey,
    logger: ctx.logger,
    // bytes sent to paying buyers, per torrent, as they go out (a dropped grant is not counted)
    onServed: (infoHash, bytes, paid) => {
      if (paid) ctx.servedPaid(infoHash, bytes)
    },
  })
  seller.on('cheque', () => ctx.metrics.chequesAccepted.inc())
  seller.on('refused', (_payer, err) => ctx.metrics.chequesRefused.inc({ reason: err.code }))
  seller.on('banned', () => ctx.metrics.errors.inc({ kind: 'BITCDN_ERR_CREDIT_EXCEEDED' }))
  return {
    extendWire: seller.swarm.extendWire as SwarmClientComponents['extendWire'],
    uploadGate: seller.swarm.uploadGate as SwarmClientComponents['uploadGate'],
    // which granted blocks are still on their way: a buyer keeps its slot until they are out
    uploadSettled: seller.swarm.uploadSettled as SwarmClientComponents['uploadSettled'],
    chokePolicy: seller.swarm.chokePolicy,
    attach: (client) => seller.attach(client),
    async stop() {
      seller.close()
    },
  }
}
