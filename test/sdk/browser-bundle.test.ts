/**
 * `@bitcdn/sdk` is for browsers: bundled by Vite (rolldown) for the browser, its entry must pull
 * in no `node:` module and no Node built-in. The Node entry (`@bitcdn/sdk/node`) is bundled the
 * same way to show the check finds them where they are.
 */
import { builtinModules } from 'node:module'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build, type Plugin } from 'vite'
import { afterAll, describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')
const builtins = new Set(builtinModules)
const outDirs: string[] = []
afterAll(async () => {
  for (const d of outDirs) await rm(d, { recursive: true, force: true })
})

/** Bundles `entry` for the browser; returns the Node modules it asked for and the output text. */
async function bundle(entry: string): Promise<{ nodeImports: string[]; code: string }> {
  const nodeImports: string[] = []
  const spy: Plugin = {
    name: 'node-import-spy',
    enforce: 'pre',
    resolveId(id, importer) {
      const bare = id.replace(/^node:/, '').split('/')[0]!
      if (id.startsWith('node:') || builtins.has(bare)) nodeImports.push(`${id} (from ${importer?.replace(root, '')})`)
      return null
    },
  }
  const outDir = await mkdtemp(join(tmpdir(), 'sdk-bundle-'))
  outDirs.push(outDir)
  await build({
    configFile: false,
    logLevel: 'silent',
    root,
    resolve: { conditions: ['source', 'browser', 'import', 'default'] },
    plugins: [spy],
    build: { outDir, write: true, minify: false, lib: { entry, formats: ['es'], fileName: 'sdk' }, rollupOptions: { onwarn: () => {} } },
  })
  let code = ''
  for (const f of await readdir(outDir)) if (f.endsWith('.js')) code += await readFile(join(outDir, f), 'utf8')
  return { nodeImports, code }
}

describe('@bitcdn/sdk browser bundle', () => {
  it('the browser entry bundles without any node: import or Node built-in', async () => {
    const { nodeImports, code } = await bundle(join(root, 'packages/sdk/src/index.ts'))
    expect(nodeImports).toEqual([])
    expect(code).not.toMatch(/from\s*["']node:|require\(["']node:|__vite-browser-external/)
    // the bundle holds the clients (not an empty build)
    expect(code).toContain('/api/v1/catalogue')
    expect(code).toContain('BITCDN_ERR_SDK_UNREACHABLE')
    // the hub's signing format and viem's signature recovery are bundled in, not left external
    expect(code).toContain('BitCDN catalogue entry v1')
    expect(code).not.toMatch(/^import .* from ["'](viem|zod|openapi-fetch|@bitcdn\/[a-z]+)/m)
    console.log(`browser bundle: ${(code.length / 1024).toFixed(0)} KiB unminified`)
  }, 180_000)

  it('the Node entry does import Node modules (the check sees them)', async () => {
    const { nodeImports } = await bundle(join(root, 'packages/sdk/src/node.ts'))
    expect(nodeImports.some((i) => i.startsWith('node:fs') || i.startsWith('node:stream'))).toBe(true)
  }, 180_000)
})
