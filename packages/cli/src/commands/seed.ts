/**
 * `bitcdn seed`: serves a torrent's data to the swarm until Ctrl-C. Given a .torrent it serves the
 * data found beside it (or in `--dir`); given any other path it makes the torrent on the fly and
 * serves the files where they are, never copying them.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { Command, Option } from 'commander'
import { parseTorrentFile, type Metainfo } from '@bitcdn/content'
import { createSwarmClient } from '@bitcdn/swarm'
import { formatBytes } from '@bitcdn/core'
import { statExisting } from '../content-path.js'
import { createTorrentWithProgress } from '../hashing-progress.js'
import { listenError } from '../errors.js'
import { untilInterrupted } from '../interrupt.js'
import { parseBytes, parsePort, parseUrl, repeatable } from '../option-parsers.js'
import { formatRate } from '../progress.js'
import { printTorrentSummary } from '../torrent-summary.js'
import { createStatusLine } from '../status-line.js'

interface SeedOptions {
  dir?: string
  port: number
  host: string
  tracker?: string[]
  webSeed?: string[]
  pieceLength?: number
  saveTorrent?: string
  uploadLimit?: number
}

/**
 * Registers `bitcdn seed`.
 * @example registerSeed(program) // bitcdn seed ./site --port 6881
 */
export function registerSeed(program: Command): void {
  program
    .command('seed')
    .description('seed a .torrent, or a file or directory in place (the torrent is made on the fly); Ctrl-C stops')
    .argument('<torrent|path>', 'a .torrent file, or the content to share')
    .option('--dir <dir>', "for a .torrent: the directory holding its data (default: the torrent's directory, else the current one)")
    .addOption(new Option('--port <n>', 'port to accept peers on').argParser(parsePort).default(6881))
    .option('--host <address>', 'address to accept peers on', '127.0.0.1')
    .addOption(new Option('--tracker <url>', 'announce to this tracker too (repeatable)').argParser(repeatable(parseUrl)))
    .addOption(new Option('--web-seed <url>', 'HTTP(S) URL serving the same content (repeatable)').argParser(repeatable(parseUrl)))
    .addOption(new Option('--piece-length <bytes>', 'piece size when making the torrent from a path').argParser(parseBytes))
    .option('--save-torrent <file>', 'when making the torrent from a path, also write it to this file')
    .addOption(new Option('--upload-limit <bytes>', 'most bytes per second to upload, e.g. 10MiB').argParser(parseBytes))
    .addHelpText('after', '\nExamples:\n  bitcdn seed ./site --port 6881\n  bitcdn seed site.torrent --dir /srv/data')
    .action(async (input: string, opts: SeedOptions) => {
      await runSeed(input, opts)
    })
}

interface SeedSource {
  metainfo: Metainfo
  /** The directory that holds `metainfo.name`. */
  dir: string
  /** True when the torrent was made from the path just now. */
  created: boolean
}

async function resolveSource(input: string, opts: SeedOptions): Promise<SeedSource> {
  const st = await statExisting(input, opts.dir === undefined ? 'torrent or content' : 'torrent')
  if (st.isFile() && input.endsWith('.torrent')) {
    const metainfo = parseTorrentFile(await readFile(input))
    return { metainfo, dir: opts.dir ?? (await dataDirBeside(input, metainfo)), created: false }
  }
  const path = resolve(input)
  const metainfo = await createTorrentWithProgress(path, {
    pieceLength: opts.pieceLength,
    announce: opts.tracker,
    urlList: opts.webSeed,
  })
  return { metainfo, dir: dirname(path), created: true }
}

/** The torrent's own directory if its data sits there, else the working directory. */
async function dataDirBeside(torrentPath: string, metainfo: Metainfo): Promise<string> {
  const beside = dirname(resolve(torrentPath))
  try {
    await statExisting(join(beside, metainfo.name), 'data')
    return beside
  } catch {
    return process.cwd()
  }
}

async function runSeed(input: string, opts: SeedOptions): Promise<void> {
  const { metainfo, dir, created } = await resolveSource(input, opts)
  await statExisting(join(dir, metainfo.name), `data of '${metainfo.name}' (use --dir)`)
  if (created && opts.saveTorrent) await writeFile(opts.saveTorrent, metainfo.torrentFile)

  const client = createSwarmClient({ host: opts.host, port: opts.port, uploadRateLimit: opts.uploadLimit ?? 0 })
  await client.start().catch((err: unknown) => {
    throw listenError(err, opts.port)
  })
  try {
    // no resume journal: files seeded in place can be edited between runs without changing
    // size, and serving a stale piece gets us banned; a recheck (about a second per GiB per
    // core) is what tells us the data is still intact
    process.stderr.write(`checking ${metainfo.name} (${formatBytes(metainfo.length)}) in ${dir}\n`)
    const torrent = await client.add(metainfo, { dir, announce: opts.tracker, webSeeds: opts.webSeed, resume: false })
    const failed = new Promise<never>((_, reject) => torrent.once('error', reject))
    const st = torrent.stats()
    const bad = st.pieceCount - st.verifiedPieces
    if (bad > 0) {
      // peers ask for what we announce, so serving goes on; the user needs to know the files are not whole
      process.stderr.write(
        `warning: ${bad} of ${st.pieceCount} pieces of ${metainfo.name} in ${dir} are missing or damaged (${(st.progress * 100).toFixed(1)}% intact); serving the intact pieces and fetching the rest from the swarm\n`,
      )
    }
    printTorrentSummary(process.stdout, metainfo, {
      data: join(dir, basename(metainfo.name)),
      listening: `${opts.host}:${client.port}`,
      ...(created && opts.saveTorrent ? { torrent: opts.saveTorrent } : {}),
    })
    const status = createStatusLine(process.stderr)
    const warned = new Set<string>()
    torrent.on('warning', (err: Error) => {
      // a dead tracker warns again at every announce; once is enough
      if (warned.has(err.message)) return
      warned.add(err.message)
      status.note(`warning: ${err.message}`)
    })
    const timer = setInterval(() => {
      const s = torrent.stats()
      status.update(`seeding  ${(s.progress * 100).toFixed(1)}%  peers ${s.peers}  uploaded ${formatBytes(s.uploaded)}  up ${formatRate(s.uploadRate)}`)
    }, 1000)
    try {
      await Promise.race([untilInterrupted(), failed])
    } finally {
      clearInterval(timer)
      status.done()
    }
    process.stderr.write('stopping\n')
  } finally {
    await client.stop()
  }
}
