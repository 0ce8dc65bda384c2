/**
 * @bitcdn/node — the operator's daemon (`bitcdn node`): config, the node service (seeding pinned
 * and cached content, settlement, cash-out), its admin HTTP API and metrics.
 */
export { createNode, type BitcdnNode, type NodeInit, type NodeComponents, type NodeStatus, type PinRequest } from './node.js'
export { nodePaths, NODE_KEY_NAME, type NodePaths } from './paths.js'
export { loadConfig, parseConfig } from './config/load.js'
export { renderConfigTemplate, type ConfigTemplateInit } from './config/template.js'
export type { NodeConfig } from './config/schema.js'
export { readNodeDeployment, connectChain, type NodeChain } from './chain.js'
export { createNodeMetrics, type NodeMetrics } from './metrics.js'
export { earningsFromLedger, type Earnings, type PayerEarnings, type ClaimRecord } from './earnings.js'
export { openContentDb, type ContentDb, type ContentRow } from './state/content-db.js'
export { contentView, type ContentView } from './content-view.js'
export type { PinSource } from './pin-source.js'
export type { PaidServing, PaidServingContext, PaidServingFactory, SellerTerms } from './paid-serving.js'
export { NodeErrorCode, nodeError } from './errors.js'
export { initNode, type InitNodeOptions, type InitNodeResult } from './init.js'
export { createAdminClient, readAdminToken, type AdminClient } from './admin-client.js'
export { offlineContent, offlinePin, offlineUnpin, offlineEarnings } from './offline.js'
export { build as buildAdminApi, type AdminBuildOptions, type NodeAdmin } from './admin/build.js'
export { acquireNodeLock } from './node-lock.js'
export { runNode, type RunNodeOptions, type RunningNode } from './run.js'
export { marketPaidServing } from './market-serving.js'
