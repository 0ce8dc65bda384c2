/** Seller credit: thresholds, windows, collateral, and the escrow watcher that feeds them. */
export * from './credit-rules.js'
export * from './escrow-watcher.js'
