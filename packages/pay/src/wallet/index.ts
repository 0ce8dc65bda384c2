/** The payer side: durable cumulative cheques, and the owner key's escrow calls (allocations, revocation, cap). */
export * from './payer-wallet.js'
export * from './amount.js'
export * from './escrow-account.js'
