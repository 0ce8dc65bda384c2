/**
 * `bitcdn get`: downloads a torrent (by .torrent file, magnet link or bare info-hash) into a
 * directory, verifying every piece against its SHA-1, with progress on screen. Re-running into the
 * same directory resumes: pieces already there and valid are kept. `--recheck` distrusts the resume
 * journal: every piece on disk is checked first and the bad ones fetched again (a repair), then the
 * finished files are read back once more. With `--wallet` it pays priced nodes per verified byte
 * (paid-download.ts) and prints what it spent and to whom; without, it uses free peers only.
 */
import { join, resolve } from 'node:path'
import { Command, Option } from 'commander'
import { readTorrentId } from '@bitcdn/content'
import type { EventEmitter } from 'node:events'
import { createSwarmClient, type HardenedWire, type PeerConnection } from '@bitcdn/swarm'
import { formatBytes } from '@bitcdn/core'
import { listenError, noSeller, noSource, nothingToAsk } from '../errors.js'
import { EXIT_INTERRUPTED, untilInterrupted } from '../interrupt.js'
import { parseBytes, parsePeer, parsePort, parseSecondsToMs, parseUrl, repeatable } from '../option-parsers.js'
import { createRateMeter } from '../rate-meter.js'
import { recheckOnDisk } from '../recheck.js'
import { createStallWatchdog } from '../stall-watchdog.js'
import { createProgressReporter, formatRate, type ProgressSnapshot } from '../progress.js'
import { BitcdnError } from '@bitcdn/core'
import { MarketErrorCode, PAY_EXTENSION_NAME } from '@bitcdn/market'
import { formatTokenAmount, presetNames } from '@bitcdn/pay'
import { DEFAULT_MAX_PRICE, openPaidDownload, wantsPayment, type PaidDownload, type PaidGetFlags } from '../paid-download.js'

