/**
 * Registry of subcommands. Each entry adds one command (or command group) to the program.
 * Add a line here when you add a file to commands/.
 */
import type { Command } from 'commander'
import { registerChain } from './chain.js'
import { registerCreate } from './create.js'
import { registerDevnet } from './devnet.js'
import { registerGateway } from './gateway.js'
import { registerGet } from './get.js'
import { registerNode } from './node.js'
import { registerHub } from './hub.js'
import { registerSeed } from './seed.js'
import { registerTracker } from './tracker.js'
import { registerWallet } from './wallet.js'

export type RegisterCommand = (program: Command) => void

export const commands: RegisterCommand[] = [registerCreate, registerSeed, registerGet, registerTracker, registerChain, registerWallet, registerNode, registerGateway, registerHub, registerDevnet]
