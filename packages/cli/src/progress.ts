/**
 * Download progress on screen. On a terminal, one line redrawn in place (a bar, percent, rate,
 * peers, ETA); anywhere else (a pipe, a log file, CI), a plain line every few seconds, so logs stay
 * readable and nothing depends on cursor control codes.
 */
import { formatBytes } from '@bitcdn/core'
import { createStatusLine } from './status-line.js'

/** What the progress line shows; every figure is a plain number (bytes, bytes/s). */
export interface ProgressSnapshot {
  /** Verified bytes we hold. */
  have: number
  /** Total bytes of the torrent (0 while metadata is unknown). */
  total: number
  /** Payload download rate, bytes per second. */
  downloadRate: number
  /** Connected BitTorrent peers. */
  peers: number
  /** Active web seeds. */
  webSeeds?: number
}

/**
 * Seconds left at the current rate, or undefined when it cannot be estimated.
 * @example etaSeconds({ have: 50, total: 100, downloadRate: 10, peers: 1 }) // 5
 */
export function etaSeconds(s: ProgressSnapshot): number | undefined {
  if (s.total <= 0 || s.downloadRate <= 0) return undefined
  return Math.max(0, (s.total - s.have) / s.downloadRate)
}

/**
 * `h:mm:ss` or `m:ss`; `--:--` when unknown.
 * @example formatDuration(75) // '1:15'
 */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--:--'
  const t = Math.round(seconds)
  const h = Math.floor(t / 3600)
  const m = Math.floor((t % 3600) / 60)
  const sec = String(t % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`
}

/**
 * A rate in binary units per second.
 * @example formatRate(1572864) // '1.5 MiB/s'
 */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`
}

function percent(s: ProgressSnapshot): string {
  if (s.total <= 0) return '  ?.?%'
  return `${((100 * s.have) / s.total).toFixed(1).padStart(5)}%`
}

function sources(s: ProgressSnapshot): string {
  return `peers ${s.peers}${s.webSeeds ? ` web ${s.webSeeds}` : ''}`
}

/**
 * The one-line form for terminals: `[#####-----]  50.0%  1.5 MiB/s  peers 3  ETA 0:42`.
 * @example renderBar(snapshot, 80)
 */
export function renderBar(s: ProgressSnapshot, columns: number): string {
  const text = `${percent(s)}  ${formatRate(s.downloadRate).padStart(11)}  ${sources(s)}  ETA ${formatDuration(etaSeconds(s))}`
  const barWidth = Math.max(10, Math.min(40, columns - text.length - 4))
  const filled = s.total > 0 ? Math.min(barWidth, Math.floor((barWidth * s.have) / s.total)) : 0
  return `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${text}`
}

/**
 * The plain form for logs: `progress 50.0% 5.0 MiB/10.0 MiB 1.5 MiB/s peers 3 eta 0:03`.
 * @example renderLine(snapshot)
 */
export function renderLine(s: ProgressSnapshot): string {
  return `progress ${percent(s).trim()} ${formatBytes(s.have)}/${formatBytes(s.total)} ${formatRate(s.downloadRate)} ${sources(s)} eta ${formatDuration(etaSeconds(s))}`
}

export interface ProgressReporterInit {
  /** Milliseconds between plain lines when not on a terminal. @default 5000 */
  lineIntervalMs?: number
  /** Milliseconds between redraws on a terminal. @default 250 */
  redrawIntervalMs?: number
}

export interface ProgressReporter {
  /** Draw now unless drawn within the interval. */
  update(s: ProgressSnapshot): void
  /** Print a message above the bar (warnings) without garbling it. */
  note(line: string): void
  /** Draw the final state and leave the cursor on a fresh line. */
  finish(s: ProgressSnapshot): void
  /** Leave the cursor on a fresh line without drawing (on failure, before the error prints). */
  end(): void
}

/**
 * A reporter drawing the bar on a terminal (`out.isTTY`) and plain lines elsewhere.
 * @example
 * const progress = createProgressReporter(process.stderr)
 * setInterval(() => progress.update(snapshot()), 250)
 */
export function createProgressReporter(
  out: { write(text: string): unknown; isTTY?: boolean; columns?: number },
  init: ProgressReporterInit = {},
): ProgressReporter {
  const tty = out.isTTY === true
  const line = createStatusLine(out, { intervalMs: 0 })
  const interval = tty ? (init.redrawIntervalMs ?? 250) : (init.lineIntervalMs ?? 5000)
  let last = 0
  const render = (s: ProgressSnapshot): string => (tty ? renderBar(s, out.columns || 80) : renderLine(s))
  return {
    update(s) {
      const now = Date.now()
      if (now - last < interval) return
      last = now
      line.update(render(s))
    },
    note(text) {
      line.note(text)
    },
    finish(s) {
      line.update(render(s))
      line.done()
    },
    end() {
      line.done()
    },
  }
}
