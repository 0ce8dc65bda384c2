/**
 * The chain side of settlement: a local anvil, deploying the escrow (locally or to a preset
 * network), and the deployment file every service reads.
 */
export { startAnvil, anvilAccounts, anvilBinaryPath, ANVIL_MNEMONIC } from './anvil.js'
export type { StartAnvilOptions, AnvilInstance, AnvilAccount } from './anvil.js'
export { deploy, deployLocal, deployTestStablecoin, MAX_WITHDRAW_DELAY_SECONDS } from './deploy.js'
export type { DeployParams, DeployLocalParams } from './deploy.js'
export { deploymentSchema, parseDeployment, writeDeployment, loadDeployment } from './deployment.js'
export type { Deployment } from './deployment.js'
export {
  presets,
  presetNames,
  getPreset,
  presetRpcUrl,
  MIN_PRODUCTION_WITHDRAW_DELAY_SECONDS,
} from './presets.js'
export type { ChainPreset, PresetName } from './presets.js'
export { bitcdnHome, defaultDeploymentPath } from './paths.js'
export { ChainError, type ChainErrorCode } from './errors.js'
export { decodeRevert, revertData, formatNative, rethrowEscrowError, type DecodedRevert, type RevertContext } from './revert.js'
export { chainFailure, rpcUnreachableReason, type ChainFailureContext } from './chain-failure.js'
