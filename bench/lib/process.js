// Child processes, ports and the commit for the benchmark suites (plain JS: bench runs without a
// build step of its own).
import { execFileSync, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

/**
 * Spawn `command args` and resolve once a line of its stdout or stderr satisfies `ready`; rejects
 * with the tail of its output if it exits first. `env` is added to this process's environment.
 * @returns {Promise<{ matched: string, pid: number, stop: () => Promise<void> }>}
 */
export function startProcess(command, args, ready, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    let out = ''
    const onData = (d) => {
      out += d.toString()
      const line = out.split('\n').find(ready)
      if (line === undefined) return
      child.stdout.off('data', onData)
      child.stderr.off('data', onData)
      // keep draining, so a chatty child never blocks on a full pipe
      child.stdout.resume()
      child.stderr.resume()
      resolve({
        matched: line,
        pid: child.pid,
        stop: () =>
          new Promise((r) => {
            if (child.exitCode !== null || child.signalCode !== null) return r()
            child.once('exit', () => r())
            child.kill('SIGTERM')
          }),
      })
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', (code) => reject(new Error(`${[command, ...args].slice(0, 3).join(' ')} exited (${code}): ${out.slice(-2000)}`)))
  })
}

/** A TCP port free on loopback right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/** The short commit the benchmark ran on, for its JSON record (undefined outside a checkout). */
export function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: here, encoding: 'utf8' }).trim()
  } catch {
    return undefined
  }
}

/**
 * Waits until the 1-minute load average is at most `max` (or `timeoutMs` passed): a run right
 * after another starts at the load the previous one left (about 2 on 2 cores), which is the
 * bench's own noise, not the machine's. Returns the load it started at.
 */
export async function settleLoad(max = 0.5, timeoutMs = 120_000) {
  const { loadavg } = await import('node:os')
  const until = Date.now() + timeoutMs
  while (loadavg()[0] > max && Date.now() < until) await new Promise((r) => setTimeout(r, 2000))
  return loadavg()[0]
}