interface GetOptions extends PaidGetFlags {
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
    .option('--recheck', 'check every piece on disk first and fetch the bad ones again (repair), and read the files back when done')
    .addOption(new Option('--download-limit <bytes>', 'most bytes per second to download, e.g. 2MiB').argParser(parseBytes))
    .addOption(new Option('--upload-limit <bytes>', 'most bytes per second to upload while downloading').argParser(parseBytes))
    .option('--wallet <name|path>', 'pay priced nodes from this key: a name in $BITCDN_HOME/keys (or ~/.foundry/keystores), or a keystore file')
    .option('--account <name>', 'the same as --wallet (as in cast)')
    .addOption(new Option('--passphrase-env <var>', 'environment variable holding the key passphrase (else a prompt)').default('BITCDN_PASSPHRASE'))
    .addOption(new Option('--max-price <usdc>', `leave nodes charging more than this per GiB (with --wallet) [default: ${DEFAULT_MAX_PRICE}]`))
    .option('--budget <usdc>', 'the most this download may spend, in tokens (required with --wallet)')
    .option('--deployment <file>', 'with --wallet: deployment file (default: $BITCDN_HOME/deployment.json)')
    .addOption(new Option('--token <symbol>', 'with --wallet: the token to pay in, USDC or USDT').default('USDC'))
    .option('--rpc-url <url>', "with --wallet: RPC endpoint (default: the preset's variable, else the deployment file's)")
    .option('--preset <name>', `with --wallet: the network the deployment must be on (${presetNames.join(', ')})`)
    .addHelpText(
      'after',
      '\nPaying nodes: with --wallet, each node is paid for exactly the bytes it delivered into pieces that\n' +
        'verified, at its own price (never above --max-price), until --budget is spent; cheques are\n' +
        'cumulative and written to $BITCDN_HOME/payer/<address>.db before they are signed. Nodes bought\n' +
        'from steadily get an allocation of up to a quarter of the budget from your escrow balance.\n' +
        'Fund the escrow first: bitcdn wallet deposit 5 --key NAME\n' +
        '\nExamples:\n  bitcdn get site.torrent -o ./downloads --peer 127.0.0.1:6881\n  bitcdn get "magnet:?xt=urn:btih:..." --tracker http://127.0.0.1:8000/announce\n' +
        '  bitcdn get movie.torrent --wallet me --max-price 0.5 --budget 2 --tracker http://127.0.0.1:8000/announce\n' +
        '  bitcdn get movie.torrent -o ./downloads --recheck   # repair a download damaged on disk',
    )
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
  const paid = wantsPayment(opts) ? await openPaidDownload(opts, (line) => process.stderr.write(`${line}\n`)) : undefined
  // without a wallet, note the peers that sell over bitcdn_pay: they will not serve us, and a
  // stalled download should say why
  const sellers = new Set<string>()
  const spotSellers = (wire: HardenedWire, conn: PeerConnection) =>
    (wire as unknown as EventEmitter).on('extended', (ext: string, info: { m?: Record<string, unknown> } | undefined) => {
      if (ext === 'handshake' && info?.m?.[PAY_EXTENSION_NAME] !== undefined) sellers.add(conn.id)
    })
  const client = createSwarmClient(
    {
      host: opts.host,
      port: opts.port,
      dht: opts.dht,
      downloadRateLimit: opts.downloadLimit ?? 0,
      uploadRateLimit: opts.uploadLimit ?? 0,
    },
    paid?.swarm ?? { extendWire: spotSellers },
  )
  await client.start().catch((err: unknown) => {
    paid?.close()
    throw listenError(err, opts.port)
  })
  const progress = createProgressReporter(process.stderr)
  let timer: NodeJS.Timeout | undefined
  let finished = false
  try {
    const started = Date.now()
    if (opts.recheck) process.stderr.write(`rechecking what is already in ${dir}\n`)
    const torrent = await client.add(ref, { dir, peers: opts.peer, announce: opts.tracker, webSeeds: opts.webSeed, recheck: opts.recheck })
    paid?.track(torrent)
    if (opts.recheck && torrent.metainfo) {
      const s = torrent.stats()
      const bad = s.pieceCount - s.verifiedPieces
      // a fresh download has nothing on disk: only say something when there was data to check
      if (bad > 0 && s.verifiedPieces > 0) process.stderr.write(`recheck: ${bad} of ${s.pieceCount} pieces on disk are missing or damaged; fetching them again\n`)
    }
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

    const stallError = (): BitcdnError => {
      const refused = paid?.refusedPrices() ?? []
      if (paid !== undefined && refused.length > 0 && paid.spent() === 0n) return noSeller(paid.maxPricePerGiB, refused, paid.symbol)
      return noSource(opts.timeout, sources, paid === undefined ? sellers.size : 0)
    }
    const exhausted = new Promise<never>((_, reject) => {
      // the buyer says exhausted only once what the budget bought has verified (paid-buyer's checkBudget)
      void paid?.exhausted.then(() => {
        const pct = (torrent.stats().progress * 100).toFixed(1)
        const budget = `${formatTokenAmount(paid.budget, 6)} ${paid.symbol}`
        reject(new BitcdnError(MarketErrorCode.budgetExhausted, `the budget of ${budget} is spent at ${pct}%: run the same command again with a higher --budget to fetch the rest`, { details: { budget: paid.budget } }))
      })
    })
    // any byte from any source resets the stall clock
    const watchdog = createStallWatchdog(opts.timeout)
    const stalled = new Promise<never>((_, reject) => {
      timer = setInterval(() => {
        const bytes = torrent.stats().downloaded
        rate = meter.sample(bytes)
        if (watchdog.stalled(bytes)) reject(stallError())
        // every peer we were told of wants more than we pay, and there is nothing else to try
        const refused = paid?.refusedPrices() ?? []
        if (bytes === 0 && refused.length > 0 && refused.length >= sources.peers && sources.trackers + sources.webSeeds === 0 && !opts.dht) reject(stallError())
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
    const stopped = await Promise.race([torrent.whenDone().then(() => false), stalled, interrupted, exhausted]).catch((err: unknown) => {
      throw fatal ?? err
    })
    clearInterval(timer)
    if (stopped) {
      progress.end()
      process.stderr.write(`interrupted at ${(torrent.stats().progress * 100).toFixed(1)}%; run the same command again to resume\n`)
      process.exitCode = EXIT_INTERRUPTED
      return
    }
    // the final line shows the average rate: the meter's last sample, taken after the last
    // piece, read 0 B/s
    const elapsed = Math.max((Date.now() - started) / 1000, 0.001)
    progress.finish({ ...snapshot(), downloadRate: torrent.stats().downloaded / elapsed })
    // the last cheques: every verified byte paid and stored by its seller before we hang up
    await paid?.settle(15_000)
    if (opts.recheck && torrent.metainfo) await recheckOnDisk(torrent.metainfo, dir)
    const s = torrent.stats()
    const name = torrent.metainfo?.name ?? torrent.infoHash
    const length = torrent.metainfo?.length ?? 0
    const seconds = (Date.now() - started) / 1000
    const fetched = s.downloaded
    // hundredths below 100 s: a fast download (and the paid bench's) lasts a second or two
    process.stdout.write(
      `done ${name}: ${formatBytes(length)} verified in ${join(dir, name)}` +
        (fetched > 0 ? ` (${formatBytes(fetched)} fetched in ${seconds.toFixed(seconds < 100 ? 2 : 1)} s, ${formatRate(fetched / Math.max(seconds, 0.001))})` : ' (already complete)') +
        '\n',
    )
    if (paid) for (const line of paid.summary()) process.stdout.write(`${line}\n`)
    finished = true
  } finally {
    clearInterval(timer)
    progress.end()
    // stopped early (budget spent, stalled, Ctrl-C): still deliver the cheque for what verified
    if (paid && !finished) await paid.settle(5_000)
    await client.stop()
    if (paid) {
      // a failed or interrupted paid download still says what it spent, before its error line
      if (!finished) for (const line of paid.summary()) process.stderr.write(`${line}\n`)
      paid.close()
    }
  }
}
