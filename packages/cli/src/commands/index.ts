/**
 * Registry of subcommands. Each entry adds one command (or command group) to the program.
 * Add a line here when you add a file to commands/.
 */
import type { Command } from 'commander'

export type RegisterCommand = (program: Command) => void

export const commands: RegisterCommand[] = []
