/**
 * The error codes of the node daemon (`bitcdn node`). Each is documented under `## node` in
 * docs/errors.md. Config errors name the field, in one line.
 */
import { errorFactory } from '@bitcdn/core'

/** Stable codes this package throws. */
export const NodeErrorCode = {
  /** The config file is missing: run `bitcdn node init`. */
  configMissing: 'BITCDN_ERR_CONFIG_MISSING',
  /** The config file is not valid TOML. */
  configSyntax: 'BITCDN_ERR_CONFIG_SYNTAX',
  /** A config field has a bad value (the message names the field). */
  configInvalid: 'BITCDN_ERR_CONFIG_INVALID',
  /** `bitcdn node init` found a config already there (it never overwrites). */
  configExists: 'BITCDN_ERR_CONFIG_EXISTS',
  /** The admin API was called without the bearer token, or with a wrong one. */
  adminUnauthorized: 'BITCDN_ERR_ADMIN_UNAUTHORIZED',
  /** The admin API got a request it cannot act on (bad body, unknown content). */
  adminBadRequest: 'BITCDN_ERR_ADMIN_BAD_REQUEST',
  /** A pin names content the node does not have. */
  pinUnknown: 'BITCDN_ERR_PIN_UNKNOWN',
  /** A pin input is not a magnet, a .torrent file, an info-hash or a URL of a .torrent. */
  pinSource: 'BITCDN_ERR_PIN_SOURCE',
  /** Pinned content would not fit the storage quota. */
  quota: 'BITCDN_ERR_NODE_QUOTA',
  /** The node has no chain configured (no deployment file): nothing to cash out. */
  noChain: 'BITCDN_ERR_NODE_NO_CHAIN',
  /** The node's admin API is not answering (the node is not running). */
  notRunning: 'BITCDN_ERR_NODE_NOT_RUNNING',
  /** Another node process holds this node's state (its lock file names the pid). */
  locked: 'BITCDN_ERR_NODE_LOCKED',
  /** A hub refused or could not take the node's registration (the log line says which hub and why). */
  hubRegistration: 'BITCDN_ERR_NODE_HUB_REGISTRATION',
} as const

export type NodeErrorCode = (typeof NodeErrorCode)[keyof typeof NodeErrorCode]

/**
 * Build a node error.
 * @example throw nodeError('configInvalid', 'config price.per_gib: not an amount', { field: 'price.per_gib' })
 */
export const nodeError = errorFactory(NodeErrorCode)
