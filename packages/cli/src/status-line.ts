/**
 * A status line for long-running commands (seed): redrawn in place on a terminal, printed as a
 * plain line at most every `intervalMs` elsewhere so logs do not fill up.
 */

export interface StatusLine {
  /** Show `text` as the current status. */
  update(text: string): void
  /** Print a line above the status (warnings). */
  note(text: string): void
  /** Leave the cursor on a fresh line. */
  done(): void
  /** Erase the status on a terminal (a transient one, such as hashing progress). */
  clear(): void
}

/**
 * @example
 * const status = createStatusLine(process.stderr)
 * status.update('seeding  peers 2  uploaded 1.0 MiB')
 * // init.intervalMs: least time between plain lines off a terminal (default 10 s);
 * // init.quietMs: print no plain line before this much time has passed
 */
export function createStatusLine(
  out: { write(text: string): unknown; isTTY?: boolean },
  init: { intervalMs?: number; quietMs?: number } = {},
): StatusLine {
  const tty = out.isTTY === true
  const intervalMs = init.intervalMs ?? 10_000
  // off a terminal, a status that is over quickly is not worth a log line
  let last = init.quietMs ? Date.now() + init.quietMs - intervalMs : 0
  let drawn = false
  return {
    update(text) {
      if (tty) {
        out.write(`\r\x1b[2K${text}`)
        drawn = true
        return
      }
      const now = Date.now()
      if (now - last < intervalMs) return
      last = now
      out.write(`${text}\n`)
    },
    note(text) {
      out.write(tty && drawn ? `\r\x1b[2K${text}\n` : `${text}\n`)
      drawn = false
    },
    done() {
      if (tty && drawn) out.write('\n')
      drawn = false
    },
    clear() {
      if (tty && drawn) out.write('\r\x1b[2K')
      drawn = false
    },
  }
}
