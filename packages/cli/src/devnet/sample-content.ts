/**
 * The devnet's sample content: a small site (an HTML page, the short WebM clip from the gateway
 * tests, a few generated files). Made once in `<dir>/content/sample-site`; the bytes are
 * deterministic, so a second start finds the same info-hash and the nodes' pins stay valid.
 */
import { createHash } from 'node:crypto'
import { copyFile, mkdir, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The files of the sample site (paths inside the torrent). */
export const SAMPLE_FILES = ['index.html', 'video/clip.webm', 'files/data-1.bin', 'files/data-2.bin', 'files/data-3.bin'] as const
export const SAMPLE_NAME = 'sample-site'

const clipFixture = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'test', 'gateway', 'fixtures', 'clip.webm')

/** Deterministic pseudo-random bytes (SHA-256 in counter mode): same seed, same file. */
function bytes(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length)
  for (let i = 0, off = 0; off < length; i++, off += 32) createHash('sha256').update(`${seed}/${i}`).digest().copy(out, off)
  return out
}

const exists = (p: string) => stat(p).then(() => true, () => false)

/**
 * Writes the sample site if it is not there yet; returns its folder.
 * @example const site = await makeSampleContent('.devnet/content') // .devnet/content/sample-site
 */
export async function makeSampleContent(contentDir: string): Promise<string> {
  const site = join(contentDir, SAMPLE_NAME)
  if (await exists(join(site, 'files', 'data-3.bin'))) return site
  await mkdir(join(site, 'video'), { recursive: true })
  await mkdir(join(site, 'files'), { recursive: true })
  await writeFile(
    join(site, 'index.html'),
    '<!doctype html><meta charset="utf-8"><title>BitCDN sample</title><h1>Served by a swarm of paid nodes</h1><video src="video/clip.webm" controls></video>\n',
  )
  await copyFile(clipFixture, join(site, 'video', 'clip.webm'))
  for (let i = 1; i <= 3; i++) await writeFile(join(site, 'files', `data-${i}.bin`), bytes(`bitcdn-devnet-${i}`, i * 512 * 1024))
  return site
}
