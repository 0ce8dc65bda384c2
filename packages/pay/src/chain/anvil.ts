/**
 * A local chain for development and tests: spawns the anvil binary shipped by the
 * `@foundry-rs/anvil` npm package (its platform package holds the real binary; we spawn that
 * rather than the Node wrapper, so we signal anvil itself), waits until it listens, and kills it on
 * `stop()` or when this process exits.
 *
 * A process that is SIGKILLed runs no exit handler, so on POSIX anvil is started under a tiny `sh`
 * watchdog that holds the read end of a pipe from us on its stdin: when our end closes — `stop()`,
 * or the kernel closing it because we died however we died — the watchdog reads EOF and TERMs
 * anvil. No polling, no orphaned chains.
 *
 * anvil is started without `--silent` because its "Listening on host:port" line is how we learn
 * the port when asked for port 0 (any free port, no race); the rest of its output is drained.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { mnemonicToAccount } from 'viem/accounts'
import { toHex, type Address, type Hex } from 'viem'
import { ChainError } from './errors.js'

/** anvil's well-known development mnemonic; its accounts are public, never use them for real money. */
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk'

/** Options of {@link startAnvil}. */
export interface StartAnvilOptions {
  /** TCP port on 127.0.0.1. @default 0 (any free port) */
  port?: number
  /** Chain id; pass e.g. 8453 to stand in for a preset chain. @default 31337 */
  chainId?: number
  /** Seconds between blocks; undefined mines one block per transaction. @default undefined */
  blockTime?: number
  /**
   * With `blockTime`: still mine each transaction at once (anvil's mixed mining), so the interval only
   * adds empty blocks — confirmations then advance on an idle chain as they do on a live L2.
   * @default false
   */
  mixedMining?: boolean
  /** How many prefunded dev accounts (from {@link ANVIL_MNEMONIC}). @default 10 */
  accounts?: number
  /** Host to bind. @default '127.0.0.1' */
  host?: string
  /** How long to wait for anvil to listen, in ms. @default 20000 */
  startTimeoutMs?: number
}

/**
 * The watchdog (`sh -c WATCHDOG anvil args…`): runs anvil in the background, reports its pid,
 * and TERMs it when stdin (fd 3, a dup, because background jobs get /dev/null as stdin) reaches
 * EOF; exits with anvil's status once anvil has exited, so an early failure is still seen.
 */
const WATCHDOG = [
  'exec 3<&0',
  '"$0" "$@" </dev/null &',
  'a=$!',
  'echo "bitcdn-anvil-pid $a"',
  '( read _ <&3; kill -TERM "$a" 2>/dev/null ) &',
  'r=$!',
  'exec 3<&-',
  'wait "$a"',
  's=$?',
  'kill "$r" 2>/dev/null',
  'exit "$s"',
].join('\n')

/** A running anvil. */
export interface AnvilInstance {
  rpcUrl: string
  port: number
  chainId: number
  /** anvil's own process id. */
  pid: number
  /** Stops anvil (SIGTERM, then SIGKILL after 3 s); resolves once it has exited. Idempotent. */
  stop(): Promise<void>
}

/** One prefunded anvil dev account. */
export interface AnvilAccount {
  address: Address
  privateKey: Hex
}

/**
 * The first `count` dev accounts anvil prefunds (derived from {@link ANVIL_MNEMONIC}, m/44'/60'/0'/0/i).
 * @example const [deployer, alice] = anvilAccounts(2)
 */
export function anvilAccounts(count = 10): AnvilAccount[] {
  const out: AnvilAccount[] = []
  for (let i = 0; i < count; i++) {
    const account = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: i })
    const key = account.getHdKey().privateKey
    if (!key) throw new ChainError('BITCDN_ERR_ANVIL_START', `cannot derive anvil account ${i}`)
    out.push({ address: account.address, privateKey: toHex(key) })
  }
  return out
}

/**
 * Path of the anvil binary: `$BITCDN_ANVIL_BIN` if set, else the platform package of
 * `@foundry-rs/anvil` (e.g. `@foundry-rs/anvil-linux-amd64/bin/anvil`).
 * @throws {ChainError} BITCDN_ERR_ANVIL_START when no binary is installed for this platform.
 * @example spawn(anvilBinaryPath(), ['--version'])
 */
