/** Seller cash-out: batched, gas-capped, reorg-safe claims and earnings withdrawal. */
export * from './cashout.js'
export * from './compact-rows.js'
export * from './compact-paid.js'
