/**
 * The error codes the CLI raises itself (the packages it drives raise their own; the CLI prints
 * those unchanged). Each is documented under `## cli` in docs/errors.md.
 */
import { BitcdnError } from '@bitcdn/core'
import { formatTokenAmount } from '@bitcdn/pay'

/** Stable codes this package throws. */
export const CliErrorCode = {
  /** `bitcdn get`: no peer, tracker or web seed delivered a byte for `--timeout` seconds. */
  noSource: 'BITCDN_ERR_NO_SOURCE',
  /** A listen port is taken by another process (the same code the tracker server uses). */
  portInUse: 'BITCDN_ERR_PORT_IN_USE',
  /** `bitcdn get` finished but a file on disk does not match the torrent's piece hashes. */
  verifyFailed: 'BITCDN_ERR_VERIFY_FAILED',
  /** `bitcdn get --wallet`: every seller found charges more than `--max-price`. */
  noSeller: 'BITCDN_ERR_NO_SELLER',
  /** `bitcdn get --wallet`: the payer has nothing in the escrow, so no node would serve it. */
  escrowEmpty: 'BITCDN_ERR_ESCROW_EMPTY',
  /** A bad flag or argument (commander's usage errors); exit code 2. */
  usage: 'BITCDN_ERR_USAGE',
  /** An error that carries no BitCDN code: a bug or an unmapped library error. */
  unexpected: 'BITCDN_ERR_UNEXPECTED',
} as const

export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode]

/**
 * The error `bitcdn get` fails with when nothing arrives for too long.
 * @example
 * throw noSource(30_000, { peers: 1, trackers: 0, webSeeds: 0 })
 */
export function noSource(timeoutMs: number, tried: { peers: number; trackers: number; webSeeds: number }, sellers = 0): BitcdnError {
  const what = `${tried.peers} peer(s), ${tried.trackers} tracker(s), ${tried.webSeeds} web seed(s)`
  // peers that sell over bitcdn_pay serve a downloader without a wallet nothing: say so
  const hint = sellers > 0 ? `${sellers} of the peers sell data and do not serve for free: pay them with --wallet NAME --budget USDC` : 'check the addresses or raise --timeout'
  return new BitcdnError(CliErrorCode.noSource, `no source delivered any data for ${Math.round(timeoutMs / 1000)} s (tried ${what}); ${hint}`, {
    details: { timeoutMs, ...tried, sellers },
  })
}

/**
 * The error `bitcdn get` fails with at once when nothing at all names a source: no peer, no
 * tracker or web seed in the torrent or the flags, and no DHT.
 * @example
 * if (sources === 0) throw nothingToAsk()
 */
export function nothingToAsk(): BitcdnError {
  return new BitcdnError(
    CliErrorCode.noSource,
    'no source to download from: the torrent names no tracker or web seed; give --peer, --tracker, --web-seed or --dht',
  )
}

/**
 * Turns a listen failure because the port is taken (raw EADDRINUSE, or a package's error caused
 * by one) into one line that names the port and the flag to change; anything else is returned as
 * is.
 * @example
 * await server.start().catch((err) => { throw listenError(err, 8000) })
 * await hub.start().catch((err) => { throw listenError(err, 8000, '--tracker-port') })
 */
export function listenError(err: unknown, port: number, flag = '--port'): unknown {
  const codeOf = (e: unknown): unknown => (e as { code?: unknown } | null)?.code
  const inUse =
    codeOf(err) === 'EADDRINUSE' || codeOf(err) === CliErrorCode.portInUse || codeOf((err as { cause?: unknown } | null)?.cause) === 'EADDRINUSE'
  if (!inUse) return err
  return new BitcdnError(CliErrorCode.portInUse, `port ${port} is already in use; pick another with ${flag}`, {
    details: { port },
    cause: err,
  })
}

/**
 * The error `bitcdn get --wallet` fails with when the only sellers it found charge more than its
 * maximum price.
 * @example throw noSeller(500_000n, [1_000_000n, 2_000_000n], 'USDC')
 */
export function noSeller(maxPricePerGiB: bigint, prices: readonly bigint[], symbol: string): BitcdnError {
  const fmt = (u: bigint) => formatTokenAmount(u, 6)
  const seen = [...new Set(prices)].sort((a, b) => (a < b ? -1 : 1)).map(fmt).join(', ')
  return new BitcdnError(
    CliErrorCode.noSeller,
    `no seller under --max-price ${fmt(maxPricePerGiB)} ${symbol}/GiB: ${prices.length} seller(s) asked ${seen} ${symbol}/GiB; raise --max-price or find other nodes`,
    { details: { maxPricePerGiB, prices } },
  )
}
