// Node module hooks that let a child process run our TypeScript sources directly (Node 20 has no
// type stripping): `.js` specifiers fall back to the `.ts` file beside them (NodeNext style), and
// `.ts` files are transpiled with the project's own TypeScript. Used with `--conditions=source`
// so workspace packages resolve to src/, exactly as vitest does.
// Transpiled output is cached on disk by a hash of the source (test/pay/fixtures/transpile-cache.mjs).
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { transpileCached } from '../../pay/fixtures/transpile-cache.mjs'

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context)
  } catch (err) {
    if (specifier.endsWith('.js') && (specifier.startsWith('.') || specifier.startsWith('file:'))) {
      return next(`${specifier.slice(0, -3)}.ts`, context)
    }
    throw err
  }
}

export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context)
  const fileName = fileURLToPath(url)
  return { format: 'module', source: await transpileCached(await readFile(fileName, 'utf8'), fileName), shortCircuit: true }
}
