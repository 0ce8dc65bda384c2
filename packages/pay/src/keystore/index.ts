/** Encrypted key files (Web3 Secret Storage v3) and passphrase input. */
export * from './web3-keystore.js'
export * from './keystore-file.js'
export * from './passphrase.js'
