/** Formatting of the hub's decimal-string amounts (bytes, token base units with 6 decimals). */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

/** `1536` → `1.5 KiB`. Accepts the hub's decimal strings. */
export function formatBytes(v: string | number | bigint): string {
  let n = Number(v)
  let i = 0
  while (n >= 1024 && i < UNITS.length - 1) {
    n /= 1024
    i++
  }
  return `${i === 0 ? n.toFixed(0) : n.toFixed(n < 10 ? 2 : 1)} ${UNITS[i]}`
}

/** Token base units (6 decimals) → `1.234567 USDC`, trailing zeros trimmed, exact (bigint). */
export function formatUsdc(v: string | bigint | undefined): string {
  if (v === undefined) return '—'
  const b = BigInt(v)
  const whole = b / 1_000_000n
  const frac = (b % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '')
  return `${whole}${frac ? `.${frac}` : ''} USDC`
}

/** ms since the epoch → `14:03:22` (local time). */
export function formatTime(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
}

/** Escapes text for innerHTML. Everything from the API goes through this. */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
