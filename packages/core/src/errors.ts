/**
 * The one error base every BitCDN package builds on (viem-style): a literal `name`, a stable
 * `code` (`BITCDN_ERR_*`) callers switch on, a message a user understands, structured `details`
 * and a `cause` chain. Each package declares its own codes in its `errors.ts`; `docs/errors.md`
 * lists every code (a test keeps it complete).
 */

export interface BitcdnErrorOptions {
  /** The lower-level error that led to this one. */
  cause?: unknown
  /** Machine-readable facts about the failure (numbers, ids); never secrets. */
  details?: Record<string, unknown>
}

/**
 * Base class of every error BitCDN throws on purpose.
 * @example
 * throw new BitcdnError('BITCDN_ERR_TORRENT_INVALID', 'torrent file is not valid bencode')
 */
export class BitcdnError extends Error {
  override readonly name: string = 'BitcdnError'
  readonly code: string
  readonly details: Record<string, unknown>

  constructor(code: string, message: string, options: BitcdnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.details = options.details ?? {}
  }

  /** Link to the documented meaning of this code. */
  get docsPath(): string {
    return `docs/errors.md#${this.code.toLowerCase()}`
  }
}

/**
 * True when `err` is a BitCDN error with the given code. Callers check codes, not classes, so
 * errors stay comparable across package copies.
 * @example
 * if (hasCode(err, 'BITCDN_ERR_TORRENT_INVALID')) process.exitCode = 2
 */
export function hasCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code
}

/**
 * Short user-facing text for any thrown value: the message of a BitCDN error, else the
 * error's own message. Never a stack.
 * @example
 * console.error(`bitcdn: ${describeError(err)}`)
 */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}

/**
 * A package's error builder over its table of codes: `(key, message, details?, cause?)`. Each
 * package keeps its codes in one `as const` table (documented in docs/errors.md) and builds its
 * errors through this, so the shape of every BitCDN error is decided here once.
 * @example
 * const SwarmErrorCode = { stopped: 'BITCDN_ERR_SWARM_STOPPED' } as const
 * export const swarmError = errorFactory(SwarmErrorCode)
 * throw swarmError('stopped', 'the client was stopped')
 */
export function errorFactory<const Codes extends Record<string, string>>(codes: Codes) {
  return (code: keyof Codes, message: string, details?: Record<string, unknown>, cause?: unknown): BitcdnError =>
    new BitcdnError(codes[code] as string, message, { details, cause })
}
