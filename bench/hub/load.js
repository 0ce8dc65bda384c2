// The hub benchmark's load generator: a small Node client keeping many requests in flight.
//   httpAnnounces: `concurrency` keep-alive loops of BEP 3 GET /announce (compact), each a random
//     peer of one of `torrents` swarms; counts answers without a failure reason.
//   udpAnnounces: BEP 15 — `sockets` UDP sockets, each connects once, then keeps `inflight`
//     announces outstanding (matched by transaction id; a lost packet times out after 1 s).
//   posts: `concurrency` keep-alive loops POSTing pre-built JSON bodies once each.
// Each returns { ok, failed, seconds, perSecond }.
import http from 'node:http'
import dgram from 'node:dgram'
import { randomBytes } from 'node:crypto'

const pct = (b) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')

function get(agent, url) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve(res.statusCode === 200 && !Buffer.concat(chunks).includes('failure reason')))
    })
    req.on('error', () => resolve(false))
  })
}

export async function httpAnnounces({ url, infoHashes, seconds, concurrency }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  const hashes = infoHashes.map((h) => pct(Buffer.from(h, 'hex')))
  let ok = 0
  let failed = 0
  const start = performance.now()
  const until = start + seconds * 1000
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      let i = w
      while (performance.now() < until) {
        const peer = randomBytes(20)
        const q = `info_hash=${hashes[i++ % hashes.length]}&peer_id=${pct(peer)}&port=${1024 + (peer[0] << 8 | peer[1]) % 60000}&uploaded=0&downloaded=0&left=${peer[2] & 1 ? 0 : 1000}&compact=1&numwant=50&event=started`
        if (await get(agent, `${url}?${q}`)) ok++
        else failed++
      }
    }),
  )
  const s = (performance.now() - start) / 1000
  agent.destroy()
  return { ok, failed, seconds: s, perSecond: ok / s }
}

export async function udpAnnounces({ url, infoHashes, seconds, sockets, inflight }) {
  const { hostname, port } = new URL(url)
  const hashes = infoHashes.map((h) => Buffer.from(h, 'hex'))
  let ok = 0
  let failed = 0
  const start = performance.now()
  const until = start + seconds * 1000
  await Promise.all(
    Array.from({ length: sockets }, async (_, k) => {
      const sock = dgram.createSocket('udp4')
      const pending = new Map()
      sock.on('message', (msg) => {
        const tid = msg.readUInt32BE(4)
        const p = pending.get(tid)
        if (p) {
          pending.delete(tid)
          p(msg)
        }
      })
      let nextTid = (k << 24) >>> 0
      const ask = (build) =>
        new Promise((resolve) => {
          const tid = (nextTid = (nextTid + 1) >>> 0)
          const t = setTimeout(() => {
            pending.delete(tid)
            resolve(undefined)
          }, 1000)
          pending.set(tid, (m) => {
            clearTimeout(t)
            resolve(m)
          })
          sock.send(build(tid), Number(port), hostname)
        })
      const connect = async () => {
        for (;;) {
          const r = await ask((tid) => {
            const b = Buffer.alloc(16)
            b.writeBigUInt64BE(0x41727101980n, 0)
            b.writeUInt32BE(0, 8)
            b.writeUInt32BE(tid, 12)
            return b
          })
          if (r && r.readUInt32BE(0) === 0) return r.readBigUInt64BE(8)
        }
      }
      const conn = await connect()
      let i = k
      await Promise.all(
        Array.from({ length: inflight }, async () => {
          while (performance.now() < until) {
            const r = await ask((tid) => {
              const b = Buffer.alloc(98)
              b.writeBigUInt64BE(conn, 0)
              b.writeUInt32BE(1, 8)
              b.writeUInt32BE(tid, 12)
              hashes[i++ % hashes.length].copy(b, 16)
              const peer = randomBytes(20)
              peer.copy(b, 36)
              b.writeBigUInt64BE(0n, 56)
              b.writeBigUInt64BE(peer[2] & 1 ? 0n : 1000n, 64)
              b.writeBigUInt64BE(0n, 72)
              b.writeUInt32BE(2, 80) // started
              b.writeUInt32BE(0, 84)
              b.writeUInt32BE(peer[3], 88) // key
              b.writeInt32BE(50, 92)
              b.writeUInt16BE(1024 + (peer[0] << 8 | peer[1]) % 60000, 96)
              return b
            })
            if (r && r.readUInt32BE(0) === 1) ok++
            else failed++
          }
        }),
      )
      sock.close()
    }),
  )
  const s = (performance.now() - start) / 1000
  return { ok, failed, seconds: s, perSecond: ok / s }
}

export async function posts({ url, bodies, concurrency }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  const { hostname, port, pathname } = new URL(url)
  let ok = 0
  let failed = 0
  let next = 0
  const post = (body) =>
    new Promise((resolve) => {
      const req = http.request({ agent, hostname, port, path: pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode === 201 || res.statusCode === 200))
      })
      req.on('error', () => resolve(false))
      req.end(body)
    })
  const start = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        if (await post(bodies[next++])) ok++
        else failed++
      }
    }),
  )
  const s = (performance.now() - start) / 1000
  agent.destroy()
  return { ok, failed, seconds: s, perSecond: ok / s }
}
