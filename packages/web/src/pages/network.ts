/**
 * Network: live figures from the SSE stream (`/api/v1/stats/live`, `event: stats`) and charts over
 * time from `/api/v1/stats/series`, redrawn on each pushed snapshot.
 */
import { getSeries, type Metric, type Stats } from '../api.js'
import { histogram, lineChart } from '../chart.js'
import { esc, formatBytes, formatTime, formatUsdc } from '../format.js'

const FIGURES: { id: keyof Stats | 'prices'; label: string; fmt: (s: Stats) => string }[] = [
  { id: 'nodesOnline', label: 'Nodes online', fmt: (s) => String(s.nodesOnline) },
  { id: 'bytesServedReported', label: 'Bytes served, reported by nodes', fmt: (s) => formatBytes(s.bytesServedReported) },
  { id: 'bytesServedProven', label: 'Bytes served, proven by claimed cheques', fmt: (s) => formatBytes(s.bytesServedProven) },
  { id: 'deposited', label: 'USDC deposited in escrow', fmt: (s) => formatUsdc(s.deposited) },
  { id: 'claimed', label: 'USDC claimed by nodes', fmt: (s) => formatUsdc(s.claimed) },
  { id: 'priceMedian', label: 'Median price', fmt: (s) => (s.priceMedian ? `${formatUsdc(s.priceMedian)} / GiB` : '—') },
  { id: 'catalogueEntries', label: 'Catalogue entries', fmt: (s) => String(s.catalogueEntries) },
  { id: 'trackerPeers', label: 'Tracker peers', fmt: (s) => String(s.trackerPeers) },
  { id: 'offloadRatio', label: 'Gateway offload ratio (bytes not from the origin)', fmt: (s) => (s.offloadRatio === undefined ? '—' : pct(s.offloadRatio)) },
]

const pct = (v: number) => `${(v * 100).toFixed(1)} %`

const usdc = (v: number) => `${(v / 1e6).toFixed(v >= 1e8 ? 0 : 2)}`
const num = (metric: Metric) => async () => (await getSeries(metric)).map((p) => ({ at: p.at, value: Number(p.value) }))

export function renderNetwork(main: HTMLElement): () => void {
  main.innerHTML = `
  <h1>Network</h1>
  <p>Live from this hub. Bytes served are shown twice: as nodes <em>report</em> them (signed but self-declared) and as
  <em>proven</em> by cheques claimed on-chain (USDC paid to a node ÷ its price), which no node can inflate without paying.
  <span id="live-state" class="muted" role="status">connecting…</span></p>
  <dl class="figures">${FIGURES.map((f) => `<div><dt>${esc(f.label)}</dt><dd id="fig-${f.id}">—</dd></div>`).join('')}</dl>
  <div class="charts">
    <figure><figcaption>Nodes online</figcaption><div class="chart" id="chart-nodes"></div></figure>
    <figure><figcaption>Bytes served: <span class="key reported">reported</span> vs <span class="key proven">proven</span></figcaption><div class="chart" id="chart-bytes"></div></figure>
    <figure><figcaption>USDC: <span class="key deposited">deposited</span> vs <span class="key claimed">claimed</span></figcaption><div class="chart" id="chart-usdc"></div></figure>
    <figure><figcaption>Price distribution of nodes online (USDC / GiB)</figcaption><div class="chart" id="chart-prices"></div></figure>
    <figure><figcaption>Gateways' offload ratio: share of bytes served from the swarm and cache, not the origin</figcaption><div class="chart" id="chart-offload"></div></figure>
  </div>`
  const $ = (id: string) => main.querySelector<HTMLElement>(`#${id}`)!
  let drawing = false
  /** A snapshot came while the series were being fetched: fetch them once more after (else the charts lag one snapshot until the next). */
  let again: Stats | undefined

  const draw = async (s: Stats): Promise<void> => {
    for (const f of FIGURES) $(`fig-${f.id}`).textContent = f.fmt(s)
    $('live-state').textContent = `updated ${formatTime(s.at)}`
    $('chart-prices').innerHTML = histogram('Price distribution', s.prices.map(Number), usdc)
    if (drawing) {
      again = s
      return
    }
    drawing = true
    try {
      const [nodes, rep, prov, dep, cl, off] = await Promise.all(['nodesOnline', 'bytesServedReported', 'bytesServedProven', 'deposited', 'claimed', 'offloadRatio'].map((m) => num(m as Metric)()))
      $('chart-nodes').innerHTML = lineChart('Nodes online over time', [{ label: 'nodes', cls: 'nodes', points: nodes! }], (v) => v.toFixed(0))
      $('chart-bytes').innerHTML = lineChart('Bytes served over time', [{ label: 'reported', cls: 'reported', points: rep! }, { label: 'proven', cls: 'proven', points: prov! }], formatBytes)
      $('chart-usdc').innerHTML = s.deposited === undefined
        ? '<p class="muted">This hub reads no chain, so it has no escrow events to chart.</p>'
        : lineChart('USDC over time', [{ label: 'deposited', cls: 'deposited', points: dep! }, { label: 'claimed', cls: 'claimed', points: cl! }], usdc)
      $('chart-offload').innerHTML = s.gateways?.length
        ? lineChart('Gateway offload ratio over time', [{ label: 'offload', cls: 'offload', points: off! }], pct)
        : '<p class="muted">This hub watches no gateway yet (bitcdn hub --gateway URL).</p>'
    } finally {
      drawing = false
    }
    if (again !== undefined) {
      const next = again
      again = undefined
      await draw(next)
    }
  }

  const source = new EventSource('/api/v1/stats/live')
  source.addEventListener('stats', (e) => {
    draw(JSON.parse((e as MessageEvent<string>).data) as Stats).catch((err: Error) => ($('live-state').textContent = `charts unavailable: ${err.message}`))
  })
  // EventSource reconnects by itself; say so instead of failing silently
  source.onerror = () => ($('live-state').textContent = 'connection lost, reconnecting…')
  return () => source.close()
}
