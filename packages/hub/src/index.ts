/**
 * @bitcdn/hub — the hub: tracker, signed node registry, content catalogue, network statistics
 * (SQLite or PostgreSQL), and the HTTP API the website and SDK use.
 */
export { createHub, type Hub, type HubInit, type HubComponents } from './hub.js'
export { buildHubApp, type HubAppOptions } from './api/app.js'
export { HubErrorCode } from './errors.js'
export { signRegistration, verifyRegistration, registrationKind, REFRESH_MS, STALE_MS, type RegistrationFields, type RegistrationInput, type SignedRegistration } from './registry/registration.js'
export { signCatalogueEntry, verifyCatalogueEntry, type CatalogueFields, type CatalogueInput } from './registry/catalogue.js'
export { canonicalJson, MAX_CLOCK_SKEW_MS } from './registry/signed-message.js'
export { probeNode, PROBE_THRESHOLDS } from './registry/prober.js'
export type { HubStore, NodeRecord, ProbeRecord, CatalogueRecord, Sample, UpsertResult } from './store/hub-store.js'
export { openSqliteHubStore } from './store/sqlite-store.js'
export { openPgHubStore } from './store/pg-store.js'
export { computeStats, SERIES, type NetworkStats } from './stats/network-stats.js'
export { createChainTotals, type ChainTotals, type ChainTotalsSnapshot } from './stats/chain-totals.js'
