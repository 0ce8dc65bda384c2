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
  const out = process.stdout
  out.write(`tracker listening on ${opts.host}\n`)
  if (server.httpUrl) out.write(`announce  ${server.httpUrl}\n`)
  if (server.udpUrl) out.write(`announce  ${server.udpUrl}\n`)
  await untilInterrupted()
  process.stderr.write('stopping tracker\n')
  await server.stop()
}
