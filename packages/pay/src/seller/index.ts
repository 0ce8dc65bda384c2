/** The seller's settlement service: ledger + escrow watcher + cash-out, wired. */
export * from './seller-settlement.js'
export * from './payer-gate.js'
export * from './peer-budget.js'
