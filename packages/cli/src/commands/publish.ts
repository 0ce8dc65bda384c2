/**
 * `bitcdn publish`: what a publisher runs to put content on the network. It makes the torrent
 * (the hubs' trackers announced in it, your origin as web seed), writes the .torrent, announces it
 * to each hub's catalogue signed by your key (nodes with `[auto_pin]` pin what the catalogue
 * lists), and asks the nodes you name to pin it through their admin APIs. The SDK's publisher
 * helpers (`announceToCatalogue`, `pinOnNodes`) do the signing and the calls, so the CLI and an
 * application publish the same message.
 *
 * A torrent without a web seed has no source until someone seeds it: publish says so, with the
 * `bitcdn seed` command that serves it from where it lies.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import { Command, Option } from 'commander'
import { privateKeyToAccount } from 'viem/accounts'
import { BitcdnError, describeError } from '@bitcdn/core'
import { bitcdnHome, findKeystore, unlockKeystoreFile } from '@bitcdn/pay'
import { announceToCatalogue, createHubClient, createNodeAdminClient, pinOnNodes, type PinOutcome } from '@bitcdn/sdk'
import { statExisting } from '../content-path.js'
import { errorLine } from '../main.js'
import { createTorrentWithProgress } from '../hashing-progress.js'
import { parseBytes, parsePinNode, parseUrl, repeatable } from '../option-parsers.js'
import { printTorrentSummary } from '../torrent-summary.js'

interface PublishOptions {
  hub: string[]
  key?: string
  account?: string
  passphraseEnv?: string
  webSeed?: string[]
  tracker?: string[]
  pieceLength?: number
  name?: string
  description?: string
  output?: string
  pinNode?: Array<{ url: string; tokenFile: string }>
  free?: boolean
}


/** A hub or node that refused, in the one-line form main prints errors in (its code, or BITCDN_ERR_UNEXPECTED). */
const failureLine = (what: string, err: unknown): string =>
  `${errorLine(Object.assign(new Error(`${what}: ${describeError(err)}`), { code: (err as { code?: unknown } | null)?.code }))}\n`

/** Hosts whose admin token never leaves the machine. */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** The longest description a catalogue entry carries here (the hub checks its own limit too). */
const MAX_DESCRIPTION = 1000

/**
 * Registers `bitcdn publish`.
 * @example registerPublish(program) // bitcdn publish ./site --hub http://127.0.0.1:8080 --web-seed https://www.example.com/
 */
export function registerPublish(program: Command): void {
  program
    .command('publish')
    .description('make a torrent of a file or directory, announce it to hub catalogues (signed by your key) and ask nodes to pin it')
    .argument('<path>', 'file or directory to publish')
    .addOption(new Option('--hub <url>', 'hub whose catalogue lists it (repeatable; its trackers go into the torrent)').argParser(repeatable(parseUrl)).makeOptionMandatory())
    .option('--key <name>', 'the publisher key that signs the catalogue entry (default: default)')
    .option('--account <name>', 'same as --key (as in cast)')
    .option('--passphrase-env <var>', 'environment variable holding the key passphrase (default: BITCDN_PASSPHRASE, else a prompt)')
    .addOption(new Option('--web-seed <url>', 'your origin, serving the same content (repeatable; BEP 19): a URL ending in / gets the torrent name appended (a folder is fetched as <url><name>/<path>)').argParser(repeatable(parseUrl)))
    .addOption(new Option('--tracker <url>', 'another tracker announce URL beside the hubs\' (repeatable)').argParser(repeatable(parseUrl)))
    .addOption(new Option('--piece-length <bytes>', 'piece size, a power of two such as 262144 or 1MiB (default: chosen from the size)').argParser(parseBytes))
    .option('--name <name>', 'name of the torrent (default: the file or directory name)')
    .option('--description <text>', 'one line for the catalogue', '')
    .option('-o, --output <file>', 'where to write the .torrent (default: <name>.torrent)')
    .addOption(new Option('--pin-node <url=token-file>', 'ask this node to pin it via its admin API: the admin URL and a file holding its token (repeatable)').argParser(repeatable(parsePinNode)))
    .option('--free', 'with --pin-node: the nodes serve it to unpaid peers too (you sponsor it)')
    .addHelpText(
      'after',
      '\nNodes fetch the content from its web seed (your origin) or from peers seeding it; without --web-seed, seed it\n' +
        'yourself (`bitcdn seed <torrent> --dir <folder>`) until the nodes have it.\n' +
        '\nExamples:\n' +
        '  bitcdn publish ./site --hub http://127.0.0.1:8080 --web-seed https://www.example.com/ --key publisher\n' +
        '  bitcdn publish video.mp4 --hub http://127.0.0.1:8080 --pin-node http://127.0.0.1:8790=$BITCDN_HOME/node/admin-token',
    )
    .action(async (path: string, opts: PublishOptions) => {
      await runPublish(path, opts)
    })
}

