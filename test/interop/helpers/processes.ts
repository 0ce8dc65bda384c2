/**
 * Real child processes for integration tests: start one, wait for a line it prints, stop it.
 * Every process started here is remembered so `stopAll()` in afterAll kills what a failed test
 * left behind. Waits have generous upper bounds so a broken peer fails the test instead of hanging
 * it; they are not performance assertions.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface TestProcess {
  readonly child: ChildProcess
  readonly name: string
  /** Everything printed so far. */
  stdout(): string
  stderr(): string
  /** Resolves with the first match of `pattern` in stdout+stderr (past or future). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  /** Resolves when the process exits. */
  readonly exited: Promise<Exit>
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<Exit>
}

const running = new Set<TestProcess>()

/**
 * Starts `command args`, capturing its output.
 * @example const seeder = startProcess('node', [cli, 'seed', dir, '--port', '0'])
 */
export function startProcess(command: string, args: string[], options: SpawnOptions & { name?: string } = {}): TestProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options })
  let out = ''
  let err = ''
  const waiters = new Set<() => void>()
  const poke = (): void => {
    for (const w of [...waiters]) w()
  }
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d
    poke()
  })
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d
    poke()
  })
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
    child.once('error', () => resolve({ code: -1, signal: null }))
  })
  const name = options.name ?? `${command} ${args.slice(0, 2).join(' ')}`
  const proc: TestProcess = {
    child,
    name,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = (out + err).match(pattern)
          if (m) {
            done()
            resolve(m)
          }
        }
        const timer = setTimeout(() => {
          done()
          reject(new Error(`${name}: no ${pattern} within ${timeoutMs} ms\n--- stdout\n${out}\n--- stderr\n${err}`))
        }, timeoutMs)
        const onExit = (e: Exit): void => {
          // let the last output land before deciding the pattern never came
          setImmediate(() => {
            check()
            if (!waiters.has(check)) return
            done()
            reject(new Error(`${name}: exited (${e.code ?? e.signal}) before ${pattern}\n--- stdout\n${out}\n--- stderr\n${err}`))
          })
        }
        const done = (): void => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        waiters.add(check)
        void exited.then(onExit)
        check()
      })
    },
    async stop(graceMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
        const e = await exited
        clearTimeout(timer)
        running.delete(proc)
        return e
      }
      running.delete(proc)
      return exited
    },
  }
  running.add(proc)
  void exited.then(() => running.delete(proc))
  return proc
}

/**
 * Runs a command to completion.
 * @example const { code, stdout } = await runProcess('mktorrent', ['-o', 't.torrent', dir])
 */
export async function runProcess(
  command: string,
  args: string[],
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<Exit & { stdout: string; stderr: string }> {
  const p = startProcess(command, args, options)
  const timer = setTimeout(() => void p.stop(), options.timeoutMs ?? 120_000)
  const e = await p.exited
  clearTimeout(timer)
  return { ...e, stdout: p.stdout(), stderr: p.stderr() }
}

const cleanups = new Set<() => void>()

/**
 * Registers a cleanup for `stopAll` to run once the processes are gone (temp state they used).
 * @example atStopAll(() => rmSync(home, { recursive: true, force: true }))
 */
export function atStopAll(fn: () => void): void {
  cleanups.add(fn)
}

/**
 * Stops every process still running, then runs the registered cleanups (afterAll).
 * @example afterAll(stopAll)
 */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()))
  for (const fn of cleanups) fn()
}
