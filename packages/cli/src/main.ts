/**
 * The `bitcdn` program: one command, many subcommands. Each subcommand lives in its own file under
 * commands/ and is registered in commands/index.ts. Errors print as one line (no stack) and exit
 * non-zero; BITCDN_DEBUG=1 prints the stack too.
 */
import { Command, CommanderError } from 'commander'
import { describeError } from '@bitcdn/core'
import { commands } from './commands/index.js'

/** Exit code for usage errors (bad flags, bad arguments). */
export const EXIT_USAGE = 2

/**
 * Builds the program with every registered subcommand.
 * @example await buildProgram().parseAsync(['node', 'bitcdn', '--help'])
 */
export function buildProgram(): Command {
  const program = new Command('bitcdn')
    .description('BitCDN: content delivery over BitTorrent, paid per verified byte in stablecoin cheques.')
    .version('0.1.0', '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
  for (const register of commands) register(program)
  return program
}

/**
 * Runs the CLI and resolves to the process exit code.
 * @example process.exitCode = await main(process.argv)
 */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv)
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit through here with code 0; usage errors were already printed
      return err.exitCode === 0 ? 0 : EXIT_USAGE
    }
    process.stderr.write(`bitcdn: ${describeError(err)}\n`)
    if (process.env.BITCDN_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`)
    return 1
  }
}
