/**
 * `bitcdn get`: downloads a torrent (by .torrent file, magnet link or bare info-hash) into a
 * directory, verifying every piece against its SHA-1, with progress on screen. Re-running into the
 * same directory resumes: pieces already there and valid are kept.
 */
import { join, resolve } from 'node:path'
import { Command, Option } from 'commander'
import { readTorrentId } from '@bitcdn/content'
import { createSwarmClient } from '@bitcdn/swarm'
import { formatBytes } from '@bitcdn/core'
import { listenError, noSource, nothingToAsk } from '../errors.js'
import { EXIT_INTERRUPTED, untilInterrupted } from '../interrupt.js'
import { parseBytes, parsePeer, parsePort, parseSecondsToMs, parseUrl, repeatable } from '../option-parsers.js'
import { createRateMeter } from '../rate-meter.js'
import { recheckOnDisk } from '../recheck.js'
import { createStallWatchdog } from '../stall-watchdog.js'
import { createProgressReporter, formatRate, type ProgressSnapshot } from '../progress.js'

interface GetOptions {
  output: string
  peer?: string[]
  tracker?: string[]
  webSeed?: string[]
  port: number
  host: string
  dht: boolean
  timeout: number
  recheck: boolean
  downloadLimit?: number
  uploadLimit?: number
}

/**
 * Registers `bitcdn get`.
 * @example registerGet(program) // bitcdn get site.torrent -o ./downloads --peer 127.0.0.1:6881
 */
export function registerGet(program: Command): void {
  program
    .command('get')
    .description('download and verify a torrent, with progress; resumes when re-run into the same directory')
    .argument('<magnet|torrent|infohash>', 'a magnet link, a .torrent file or a 40-hex info-hash')
    .option('-o, --output <dir>', 'directory to download into', '.')
    .addOption(new Option('--peer <host:port>', 'connect to this peer (repeatable)').argParser(repeatable(parsePeer)))
    .addOption(new Option('--tracker <url>', 'announce to this tracker too (repeatable)').argParser(repeatable(parseUrl)))
    .addOption(new Option('--web-seed <url>', 'fetch from this HTTP(S) web seed too (repeatable)').argParser(repeatable(parseUrl)))
    .addOption(new Option('--port <n>', 'port to accept peers on (0: any free port)').argParser(parsePort).default(0))
    .option('--host <address>', 'address to accept peers on', '127.0.0.1')
    .option('--dht', 'also find peers through the mainline DHT (BEP 5)')
    .addOption(new Option('--timeout <seconds>', 'fail when no source delivers any data for this long').argParser(parseSecondsToMs).default(60_000, '60'))
    .option('--recheck', 'when done, read every piece back from disk and check it again')
    .addOption(new Option('--download-limit <bytes>', 'most bytes per second to download, e.g. 2MiB').argParser(parseBytes))
    .addOption(new Option('--upload-limit <bytes>', 'most bytes per second to upload while downloading').argParser(parseBytes))
    .addHelpText('after', '\nExamples:\n  bitcdn get site.torrent -o ./downloads --peer 127.0.0.1:6881\n  bitcdn get "magnet:?xt=urn:btih:..." --tracker http://127.0.0.1:8000/announce')
    .action(async (id: string, opts: GetOptions) => {
      await runGet(id, opts)
    })
}

async function runGet(id: string, opts: GetOptions): Promise<void> {
  const ref = await readTorrentId(id)
  const sources = {
    peers: (opts.peer ?? []).length + ('peers' in ref ? ref.peers.length : 0),
    trackers: new Set([...(opts.tracker ?? []), ...ref.announce]).size,
    webSeeds: new Set([...(opts.webSeed ?? []), ...ref.urlList]).size,
  }
  // waiting out --timeout would only delay the obvious
  if (sources.peers + sources.trackers + sources.webSeeds === 0 && !opts.dht) throw nothingToAsk()
  const dir = resolve(opts.output)
  const client = createSwarmClient({
    host: opts.host,
    port: opts.port,
    dht: opts.dht,
    downloadRateLimit: opts.downloadLimit ?? 0,
    uploadRateLimit: opts.uploadLimit ?? 0,
  })
  await client.start().catch((err: unknown) => {
    throw listenError(err, opts.port)
  })
  const progress = createProgressReporter(process.stderr)
  let timer: NodeJS.Timeout | undefined
  try {
    const started = Date.now()
    const torrent = await client.add(ref, { dir, peers: opts.peer, announce: opts.tracker, webSeeds: opts.webSeed })
    const warned = new Set<string>()
    torrent.on('warning', (err: Error) => {
      // the same warning (a dead tracker, a refusing peer) repeats on every retry; say it once
      if (warned.has(err.message)) return
      warned.add(err.message)
      progress.note(`warning: ${err.message}`)
    })
    const meter = createRateMeter()
    let rate = 0
    const snapshot = (): ProgressSnapshot => {
      const s = torrent.stats()
      const total = torrent.metainfo?.length ?? 0
      return { have: Math.round(s.progress * total), total, downloadRate: rate, peers: s.peers, webSeeds: s.webSeeds }
    }

    // any byte from any source resets the stall clock
    const watchdog = createStallWatchdog(opts.timeout)
    const stalled = new Promise<never>((_, reject) => {
      timer = setInterval(() => {
        const bytes = torrent.stats().downloaded
        rate = meter.sample(bytes)
        if (watchdog.stalled(bytes)) reject(noSource(opts.timeout, sources))
        progress.update(snapshot())
      }, 250)
    })
    // a fatal session error (disk full, storage I/O) also ends whenDone() with a generic
    // "stopped"; the user needs the cause
    let fatal: Error | undefined
    torrent.once('error', (err: Error) => {
      fatal = err
    })
    // Ctrl-C: stop the client cleanly so the resume journal covers every piece stored so far
    const interrupted = untilInterrupted().then(() => true)
    const stopped = await Promise.race([torrent.whenDone().then(() => false), stalled, interrupted]).catch((err: unknown) => {
      throw fatal ?? err
    })
    clearInterval(timer)
    if (stopped) {
      progress.end()
      process.stderr.write(`interrupted at ${(torrent.stats().progress * 100).toFixed(1)}%; run the same command again to resume\n`)
      process.exitCode = EXIT_INTERRUPTED
      return
    }
    progress.finish(snapshot())
    if (opts.recheck && torrent.metainfo) await recheckOnDisk(torrent.metainfo, dir)
    const s = torrent.stats()
    const name = torrent.metainfo?.name ?? torrent.infoHash
    const length = torrent.metainfo?.length ?? 0
    const seconds = (Date.now() - started) / 1000
    const fetched = s.downloaded
    process.stdout.write(
      `done ${name}: ${formatBytes(length)} verified in ${join(dir, name)}` +
        (fetched > 0 ? ` (${formatBytes(fetched)} fetched in ${seconds.toFixed(1)} s, ${formatRate(fetched / Math.max(seconds, 0.001))})` : ' (already complete)') +
        '\n',
    )
  } finally {
    clearInterval(timer)
    progress.end()
    await client.stop()
  }
}
