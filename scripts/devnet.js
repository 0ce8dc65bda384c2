#!/usr/bin/env node
// `npm start`: the fullest BitCDN network that exists so far, on this machine. Today that is a
// local chain (anvil with the escrow and test stablecoins deployed; its deployment file in
// .devnet/home), a tracker, two seeders of sample content and a downloader that fetches it, each a
// real `bitcdn` process; they keep running until Ctrl-C so other clients can join.
//
// Each service is one entry in SERVICES: how to start it, which line says it is ready, and what
// it tells the services after it (an announce URL, a port). Later stages add the chain, the hub
// and the gateway as more entries. Services stop in reverse order on Ctrl-C.
//
// State lives in .devnet/ (gitignored): the sample content, its .torrent and the downloads.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'packages', 'cli', 'bin', 'bitcdn.js')
const state = join(root, '.devnet')
const contentDir = join(state, 'content')
const torrentPath = join(state, 'sample-site.torrent')
const downloads = join(state, 'downloads')
const MiB = 1024 * 1024

// Fixed ports so the printed commands stay valid between runs; override if they are taken.
const CHAIN_PORT = Number(process.env.BITCDN_DEVNET_CHAIN_PORT ?? 8545)
const TRACKER_PORT = Number(process.env.BITCDN_DEVNET_TRACKER_PORT ?? 8000)
const SEEDER_PORTS = [Number(process.env.BITCDN_DEVNET_SEEDER_PORT ?? 6881), Number(process.env.BITCDN_DEVNET_SEEDER_PORT ?? 6881) + 1]

/**
 * The network, in start order. Each entry:
 * - `args(ctx)`: the `bitcdn` command line (ctx holds what earlier services reported);
 * - `ready`: a line the service prints once it serves; its match goes to `onReady(match, ctx)`;
 * - `oneShot`: the service finishes by itself (the downloader) and is awaited, not kept running;
 * - `tty`: let it draw on the terminal directly (progress bar) instead of prefixing its lines.
 */
const SERVICES = [
  {
    // settlement layer: every later service (node, gateway, hub) reads the deployment file it writes
    name: 'chain',
    args: () => ['chain', '--port', String(CHAIN_PORT), '--accounts', '4'],
    ready: /^deployment\s+(\S+)$/m,
    onReady: (m, ctx) => {
      ctx.deployment = m[1]
    },
  },
  {
    name: 'tracker',
    args: () => ['tracker', '--port', String(TRACKER_PORT)],
    ready: /^announce\s+(http:\/\/\S+)$/m,
    onReady: (m, ctx) => {
      ctx.announce = m[1]
    },
  },
  {
    name: 'make torrent',
    oneShot: true,
    args: (ctx) => ['create', join(contentDir, 'sample-site'), '--tracker', ctx.announce, '-o', torrentPath],
    ready: /^magnet\s+(\S+)$/m,
    onReady: (m, ctx) => {
      ctx.magnet = m[1]
    },
  },
  ...SEEDER_PORTS.map((port, i) => ({
    name: `seeder ${i + 1}`,
    args: () => ['seed', torrentPath, '--dir', contentDir, '--port', String(port)],
    ready: /^listening\s+(\S+)$/m,
    onReady: (m, ctx) => {
      ctx.seeders.push(m[1])
    },
  })),
  {
    name: 'downloader',
    oneShot: true,
    tty: true,
    // only the tracker tells it where the seeders are: discovery is part of what is shown
    args: () => ['get', torrentPath, '-o', join(downloads, 'first-fetch')],
    ready: /^done /m,
  },
]

function makeSampleContent() {
  const site = join(contentDir, 'sample-site')
  if (existsSync(join(site, 'video', 'intro.bin'))) return
  console.log(`devnet: generating sample content in ${relative(process.cwd(), site)}`)
  mkdirSync(join(site, 'video'), { recursive: true })
  mkdirSync(join(site, 'img'), { recursive: true })
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>BitCDN sample</title><h1>Served by a swarm</h1><video src="video/intro.bin"></video>\n')
  writeFileSync(join(site, 'video', 'intro.bin'), randomBytes(24 * MiB))
  for (let i = 1; i <= 3; i++) writeFileSync(join(site, 'img', `photo-${i}.bin`), randomBytes(300_000 + i * 1000))
}

