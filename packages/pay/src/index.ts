/**
 * @bitcdn/pay — settlement: the escrow contract (ABIs, bytecode), the chain (anvil, deploy,
 * presets, deployment file), and the off-chain payment library (cheques, wallet, ledger, credit,
 * cash-out, keystore). Each line exports one module.
 */
export * from './contracts/index.js'
export * from './chain/index.js'
export * from './cheques/index.js'
export * from './wallet/index.js'
export * from './ledger/index.js'
export * from './credit/index.js'
export * from './cashout/index.js'
export * from './seller/index.js'
export * from './keystore/index.js'
export * from './signed-messages/index.js'
