#!/usr/bin/env node
// One hub for the hub benchmark, in its own process so the load generator does not share its
// event loop: `node hub-process.js <sqlite-file | postgres://url>`. Prints one JSON line
// {"api": url, "http": announce url, "udp": url} once listening; stops on SIGTERM.
import { createHub, openPgHubStore, openSqliteHubStore } from '@bitcdn/hub'

const target = process.argv[2]
const store = target.startsWith('postgres://') ? openPgHubStore(target) : openSqliteHubStore(target)
// statistics and probes off the hot path: the benchmark measures announces and registry writes
const hub = await createHub({ hubId: 'bench', port: 0, trackerPort: 0, probeIntervalMs: 0, statsIntervalMs: 3_600_000 }, { store })
await hub.start()
const http = hub.trackers.find((t) => t.startsWith('http'))
const udp = hub.trackers.find((t) => t.startsWith('udp'))
console.log(JSON.stringify({ api: hub.url, http, udp }))
process.on('SIGTERM', () => void hub.stop().then(() => process.exit(0)))
