#!/usr/bin/env node
// Benchmark harness: `npm run bench` runs every suite, `npm run bench -- swarm pay` the named ones.
// Each suite is bench/suites/<name>.js exporting `default async function run({ args, resultsDir })`
// that prints a table and writes bench/results/<name>.json. Benchmarks measure; they assert nothing.
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const suitesDir = join(here, 'suites')
const available = readdirSync(suitesDir).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3)).sort()
const argv = process.argv.slice(2)
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(`usage: npm run bench [-- <suite>... [--option value]...]\nsuites: ${available.join(', ')}`)
  process.exit(0)
}
// Suite names come first; everything from the first option on belongs to the suites
// (`npm run bench -- swarm --size 64 --runs 3`).
const firstOption = argv.findIndex((a) => a.startsWith('-'))
const names = firstOption === -1 ? argv : argv.slice(0, firstOption)
const suiteArgs = firstOption === -1 ? [] : argv.slice(firstOption)
const chosen = names.length ? names : available
for (const name of chosen) {
  if (!available.includes(name)) {
    console.error(`bench: unknown suite '${name}' (available: ${available.join(', ')})`)
    process.exit(2)
  }
}
for (const name of chosen) {
  console.log(`\n=== bench: ${name} ===`)
  const mod = await import(join(suitesDir, `${name}.js`))
  await mod.default({ args: suiteArgs, resultsDir: join(here, 'results') })
}
