/**
 * `bitcdn devnet` (what `npm start` runs): the whole BitCDN network on this machine — a local chain
 * with the escrow, the hub and its website, paid nodes, a paying gateway, sample content and a
 * little traffic — until Ctrl-C. State lives in `.devnet/` (or `--dir`); a second start reuses it.
 */
import { isAbsolute, join, relative, resolve } from 'node:path'
import { Command, Option } from 'commander'
import { startDevnet, type DevnetOptions } from '../devnet/start-devnet.js'
import { untilInterrupted } from '../interrupt.js'
import { parsePort } from '../option-parsers.js'

const parseCount = (v: string): number => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1 || n > 8) throw new Error(`expected a node count from 1 to 8, got ${v}`)
  return n
}

/**
 * Registers `bitcdn devnet`.
 * @example registerDevnet(program) // bitcdn devnet --nodes 3 --dir .devnet
 */
export function registerDevnet(program: Command): void {
  program
    .command('devnet')
    .description('run the whole network locally: chain, hub + website, paid nodes, a paying gateway, sample content; Ctrl-C stops it')
    .addOption(new Option('--nodes <n>', 'how many nodes (each at its own price)').argParser(parseCount).default(3))
    .option('--dir <dir>', 'where the devnet keeps its data (kept between runs)', '.devnet')
    .addOption(new Option('--chain-port <n>', 'anvil JSON-RPC port').argParser(parsePort).default(8545))
    .addOption(new Option('--hub-port <n>', 'hub API and website port').argParser(parsePort).default(8080))
    .addOption(new Option('--tracker-port <n>', 'hub tracker port (HTTP and UDP)').argParser(parsePort).default(8000))
    .addOption(new Option('--gateway-port <n>', 'gateway HTTP port').argParser(parsePort).default(8088))
    .addOption(new Option('--node-port <n>', 'BitTorrent port of the first node; the next nodes take the following ports').argParser(parsePort).default(6881))
    .addOption(new Option('--admin-port <n>', 'admin API port of the first node; the next nodes take the following ports').argParser(parsePort).default(8790))
    .option('--no-traffic', 'do not send the first few gateway requests (and their cash-out) at start')
    .addHelpText(
      'after',
      '\nEvery port takes 0 for any free port. The chain is new at each start: node ledgers, the gateway wallet and\n' +
        'the hub database are reset; keys, configs, content and node data are reused. Logs: <dir>/logs/.\n' +
        '\nExamples:\n  bitcdn devnet\n  bitcdn devnet --nodes 2 --hub-port 9080 --dir /tmp/devnet',
    )
    .action(async (o: Omit<DevnetOptions, 'progress'>) => {
      const dir = resolve(o.dir)
      // short when inside the current directory, absolute otherwise (never ../../../tmp/…)
      const show = (p: string) => {
        const r = relative(process.cwd(), p)
        return r === '' ? '.' : r.startsWith('..') || isAbsolute(r) ? p : r
      }
      const started = Date.now()
      const say = (line: string) => void process.stdout.write(`devnet  ${line}\n`)
      // listen for Ctrl-C from the first moment: pressed while starting, it stops what has started
      const interrupted = untilInterrupted()
      let stopping = false
      void interrupted.then(() => {
        stopping = true
        say('stopping ...')
      })
      const net = await startDevnet({ ...o, dir, progress: (line) => !stopping && say(line) })
      if (stopping) {
        await net.stop()
        return say('stopped')
      }
      const video = `${net.gateway.url}/t/${net.content.infoHash}/video/clip.webm`
      // the devnet's chain is not $BITCDN_HOME's: a user's own wallet reaches it with --deployment
      const dep = `--deployment ${show(join(dir, 'deployment.json'))}`
      process.stdout.write(
        [
          '',
          `BitCDN devnet is up (${((Date.now() - started) / 1000).toFixed(1)} s)`,
          '',
          `  website   ${net.websiteUrl}/   (API: ${net.hub.url}/api/v1/stats, OpenAPI: ${net.hub.url}/openapi.json)`,
          `  gateway   ${net.gateway.url}/t/${net.content.infoHash}/index.html`,
          `            curl -o clip.webm ${video}`,
          `  chain     ${net.deployment.rpcUrl}  escrow ${net.deployment.escrow}`,
          `  nodes     ${net.nodes.map((x) => `${x.endpoint} (${x.pricePerGiB} USDC/GiB)`).join(', ')}`,
          `  data      ${show(dir)}  (logs in ${show(dir)}/logs, torrent ${show(net.content.torrentFile)})`,
          `  pay       your own wallet on this chain (bitcdn wallet, chain fund and get --wallet take ${dep}):`,
          `            bitcdn wallet new && bitcdn chain fund default ${dep} && bitcdn wallet deposit 10 ${dep}`,
          `            bitcdn get ${show(net.content.torrentFile)} -o dl --wallet default --budget 1 ${dep}`,
          '',
          'Ctrl-C stops everything.',
          '',
        ].join('\n'),
      )
      await interrupted
      await net.stop()
      say('stopped')
      // everything is closed; a handle a library leaks must not keep the terminal (seen once, not reproduced)
      setTimeout(() => {
        process.stderr.write(`devnet: stopped, but a leftover handle kept the process alive (${describeHandles()}); exiting\n`)
        process.exit(0)
      }, 5_000).unref()
    })
}

/** What still keeps the event loop alive, why-is-node-running style: handle types and their sockets. */
function describeHandles(): string {
  const handles = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles()
  return handles
    .map((h) => {
      const name = h.constructor?.name ?? 'handle'
      const s = h as { localPort?: number; remotePort?: number; pid?: number }
      return s.remotePort ? `${name} ${s.localPort}->${s.remotePort}` : s.localPort ? `${name} :${s.localPort}` : s.pid ? `${name} pid ${s.pid}` : name
    })
    .join(', ')
}