/** Starts one service; resolves once it reported ready (or, for a one-shot, finished). */
function startService(service, ctx, running) {
  const child = spawn(process.execPath, [cli, ...service.args(ctx)], {
    cwd: root,
    // own process group: Ctrl-C reaches only us, and we stop the services in order
    detached: true,
    stdio: ['ignore', 'pipe', service.tty ? 'inherit' : 'pipe'],
    // the network's own state (resume journals; later keys and chain deployments) stays in .devnet
    env: { ...process.env, BITCDN_HOME: join(state, 'home') },
  })
  const entry = { service, child, exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))) }
  if (!service.oneShot) running.push(entry)
  let seen = ''
  return new Promise((resolve, reject) => {
    let ready = !service.ready
    const onText = (text) => {
      for (const line of text.split('\n')) if (line.trim()) process.stdout.write(`[${service.name}] ${line}\n`)
      seen += text
      const m = !ready && service.ready ? service.ready.exec(seen) : null
      if (m) {
        ready = true
        service.onReady?.(m, ctx)
        if (!service.oneShot) resolve(entry)
      }
    }
    child.stdout.setEncoding('utf8').on('data', onText)
    child.stderr?.setEncoding('utf8').on('data', onText)
    void entry.exited.then(({ code, signal }) => {
      if (service.oneShot && code === 0 && ready) resolve(entry)
      else if (!ctx.stopping) reject(new Error(`${service.name} exited (${code ?? signal}) before it was ready`))
    })
  })
}

async function stopAll(running) {
  for (const { service, child, exited } of [...running].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue
    // SIGTERM, not SIGINT: a shell that started us in the background made SIGINT ignored, and
    // the services inherit that
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    const { code, signal } = await exited
    clearTimeout(timer)
    console.log(`devnet: ${service.name} stopped (${code ?? signal})`)
  }
}

async function main() {
  if (!existsSync(join(root, 'packages', 'cli', 'dist', 'main.js'))) {
    console.error('devnet: the CLI is not built; run `npm start` (it builds first) or `npm run build`')
    process.exit(1)
  }
  makeSampleContent()
  rmSync(downloads, { recursive: true, force: true })
  const ctx = { seeders: [], stopping: false }
  const running = []
  let interrupted = false
  const onSignal = () => {
    if (interrupted) process.exit(130) // second Ctrl-C: do not wait
    interrupted = true
    ctx.stopping = true
    console.log('\ndevnet: stopping ...')
    void stopAll(running).then(() => process.exit(0))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  // a crash of this script must not leave orphaned services in their own process groups
  process.on('exit', () => {
    for (const { child } of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })

  try {
    for (const service of SERVICES) {
      if (ctx.stopping) return
      await startService(service, ctx, running)
    }
  } catch (err) {
    if (ctx.stopping) return
    console.error(`devnet: ${err.message}`)
    ctx.stopping = true
    await stopAll(running)
    process.exit(1)
  }

  console.log(`
devnet is up: chain http://127.0.0.1:${CHAIN_PORT} (deployment ${relative(process.cwd(), ctx.deployment)}), tracker ${ctx.announce}, seeders ${ctx.seeders.join(', ')}
sample content: ${relative(process.cwd(), join(contentDir, 'sample-site'))} (downloaded and verified into ${relative(process.cwd(), join(downloads, 'first-fetch'))})

magnet: ${ctx.magnet}

fetch it from another terminal:
  npx bitcdn get '${ctx.magnet}' -o ./downloads
or with the .torrent and a seeder directly:
  npx bitcdn get ${relative(process.cwd(), torrentPath)} -o ./downloads --peer ${ctx.seeders[0]}

wallet commands against the local chain (test USDC is minted to anvil's public test accounts):
  BITCDN_HOME=${relative(process.cwd(), join(state, 'home'))} npx bitcdn wallet --help

Ctrl-C stops the network.`)
}

await main()
