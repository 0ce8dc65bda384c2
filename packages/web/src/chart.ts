/**
 * Inline SVG charts (no chart library): a line chart over time and a histogram. Fixed viewBox, so
 * the box never changes size as data arrives (no layout shift); every chart has a text title and
 * description for screen readers.
 */
import { esc } from './format.js'

const W = 600
const H = 220
const PAD = { l: 64, r: 12, t: 12, b: 28 }

export interface Line {
  label: string
  /** CSS class giving its colour (see style.css). */
  cls: string
  points: { at: number; value: number }[]
}

const frame = (title: string, desc: string, body: string) =>
  `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}"><title>${esc(title)}</title><desc>${esc(desc)}</desc>${body}</svg>`

/** A line chart; `fmt` formats the y axis labels. */
export function lineChart(title: string, lines: Line[], fmt: (v: number) => string): string {
  const all = lines.flatMap((l) => l.points)
  if (all.length === 0) return frame(title, 'no samples yet', `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="muted">no samples yet</text>`)
  const x0 = Math.min(...all.map((p) => p.at))
  const x1 = Math.max(...all.map((p) => p.at), x0 + 1)
  const yMax = Math.max(...all.map((p) => p.value), 1)
  const sx = (t: number) => PAD.l + ((t - x0) / (x1 - x0)) * (W - PAD.l - PAD.r)
  const sy = (v: number) => H - PAD.b - (v / yMax) * (H - PAD.t - PAD.b)
  const grid = [0, 0.5, 1]
    .map((f) => `<line class="grid" x1="${PAD.l}" x2="${W - PAD.r}" y1="${sy(yMax * f)}" y2="${sy(yMax * f)}"/><text class="axis" x="${PAD.l - 6}" y="${sy(yMax * f) + 4}" text-anchor="end">${esc(fmt(yMax * f))}</text>`)
    .join('')
  const time = (t: number) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
  const xAxis = `<text class="axis" x="${PAD.l}" y="${H - 8}">${time(x0)}</text><text class="axis" x="${W - PAD.r}" y="${H - 8}" text-anchor="end">${time(x1)}</text>`
  const paths = lines
    .map((l) => {
      const d = l.points.map((p, i) => `${i ? 'L' : 'M'}${sx(p.at).toFixed(1)},${sy(p.value).toFixed(1)}`).join('')
      return `<path class="line ${l.cls}" d="${d}"/>`
    })
    .join('')
  const last = lines.map((l) => `${l.label}: ${fmt(l.points[l.points.length - 1]?.value ?? 0)}`).join(', ')
  return frame(title, `latest ${last}`, grid + xAxis + paths)
}

/** A histogram of `values` in up to 8 equal-width bins. */
export function histogram(title: string, values: number[], fmt: (v: number) => string): string {
  if (values.length === 0) return frame(title, 'no nodes online', `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="muted">no nodes online</text>`)
  const lo = Math.min(...values)
  const hi = Math.max(...values)
  const bins = hi === lo ? 1 : Math.min(8, values.length)
  const width = (hi - lo) / bins || 1
  const counts = new Array<number>(bins).fill(0)
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]!++
  const cMax = Math.max(...counts)
  const bw = (W - PAD.l - PAD.r) / bins
  const bars = counts
    .map((c, i) => {
      const h = (c / cMax) * (H - PAD.t - PAD.b)
      const x = PAD.l + i * bw
      const label = bins === 1 ? fmt(lo) : `${fmt(lo + i * width)}–${fmt(lo + (i + 1) * width)}`
      return `<rect class="bar" x="${x + 2}" y="${H - PAD.b - h}" width="${bw - 4}" height="${h}"><title>${esc(label)}: ${c} node(s)</title></rect><text class="axis" x="${x + bw / 2}" y="${H - PAD.b - h - 4}" text-anchor="middle">${c}</text><text class="axis" x="${x + bw / 2}" y="${H - 8}" text-anchor="middle">${esc(label)}</text>`
    })
    .join('')
  return frame(title, `${values.length} nodes, prices from ${fmt(lo)} to ${fmt(hi)}`, bars)
}
