/**
 * The `bitcdn` program: one command, many subcommands. Each subcommand lives in its own file under
 * commands/ and is registered in commands/index.ts. Errors print as one line with their stable
 * code — `bitcdn: BITCDN_ERR_…: message` — and exit non-zero (usage errors too, with
 * BITCDN_ERR_USAGE); BITCDN_DEBUG=1 prints the stack and the cause chain too.
 */
import { Command, CommanderError } from 'commander'
import { describeError } from '@bitcdn/core'
import { CliErrorCode } from './errors.js'
import { commandLoaders } from './commands/index.js'

/** Exit code for usage errors (bad flags, bad arguments). */
export const EXIT_USAGE = 2

/**
 * Builds the program. Given the command line, it loads only the subcommand that line names (the
 * first word that is not an option, or the one after `help`); without one, or for a name it does
 * not know, every subcommand (the overview, and commander's "did you mean", need them all).
 * @example await (await buildProgram()).parseAsync(['node', 'bitcdn', '--help'])
 */
export async function buildProgram(argv?: string[]): Promise<Command> {
  const program = new Command('bitcdn')
    .description('BitCDN: content delivery over BitTorrent, paid per verified byte in stablecoin cheques.')
    .version('0.1.0', '-V, --version')
    .addHelpText(
      'after',
      '\nStart here: `bitcdn devnet` (npm start) runs the whole network on this machine; every command has --help.\n' +
        '\nEnvironment:\n' +
        '  BITCDN_HOME        keys, deployment file and node state (default ~/.bitcdn)\n' +
        '  BITCDN_PASSPHRASE  passphrase of your keys (else a prompt; --passphrase-env names another variable)\n' +
        '  BITCDN_DEBUG=1     print stacks and causes with errors\n' +
        '\nErrors print one line, `bitcdn: BITCDN_ERR_…: message`; docs/errors.md explains every code.',
    )
    .exitOverride()
    .configureOutput({
      // commander's own usage errors ("error: unknown option '--x'") get the code like every other,
      // and stay one line: its "(Did you mean …?)" and the pointer to --help join the message
      outputError: (text, write) => write(usageLine(text)),
    })
  const words = argv?.slice(2).filter((a) => !a.startsWith('-')) ?? []
  const name = words[0] === 'help' ? words[1] : words[0]
  const load = name !== undefined && Object.hasOwn(commandLoaders, name) ? commandLoaders[name] : undefined
  for (const loader of load ? [load] : Object.values(commandLoaders)) (await loader())(program)
  return program
}

/** Errors that say an argument is malformed: exit code 2, as commander's usage errors. */
const USAGE_CODES = new Set<string>([CliErrorCode.usage, 'BITCDN_ERR_AMOUNT_INVALID', 'BITCDN_ERR_ADDRESS_INVALID'])

/**
 * Runs the CLI and resolves to the process exit code.
 * @example process.exitCode = await main(process.argv)
 */
export async function main(argv: string[]): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync(argv)
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit through here with code 0; usage errors were already printed
      return err.exitCode === 0 ? 0 : EXIT_USAGE
    }
    process.stderr.write(`${errorLine(err)}\n`)
    if (process.env.BITCDN_DEBUG) process.stderr.write(debugDump(err))
    // a usage error found by a command (flags that need each other, an amount or address that is
    // not one) exits as commander's do
    const code = (err as { code?: unknown } | null)?.code
    return typeof code === 'string' && USAGE_CODES.has(code) ? EXIT_USAGE : 1
  }
}

/**
 * Commander's usage error as the one line every error is.
 * @example usageLine("error: unknown option '--walet'\n(Did you mean --wallet?)\n")
 * // "bitcdn: BITCDN_ERR_USAGE: unknown option '--walet' (did you mean --wallet?); run with --help for usage\n"
 */
export function usageLine(text: string): string {
  const message = text
    .replace(/^error: /, '')
    .trim()
    .replace(/\s*\n\(Did you mean ([^)]*)\)/, ' (did you mean $1)')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\.$/, '')
  return `bitcdn: ${CliErrorCode.usage}: ${message}; run with --help for usage\n`
}

/**
 * The one line an error prints: `bitcdn: CODE: message`. An error without a BitCDN code (a bug,
 * or a library error nobody mapped) shows BITCDN_ERR_UNEXPECTED and only its first line.
 * @example errorLine(noSource(30_000, tried)) // 'bitcdn: BITCDN_ERR_NO_SOURCE: no source delivered …'
 */
export function errorLine(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  const coded = typeof code === 'string' && code.startsWith('BITCDN_ERR_')
  const message = describeError(err).split('\n')[0]
  return `bitcdn: ${coded ? code : CliErrorCode.unexpected}: ${message}`
}

/** The stack of `err` and of each cause (BITCDN_DEBUG=1). */
function debugDump(err: unknown): string {
  let text = ''
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    text += `${depth ? 'caused by: ' : ''}${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`
  }
  return text
}
