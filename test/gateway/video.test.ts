/// <reference lib="dom" />
/**
 * A `<video>` element in headless Chromium (Debian's `chromium`, driven by playwright-core) plays
 * and seeks a WebM file served by the gateway from a seeder: the browser's own range requests
 * (open-ended, then from the seek point) against real HTTP.
 */
import { existsSync } from 'node:fs'
import { copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, describe, expect, it } from 'vitest'
import { createTorrent } from '@bitcdn/content'
import { createGateway, type Gateway } from '@bitcdn/gateway'
import { addr, harness } from '../swarm/swarm-helpers.js'
import { request } from './helpers.js'

const CHROMIUM = '/usr/bin/chromium'
// 8 s of VP8 test pattern, 10 fps, a keyframe each second, with cues (made once by ffmpeg:
// ffmpeg -f lavfi -i testsrc=size=320x240:rate=10 -t 8 -c:v libvpx -b:v 150k -g 10 clip.webm)
const FIXTURE = join(import.meta.dirname, 'fixtures', 'clip.webm')
const h = harness()
let browser: Browser | undefined
let gw: Gateway | undefined

if (!existsSync(CHROMIUM)) console.warn(`video test skipped: ${CHROMIUM} is not installed (apt-get install chromium; .ci/run does)`)

afterAll(async () => {
  await browser?.close()
  await gw?.stop()
  await h.cleanup()
})

describe.runIf(existsSync(CHROMIUM))('video through the gateway', () => {
  it('plays and seeks a <video> in headless Chromium', async () => {
    const src = await h.tempDir()
    await copyFile(FIXTURE, join(src, 'clip.webm'))
    const m = await createTorrent(join(src, 'clip.webm'), { pieceLength: 16 * 1024 })
    expect(m.pieceCount).toBeGreaterThan(4)
    const seeder = await h.client()
    await seeder.add(m, { dir: src })
    gw = createGateway({ cacheDir: await h.tempDir(), port: 0, swarm: { stateDir: await h.stateDir() }, defaults: { peers: [addr(seeder)] } })()
    await gw.start()
    await gw.content.add(m.torrentFile)
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--disable-gpu'] })
    const page = await browser.newPage()
    await page.setContent(`<video id="v" muted preload="auto" src="${gw.url}/t/${m.infoHash}"></video>`)
    const played = await page.evaluate(async () => {
      const v = document.getElementById('v') as HTMLVideoElement
      const timeout = (ms: number, what: string) => new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: timed out (error ${v.error?.code} ${v.error?.message})`)), ms))
      await Promise.race([v.play(), timeout(20_000, 'play')])
      await Promise.race([new Promise<void>((resolve) => { const check = () => (v.currentTime > 1 ? resolve() : requestAnimationFrame(check)); check() }), timeout(20_000, 'playback')])
      const afterPlay = v.currentTime
      v.currentTime = 6
      await Promise.race([new Promise((resolve) => v.addEventListener('seeked', resolve, { once: true })), timeout(20_000, 'seek')])
      const afterSeek = v.currentTime
      await Promise.race([new Promise<void>((resolve) => { const check = () => (v.currentTime > afterSeek + 0.5 ? resolve() : requestAnimationFrame(check)); check() }), timeout(20_000, 'playback after seek')])
      return { afterPlay, afterSeek, duration: v.duration, width: v.videoWidth, error: v.error?.code ?? null }
    })
    expect(played.error).toBeNull()
    expect(played.width).toBe(320)
    expect(played.afterPlay).toBeGreaterThan(1)
    expect(played.afterSeek).toBeGreaterThanOrEqual(5.5)
    expect(played.duration).toBeGreaterThan(7)
    const metrics = (await request(`${gw.url}/metrics`)).body.toString()
    // the browser asked for byte ranges, and got them
    expect(metrics).toMatch(/bitcdn_gateway_requests_total\{route="\/t\/:infohash",status="206"\} [1-9]/)
  })
})