export function anvilBinaryPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BITCDN_ANVIL_BIN) return env.BITCDN_ANVIL_BIN
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`
  const exe = process.platform === 'win32' ? 'anvil.exe' : 'anvil'
  const require = createRequire(import.meta.url)
  const candidates: string[] = []
  try {
    candidates.push(join(dirname(require.resolve(`${pkg}/package.json`)), 'bin', exe))
  } catch {
    // not resolvable from here; try next to the wrapper package (nested install)
  }
  try {
    const wrapperDir = dirname(require.resolve('@foundry-rs/anvil/package.json'))
    candidates.push(join(wrapperDir, 'node_modules', pkg, 'bin', exe), join(wrapperDir, 'dist', exe))
  } catch {
    // wrapper missing too
  }
  const found = candidates.find((p) => existsSync(p))
  if (!found) {
    throw new ChainError(
      'BITCDN_ERR_ANVIL_START',
      `anvil binary not found for ${process.platform}-${arch}; install @foundry-rs/anvil or set BITCDN_ANVIL_BIN`,
      { details: { tried: candidates } },
    )
  }
  return found
}

/**
 * The environment anvil gets: an allowlist (paths, locale, Rust logging, anvil's and foundry's
 * own variables), so secrets in ours — `BITCDN_PASSPHRASE`, a variable named by
 * `--passphrase-env`, a CI deployer key — never reach another program's `/proc/PID/environ`.
 * @example spawn(anvilBinaryPath(), args, { env: anvilEnv(process.env) })
 */
export function anvilEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const keep = new Set(['PATH', 'HOME', 'TMPDIR', 'TMP', 'TEMP', 'TZ', 'LANG', 'LC_ALL', 'SYSTEMROOT', 'RUST_LOG', 'RUST_BACKTRACE', 'NO_COLOR'])
  const out: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && (keep.has(k) || /^(ANVIL|FOUNDRY)_/.test(k) || k.startsWith('LC_'))) out[k] = v
  }
  return out
}

/**
 * Starts anvil and resolves once it accepts RPC.
 * @throws {ChainError} BITCDN_ERR_ANVIL_START if the binary is missing, exits early, or does not listen in time.
 * @example
 * const anvil = await startAnvil({ chainId: 8453 })
 * try { ... anvil.rpcUrl ... } finally { await anvil.stop() }
 */
export async function startAnvil(opts: StartAnvilOptions = {}): Promise<AnvilInstance> {
  const host = opts.host ?? '127.0.0.1'
  const chainId = opts.chainId ?? 31337
  const args = ['--host', host, '--port', String(opts.port ?? 0), '--chain-id', String(chainId)]
  args.push('--accounts', String(opts.accounts ?? 10), '--mnemonic', ANVIL_MNEMONIC)
  if (opts.blockTime !== undefined) args.push('--block-time', String(opts.blockTime))
  if (opts.blockTime !== undefined && opts.mixedMining === true) args.push('--mixed-mining')
  const bin = anvilBinaryPath()
  const watchdog = process.platform !== 'win32'
  const env = anvilEnv(process.env)
  const child = watchdog
    ? spawn('sh', ['-c', WATCHDOG, bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env })
    : spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
  // the watchdog's stdin is the lifeline; an EPIPE on it only means the watchdog is gone
  child.stdin?.on('error', () => {})
  let anvilPid = watchdog ? -1 : (child.pid ?? -1)

  const killAnvil = (): void => {
    if (anvilPid > 0) {
      try {
        process.kill(anvilPid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    child.kill('SIGKILL')
  }
  process.once('exit', killAnvil)

  let exited = child.exitCode !== null
  const exitPromise = new Promise<void>((resolve) => {
    const done = (): void => {
      exited = true
      process.removeListener('exit', killAnvil)
      resolve()
    }
    child.once('exit', done)
    // a binary that cannot be spawned (ENOENT, EACCES) emits 'error' and never 'exit'
    child.once('error', done)
  })

  let port: number
  try {
    const listening = await waitForListening(child, opts.startTimeoutMs ?? 20_000, watchdog)
    port = listening.port
    if (listening.pid !== undefined) anvilPid = listening.pid
  } catch (err) {
    killAnvil()
    await exitPromise
    throw err
  }

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exited) return
      // closing the lifeline makes the watchdog TERM anvil and exit once anvil has
      if (watchdog) child.stdin?.end()
      else child.kill('SIGTERM')
      const timer = setTimeout(killAnvil, 3_000)
      await exitPromise
      clearTimeout(timer)
    })()
    return stopping
  }

  return { rpcUrl: `http://${host}:${port}`, port, chainId, pid: anvilPid, stop }
}

function waitForListening(child: ChildProcess, timeoutMs: number, watchdog: boolean): Promise<{ port: number; pid?: number }> {
  return new Promise((resolve, reject) => {
    let buffered = ''
    let stderr = ''
    const fail = (message: string, cause?: unknown): void => {
      cleanup()
      reject(new ChainError('BITCDN_ERR_ANVIL_START', message, { cause, details: { stderr: stderr.slice(-2000) } }))
    }
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8')
      const m = /Listening on [^\s:]+:(\d+)/.exec(buffered)
      const pid = /bitcdn-anvil-pid (\d+)/.exec(buffered)
      if (m && (pid || !watchdog)) {
        cleanup()
        // keep draining so anvil never blocks on a full pipe
        child.stdout?.resume()
        resolve({ port: Number(m[1]), pid: pid ? Number(pid[1]) : undefined })
      } else if (buffered.length > 1_000_000) {
        buffered = buffered.slice(-10_000)
      }
    }
    const onErr = (chunk: Buffer): void => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4000)
    }
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(`anvil exited before listening (code ${code}, signal ${signal}): ${stderr.trim().slice(-500)}`)
    const onError = (err: Error): void => fail(`cannot start anvil: ${err.message}`, err)
    const timer = setTimeout(() => fail(`anvil did not listen within ${timeoutMs} ms`), timeoutMs)
    const cleanup = (): void => {
      clearTimeout(timer)
      child.stdout?.removeListener('data', onData)
      child.removeListener('exit', onExit)
      child.removeListener('error', onError)
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onErr)
    child.once('exit', onExit)
    child.once('error', onError)
  })
}
