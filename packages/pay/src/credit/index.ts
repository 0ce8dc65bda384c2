/** Seller credit: thresholds, windows, collateral, durable credit state, and the escrow watcher that feeds them. */
export * from './amount-range.js'
export * from './credit-rules.js'
export * from './credit-store.js'
export * from './escrow-watcher.js'
export * from './watch-cursor.js'
