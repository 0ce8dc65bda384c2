/** The payee side: a durable ledger of accepted cheques and their settlement. */
export * from './payee-ledger.js'
