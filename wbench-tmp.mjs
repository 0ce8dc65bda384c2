// warm-path probe: gateway in-process, every piece cached, 1 MiB ranges and whole-file reads
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { randomFillSync } from 'node:crypto'
import { join } from 'node:path'
import http from 'node:http'
import { createTorrent } from '@bitcdn/content'
import { createGateway } from '@bitcdn/gateway'
const MiB = 2 ** 20, SIZE = 64 * MiB
const d = mkdtempSync('/tmp/repro/w-')
const data = randomFillSync(Buffer.alloc(SIZE))
writeFileSync(join(d, 'f.bin'), data)
const m = await createTorrent(join(d, 'f.bin'), { pieceLength: 256 * 1024 })
const gw = createGateway({ cacheDir: join(d, 'cache'), port: 0 })({})
await gw.start()
for (let i = 0; i < m.pieceCount; i++) await gw.cache.put(m.infoHash, i, data.subarray(i * m.pieceLength, (i + 1) * m.pieceLength))
await gw.stop(); await gw.start() // the pieces are known from the cache at add
await gw.content.add(m.torrentFile)
const url = `${gw.url}/t/${m.infoHash}`
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
const get = (headers) => new Promise((res, rej) => http.get(url, { agent, headers }, (r) => { let n = 0; r.on('data', (c) => (n += c.length)); r.on('end', () => res(n)) }).on('error', rej))
for (let round = 0; round < 3; round++) {
  let t = process.hrtime.bigint(), n = 0
  for (let i = 0; i < 48; i++) { const s = (i * 1_300_007) % (SIZE - MiB); n += await get({ range: `bytes=${s}-${s + MiB - 1}` }) }
  const rMs = Number(process.hrtime.bigint() - t) / 1e6
  t = process.hrtime.bigint()
  let w = 0; for (let i = 0; i < 3; i++) w += await get({})
  const wMs = Number(process.hrtime.bigint() - t) / 1e6
  console.log(`ranges ${(n / MiB / (rMs / 1000)).toFixed(0)} MiB/s  whole ${(w / MiB / (wMs / 1000)).toFixed(0)} MiB/s`)
}
agent.destroy(); await gw.stop(); rmSync(d, { recursive: true, force: true }); process.exit(0)
