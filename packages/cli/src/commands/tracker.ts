/**
 * `bitcdn tracker`: a BitTorrent tracker (HTTP, BEP 3; UDP, BEP 15) for private swarms, tests and
 * the local devnet. It prints the announce URLs to put in torrents (`bitcdn create --tracker`) and
 * runs until Ctrl-C.
 */
import { Command, Option } from 'commander'
import { createTrackerServer } from '@bitcdn/swarm'
import { listenError } from '../errors.js'
import { untilInterrupted } from '../interrupt.js'
import { parsePort } from '../option-parsers.js'

interface TrackerOptions {
  port: number
  host: string
  http: boolean
  udp: boolean
}

/**
 * Registers `bitcdn tracker`.
 * @example registerTracker(program) // bitcdn tracker --port 8000 --no-udp
 */
export function registerTracker(program: Command): void {
  program
    .command('tracker')
    .description('run a BitTorrent tracker (HTTP and UDP) and print its announce URLs; Ctrl-C stops it')
    .addOption(new Option('--port <n>', 'port for both HTTP and UDP').argParser(parsePort).default(8000))
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--no-http', 'do not serve HTTP announces')
    .option('--no-udp', 'do not serve UDP announces')
    .addHelpText('after', '\nExample:\n  bitcdn tracker --port 8000\n  bitcdn create ./site --tracker http://127.0.0.1:8000/announce')
    .action(async (opts: TrackerOptions, command: Command) => {
      if (!opts.http && !opts.udp) command.error('error: --no-http and --no-udp together leave nothing to serve', { exitCode: 2 })
      await runTracker(opts)
    })
}

async function runTracker(opts: TrackerOptions): Promise<void> {
  const server = createTrackerServer({ host: opts.host, port: opts.port, http: opts.http, udp: opts.udp })
  await server.start().catch((err: unknown) => {
    throw listenError(err, opts.port)
  })
  // a malformed announce is the client's problem: one line for the operator, no stack trace;
  // the same message at most once per 10 s, so a flood of junk cannot flood the log
  const lastSaid = new Map<string, number>()
  server.on('warning', (err: Error) => {
    const now = Date.now()
    if (now - (lastSaid.get(err.message) ?? 0) < 10_000) return
    if (lastSaid.size > 1000) lastSaid.clear()
    lastSaid.set(err.message, now)
    process.stderr.write(`warning: refused a tracker request: ${err.message.split('\n')[0]}\n`)
  })
  const out = process.stdout
  out.write(`tracker listening on ${opts.host}\n`)
  if (server.httpUrl) out.write(`announce  ${server.httpUrl}\n`)
  if (server.udpUrl) out.write(`announce  ${server.udpUrl}\n`)
  await untilInterrupted()
  process.stderr.write('stopping tracker\n')
  await server.stop()
}
