/**
 * Test content: random files written into a temp dir, and sha256 digests of a tree to compare a
 * download with its source byte for byte.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'

/**
 * A fresh temp dir; remove it with `rmSync(dir, { recursive: true, force: true })`.
 * @example const dir = tempDir('interop-')
 */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `bitcdn-${prefix}`))
}

/**
 * Writes random files (`relative path → bytes`) under `root`.
 * @example writeRandomFiles(dir, { 'site/a.bin': 3 * MiB, 'site/b/c.txt': 1000 })
 */
export function writeRandomFiles(root: string, files: Record<string, number>): void {
  for (const [path, size] of Object.entries(files)) {
    const p = join(root, path)
    mkdirSync(dirname(p), { recursive: true })
    writeFileSync(p, randomBytes(size))
  }
}

/**
 * sha256 of every file under `root`, keyed by path relative to it.
 * @example expect(sha256Tree(join(dl, 'site'))).toEqual(sha256Tree(join(src, 'site')))
 */
export function sha256Tree(root: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name)
      if (statSync(p).isDirectory()) walk(p)
      else out[relative(root, p)] = createHash('sha256').update(readFileSync(p)).digest('hex')
    }
  }
  if (statSync(root).isDirectory()) walk(root)
  else out['.'] = createHash('sha256').update(readFileSync(root)).digest('hex')
  return out
}

/** @example afterAll(() => removeDir(dir)) */
export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true })
}
