/**
 * The node's Prometheus metrics (prom-client), on a registry of its own so two nodes in one
 * process (tests) never share counters. Names follow Prometheus conventions
 * (`bitcdn_bytes_served_total`); money is in token base units.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'

/** Every metric the node exports. */
export interface NodeMetrics {
  registry: Registry
  bytesServed: Counter<'kind'>
  chequesAccepted: Counter
  chequesRefused: Counter<'reason'>
  earningsAccrued: Gauge<'token'>
  earningsClaimed: Gauge<'token'>
  peers: Gauge
  pieces: Gauge<'state'>
  torrents: Gauge<'kind'>
  errors: Counter<'kind'>
  /** Hub catalogue entries auto-pin considered, by outcome (pinned, skipped, failed). */
  autoPins: Counter<'outcome'>
  creditWrittenOff: Counter<'token'>
  creditWriteOffs: Counter<'token'>
}

/**
 * Creates the metrics on a fresh registry.
 * @example
 * const m = createNodeMetrics()
 * m.bytesServed.inc({ kind: 'free' }, 16384)
 * await m.registry.metrics() // Prometheus text
 */
export function createNodeMetrics(opts: { defaults?: boolean } = {}): NodeMetrics {
  const registry = new Registry()
  if (opts.defaults) collectDefaultMetrics({ register: registry, prefix: 'bitcdn_node_' })
  const registers = [registry]
  return {
    registry,
    bytesServed: new Counter({ name: 'bitcdn_bytes_served_total', help: 'Payload bytes served to peers, by kind (paid, free).', labelNames: ['kind'], registers }),
    chequesAccepted: new Counter({ name: 'bitcdn_cheques_accepted_total', help: 'Cheques verified and stored in the ledger.', registers }),
    chequesRefused: new Counter({ name: 'bitcdn_cheques_refused_total', help: 'Cheques refused, by reason (error code).', labelNames: ['reason'], registers }),
    earningsAccrued: new Gauge({ name: 'bitcdn_earnings_accrued_units', help: 'Sum of the best cheque of every payer, token base units.', labelNames: ['token'], registers }),
    earningsClaimed: new Gauge({ name: 'bitcdn_earnings_claimed_units', help: 'Paid out on chain by the escrow, token base units.', labelNames: ['token'], registers }),
    peers: new Gauge({ name: 'bitcdn_peers', help: 'Connected BitTorrent peers, all torrents.', registers }),
    pieces: new Gauge({ name: 'bitcdn_pieces', help: 'Pieces held, by state (verified, missing).', labelNames: ['state'], registers }),
    torrents: new Gauge({ name: 'bitcdn_torrents', help: 'Torrents held, by kind (pinned, cached).', labelNames: ['kind'], registers }),
    errors: new Counter({ name: 'bitcdn_errors_total', help: 'Warnings and errors, by kind (error code).', labelNames: ['kind'], registers }),
    autoPins: new Counter({ name: 'bitcdn_auto_pins_total', help: 'Hub catalogue entries auto-pin considered, by outcome.', labelNames: ['outcome'], registers }),
    creditWrittenOff: new Counter({ name: 'bitcdn_credit_written_off_units_total', help: 'Unpaid debt of idle buyers written off (forgive_unpaid_after_hours), token base units.', labelNames: ['token'], registers }),
    creditWriteOffs: new Counter({ name: 'bitcdn_credit_write_offs_total', help: 'Idle buyers whose unpaid debt was written off.', labelNames: ['token'], registers }),
  }
}
