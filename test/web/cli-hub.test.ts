/**
 * `bitcdn hub` as a real process serves the built website at `/` by default (resolved from the
 * installed @bitcdn/web package), and `--no-web` serves the API only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot, startCli } from '../interop/helpers/clients.js'
import { stopAll } from '../interop/helpers/processes.js'

const dist = join(repoRoot, 'packages', 'web', 'dist')

beforeAll(() => {
  // `npm test` builds everything first; a targeted run may not have built the site yet
  if (!existsSync(join(dist, 'index.html'))) execFileSync('npm', ['run', 'build', '-w', '@bitcdn/web'], { cwd: repoRoot, stdio: 'inherit' })
})
afterAll(stopAll)

async function startHub(extra: string[]) {
  const proc = startCli(['hub', '--port', '0', '--tracker-port', '0', '--no-chain', '--hub-id', 'webtest', ...extra])
  const m = await proc.waitFor(/^hub "webtest" on (http:\/\/\S+) /m)
  await proc.waitFor(/^api\s/m) // printed after the website line
  return { proc, url: m[1]! }
}

describe('bitcdn hub website', () => {
  it('serves packages/web/dist at / and its client-side routes by default', async () => {
    const { proc, url } = await startHub([])
    expect(proc.stdout()).toMatch(/^website\s+http:/m)
    const home = await fetch(`${url}/`)
    expect(home.status).toBe(200)
    expect(home.headers.get('content-type')).toMatch(/text\/html/)
    const html = await home.text()
    expect(html).toContain('<main id="main"')
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1]
    expect(asset).toBeDefined()
    const js = await fetch(`${url}${asset}`)
    expect(js.status).toBe(200)
    expect(js.headers.get('cache-control')).toMatch(/immutable/)
    expect(await (await fetch(`${url}/network`)).text()).toBe(html)
    await proc.stop()
  })

  it('--no-web serves the API only', async () => {
    const { proc, url } = await startHub(['--no-web'])
    expect(proc.stdout()).not.toMatch(/^website/m)
    expect((await fetch(`${url}/`)).status).toBe(404)
    expect((await fetch(`${url}/api/v1/stats`)).status).toBe(200)
    await proc.stop()
  })
})