async function runPublish(path: string, opts: PublishOptions): Promise<void> {
  if (opts.free === true && (opts.pinNode ?? []).length === 0) throw new BitcdnError('BITCDN_ERR_USAGE', '--free tells the nodes of --pin-node to serve it free: name at least one --pin-node')
  if (opts.key !== undefined && opts.account !== undefined && opts.key !== opts.account) throw new BitcdnError('BITCDN_ERR_USAGE', `--key ${opts.key} and --account ${opts.account} name different keys: give one`)
  if (opts.description !== undefined && opts.description.length > MAX_DESCRIPTION) {
    throw new BitcdnError('BITCDN_ERR_USAGE', `--description is ${opts.description.length} characters; at most ${MAX_DESCRIPTION}`)
  }
  await statExisting(path, 'content')
  // the tokens first: a typo in a token file should not cost the hashing of a large folder
  const pinNodes = await Promise.all(
    (opts.pinNode ?? []).map(async (n) => {
      let token: string
      try {
        token = (await readFile(n.tokenFile, 'utf8')).trim()
      } catch (err) {
        throw new BitcdnError('BITCDN_ERR_USAGE', `--pin-node ${n.url}: cannot read its token file ${n.tokenFile}: ${(err as Error).message}`)
      }
      const url = new URL(n.url)
      if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) {
        process.stderr.write(`warning: --pin-node ${n.url} is plain HTTP to another host: its admin token crosses the network unencrypted (use https, or an SSH tunnel to the node's loopback)\n`)
      }
      try {
        return createNodeAdminClient({ url: n.url, token })
      } catch (err) {
        throw new BitcdnError('BITCDN_ERR_USAGE', `--pin-node ${n.url}: ${(err as Error).message}`)
      }
    }),
  )
  // the key next: a wrong passphrase is found before the hubs are asked anything
  const key = await unlockKeystoreFile(await findKeystore(bitcdnHome(), opts.account ?? opts.key ?? 'default'), { envVar: opts.passphraseEnv })
  const account = privateKeyToAccount(key.privateKey)

  // every hub's trackers go into the torrent (each hub's catalogue points nodes at its own tracker).
  // No hub answering is an error before anything is made; a hub of several that is down is
  // reported, left out, and makes the exit code 1
  const asked = opts.hub.map((url) => createHubClient({ url }))
  const infos = await Promise.allSettled(asked.map((hub) => hub.info()))
  if (infos.every((i) => i.status === 'rejected')) throw (infos[0] as PromiseRejectedResult).reason
  let failed = 0
  const hubs = asked.filter((hub, i) => {
    const info = infos[i]!
    if (info.status === 'fulfilled') return true
    failed++
    process.stderr.write(failureLine(`${hub.url} left out`, info.reason))
    return false
  })
  const trackers = [...new Set([...infos.flatMap((i) => (i.status === 'fulfilled' ? (i.value.trackers ?? []) : [])), ...(opts.tracker ?? [])])]

  const metainfo = await createTorrentWithProgress(path, { name: opts.name, pieceLength: opts.pieceLength, announce: trackers, urlList: opts.webSeed })
  const output = opts.output ?? `${metainfo.name}.torrent`
  await writeFile(output, metainfo.torrentFile)
  printTorrentSummary(process.stdout, metainfo, { torrent: output, publisher: account.address })

  // every hub and every node is tried: one refusal is reported, the others still get the content
  for (const hub of hubs) {
    try {
      await announceToCatalogue(hub, account, { infoHash: metainfo.infoHash, name: metainfo.name, description: opts.description ?? '', length: metainfo.length, magnet: metainfo.magnetURI })
      process.stdout.write(`announced  to the catalogue of ${hub.url}\n`)
    } catch (err) {
      failed++
      process.stderr.write(failureLine(`${hub.url} did not list ${metainfo.infoHash}`, err))
    }
  }

  const pins: PinOutcome[] = await pinOnNodes(pinNodes, { torrent: metainfo.torrentFile }, { free: opts.free === true })
  for (const p of pins) {
    if (p.ok) process.stdout.write(`pinned     on ${p.url}${p.content.free ? ' (free to unpaid peers)' : ''}\n`)
    else {
      failed++
      process.stderr.write(failureLine(`${p.url} did not pin ${metainfo.infoHash}`, p.error))
    }
  }
  if ((opts.webSeed ?? []).length === 0) {
    const folder = dirname(resolve(path))
    // `seed` finds the content as <dir>/<name>: a torrent renamed with --name needs it there
    const renamed = basename(resolve(path)) !== metainfo.name
    process.stderr.write(
      `note: no web seed: nodes can fetch it only from peers. Seed it until they have it:\n` +
        (renamed ? `  (the torrent is named ${metainfo.name}: seed finds the content as <dir>/${metainfo.name}, so link or copy ${path} there first)\n` : '') +
        `  bitcdn seed ${output} --dir ${folder}${trackers.length > 0 ? '' : ' (and give the torrent a tracker, or --pin-node nodes that can reach you)'}\n`,
    )
  }
  if (failed > 0) process.exitCode = 1
}
