/**
 * Where a keystore passphrase comes from: an environment variable (non-interactive use, CI,
 * services) or, on a terminal, a prompt with echo off. Never a command-line argument (it would
 * show in `ps` and shell history).
 */
import { PayError } from '../cheques/errors.js'

export interface PassphraseSource {
  /** Variable to read. @default 'BITCDN_PASSPHRASE' */
  envVar?: string
  env?: NodeJS.ProcessEnv
  /** Ask twice (new keys). @default false */
  confirm?: boolean
  input?: NodeJS.ReadStream
  output?: NodeJS.WriteStream
}

/** A passphrase and, for messages, where it came from (never the passphrase itself). */
export interface ResolvedPassphrase {
  passphrase: string
  /** e.g. "environment variable BITCDN_PASSPHRASE" or "the terminal prompt". */
  from: string
}

/**
 * Gets the passphrase from the env var, else prompts on a TTY.
 * @throws {PayError} BITCDN_ERR_KEYSTORE_PASSPHRASE when neither is available, or confirmation differs
 * @example const pass = await resolvePassphrase({ envVar: 'MY_PASS' })
 */
export async function resolvePassphrase(src: PassphraseSource = {}): Promise<string> {
  return (await resolvePassphraseFrom(src)).passphrase
}

/**
 * `resolvePassphrase`, also saying where the passphrase came from, so that a wrong one can be
 * reported with its source.
 * @throws {PayError} BITCDN_ERR_KEYSTORE_PASSPHRASE when neither is available, or confirmation differs
 * @example const { passphrase, from } = await resolvePassphraseFrom({ envVar: 'MY_PASS' })
 */
export async function resolvePassphraseFrom(src: PassphraseSource = {}): Promise<ResolvedPassphrase> {
  const envVar = src.envVar ?? 'BITCDN_PASSPHRASE'
  const fromEnv = (src.env ?? process.env)[envVar]
  if (fromEnv !== undefined && fromEnv !== '') return { passphrase: fromEnv, from: `environment variable ${envVar}` }
  const input = src.input ?? process.stdin
  const output = src.output ?? process.stderr
  if (!input.isTTY) {
    throw new PayError('BITCDN_ERR_KEYSTORE_PASSPHRASE', `no passphrase: set ${envVar} or run in a terminal to be prompted`)
  }
  const first = await prompt('Passphrase: ', input, output)
  if (src.confirm) {
    const again = await prompt('Repeat passphrase: ', input, output)
    if (again !== first) throw new PayError('BITCDN_ERR_KEYSTORE_PASSPHRASE', 'passphrases do not match')
  }
  return { passphrase: first, from: 'the terminal prompt' }
}

/**
 * Asks `question` on a terminal with echo off and resolves to the line typed (Ctrl-C cancels).
 * @throws {PayError} BITCDN_ERR_KEYSTORE_PASSPHRASE when cancelled
 * @example const key = await promptHidden('Private key: ', process.stdin, process.stderr)
 */
export function promptHidden(question: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  return prompt(question, input, output)
}

function prompt(question: string, input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<string> {
  return new Promise((resolve, reject) => {
    // echo off before the prompt shows, so nothing typed after seeing it is ever echoed
    input.setRawMode?.(true)
    output.write(question)
    input.resume()
    let value = ''
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done()
        if (ch === '\u0003') return done(new PayError('BITCDN_ERR_KEYSTORE_PASSPHRASE', 'cancelled'))
        if (ch === '\u007f') value = value.slice(0, -1)
        else value += ch
      }
    }
    const done = (err?: Error) => {
      input.off('data', onData)
      input.setRawMode?.(false)
      input.pause()
      output.write('\n')
      if (err) reject(err)
      else resolve(value)
    }
    input.on('data', onData)
  })
}
