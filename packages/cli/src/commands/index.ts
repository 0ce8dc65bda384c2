/**
 * Registry of subcommands. Each entry loads one command's module (which adds the command or
 * command group to the program) only when asked: `bitcdn create` never loads viem or SQLite, so
 * the program starts in a fraction of the time. Add a line here when you add a file to commands/.
 */
import type { Command } from 'commander'

export type RegisterCommand = (program: Command) => void

/** Subcommand name → its registration, in the order `bitcdn --help` lists them. */
export const commandLoaders: Record<string, () => Promise<RegisterCommand>> = {
  create: async () => (await import('./create.js')).registerCreate,
  publish: async () => (await import('./publish.js')).registerPublish,
  seed: async () => (await import('./seed.js')).registerSeed,
  get: async () => (await import('./get.js')).registerGet,
  tracker: async () => (await import('./tracker.js')).registerTracker,
  chain: async () => (await import('./chain.js')).registerChain,
  wallet: async () => (await import('./wallet.js')).registerWallet,
  node: async () => (await import('./node.js')).registerNode,
  gateway: async () => (await import('./gateway.js')).registerGateway,
  hub: async () => (await import('./hub.js')).registerHub,
  devnet: async () => (await import('./devnet.js')).registerDevnet,
}
