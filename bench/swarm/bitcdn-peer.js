#!/usr/bin/env node
// One BitCDN peer in its own process, for the swarm benchmark: the BitCDN counterpart of
// lt-client.py with the same command line and the same JSON lines on stdout, so the suite drives
// both the same way and measures each process apart.
//
//   node bench/swarm/bitcdn-peer.js seed --torrent T --dir D [--port N]
//   node bench/swarm/bitcdn-peer.js get  --torrent T --dir D --peer 127.0.0.1:P [--peer ...]
import { readFileSync, readdirSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { parseTorrentFile } from '@bitcdn/content'
import { createSwarmClient } from '@bitcdn/swarm'

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    torrent: { type: 'string' },
    dir: { type: 'string' },
    peer: { type: 'string', multiple: true, default: [] },
    port: { type: 'string', default: '0' },
    interval: { type: 'string', default: '1' },
  },
})
const mode = positionals[0]
const emit = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`)
// CPU seconds per thread (Linux /proc): the main loop apart from the rest (libuv pool, V8 helpers, workers)
const threadCpu = () => {
  const out = {}
  try {
    const tick = 100 // USER_HZ
    for (const tid of readdirSync('/proc/self/task')) {
      const comm = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim()
      const name = Number(tid) === process.pid ? 'main' : comm === 'node' ? 'other' : comm
      const f = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')
      out[name] = Number(((out[name] ?? 0) + (Number(f[11]) + Number(f[12])) / tick).toFixed(2))
    }
  } catch {
    return undefined
  }
  return out
}
const cpuSeconds = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

try {
  const metainfo = parseTorrentFile(readFileSync(values.torrent))
  const client = createSwarmClient({ host: '127.0.0.1', port: Number(values.port) })
  await client.start()
  const started = performance.now()
  const cpuStart = cpuSeconds()
  // no resume journal on either side: seeders recheck their data (the suite waits for that before
  // the clock starts), downloaders start empty, and a benchmark leaves nothing in ~/.bitcdn
  const torrent = await client.add(metainfo, { dir: values.dir, peers: values.peer, resume: false })
  torrent.on('error', (err) => {
    emit({ event: 'error', message: err.message })
    process.exit(1)
  })
  emit({ event: 'listening', port: client.port, infoHash: metainfo.infoHash })
  const report = () => {
    const s = torrent.stats()
    emit({ event: 'progress', progress: s.progress, state: s.progress >= 1 ? 'seeding' : 'downloading', peers: s.peers, downloadRate: s.downloadRate, uploadRate: s.uploadRate, uploaded: s.uploaded, downloaded: s.downloaded })
  }
  const timer = setInterval(report, Number(values.interval) * 1000)
  if (mode === 'get') {
    // when the last piece was verified and written, before the final flush (fdatasync) that
    // 'done' waits for: libtorrent reports finished without one, so both figures are kept
    let stored = 0
    let storedSeconds
    torrent.on('piece', () => {
      if (++stored === metainfo.pieceCount) storedSeconds = (performance.now() - started) / 1000
    })
    torrent.whenDone().then(async () => {
      const seconds = (performance.now() - started) / 1000
      const s = torrent.stats()
      emit({ event: 'done', seconds, storedSeconds, bytes: metainfo.length, cpuSeconds: cpuSeconds() - cpuStart, cpuUserSeconds: process.resourceUsage().userCPUTime / 1e6, cpuSystemSeconds: process.resourceUsage().systemCPUTime / 1e6, threadCpuSeconds: threadCpu(), peakRssBytes: process.resourceUsage().maxRSS * 1024, downloadedPayload: s.downloaded })
      clearInterval(timer)
      await client.stop()
      process.exit(0)
    }, (err) => {
      emit({ event: 'error', message: err.message })
      process.exit(1)
    })
  } else {
    const stop = async () => {
      clearInterval(timer)
      emit({ event: 'stopped', uploaded: torrent.stats().uploaded, cpuSeconds: cpuSeconds() - cpuStart, threadCpuSeconds: threadCpu() })
      await client.stop()
      process.exit(0)
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  }
} catch (err) {
  emit({ event: 'error', message: err?.message ?? String(err) })
  process.exit(1)
}
