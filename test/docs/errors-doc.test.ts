import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')

function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) {
      if (name !== 'node_modules' && name !== 'dist' && name !== 'generated') out.push(...sourceFiles(p))
    } else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) out.push(p)
  }
  return out
}

describe('docs/errors.md', () => {
  it('documents every BITCDN_ERR_* code used in package sources', () => {
    const doc = readFileSync(join(root, 'docs', 'errors.md'), 'utf8')
    const used = new Set<string>()
    for (const file of sourceFiles(join(root, 'packages'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/BITCDN_ERR_[A-Z0-9_]+/g)) used.add(m[0])
    }
    // a prefix (`BITCDN_ERR_TRACKER_${kind}`) in a template or comment is not a code by itself
    for (const code of used) if (code.endsWith('_')) used.delete(code)
    const missing = [...used].filter((code) => !doc.includes(`\`${code}\``))
    expect(missing).toEqual([])
  })
})
