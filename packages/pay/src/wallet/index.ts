/** The payer side: durable cumulative cheques. */
export * from './payer-wallet.js'
export * from './amount.js'
