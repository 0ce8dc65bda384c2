/**
 * `bitcdn create`: makes a .torrent (BEP 3, v1) of a file or directory, with trackers (BEP 12)
 * and web seeds (BEP 19), and prints its info-hash and magnet link.
 */
import { writeFile } from 'node:fs/promises'
import { Command, Option } from 'commander'
import { statExisting } from '../content-path.js'
import { createTorrentWithProgress } from '../hashing-progress.js'
import { parseBytes, parseUrl, repeatable } from '../option-parsers.js'
import { printTorrentSummary } from '../torrent-summary.js'

interface CreateOptions {
  webSeed?: string[]
  tracker?: string[]
  pieceLength?: number
  name?: string
  output?: string
}

/**
 * Registers `bitcdn create`.
 * @example registerCreate(program) // bitcdn create ./site --tracker http://127.0.0.1:8000/announce
 */
export function registerCreate(program: Command): void {
  program
    .command('create')
    .description('make a .torrent of a file or directory; prints the info-hash and magnet link')
    .argument('<path>', 'file or directory to share')
    .addOption(new Option('--web-seed <url>', 'HTTP(S) URL serving the same content (repeatable)').argParser(repeatable(parseUrl)))
    .addOption(new Option('--tracker <url>', 'tracker announce URL (repeatable)').argParser(repeatable(parseUrl)))
    .addOption(new Option('--piece-length <bytes>', 'piece size, a power of two such as 262144 or 1MiB (default: chosen from the size)').argParser(parseBytes))
    .option('--name <name>', 'name of the torrent (default: the file or directory name)')
    .option('-o, --output <file>', 'where to write the .torrent (default: <name>.torrent)')
    .addHelpText('after', '\nExample:\n  bitcdn create ./site --tracker http://127.0.0.1:8000/announce -o site.torrent')
    .action(async (path: string, opts: CreateOptions) => {
      await statExisting(path, 'content')
      const metainfo = await createTorrentWithProgress(path, {
        name: opts.name,
        pieceLength: opts.pieceLength,
        announce: opts.tracker,
        urlList: opts.webSeed,
      })
      const output = opts.output ?? `${metainfo.name}.torrent`
      await writeFile(output, metainfo.torrentFile)
      printTorrentSummary(process.stdout, metainfo, { torrent: output })
    })
}
