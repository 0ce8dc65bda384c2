#!/usr/bin/env node
// Thin launcher: the CLI is compiled TypeScript in ../dist (built by `npm run build`).
import { main } from '../dist/main.js'
// `bitcdn create … | head`: the reader went away; that ends our output, not with a stack trace
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
    throw err
  })
}
main(process.argv).then(
  (code) => { process.exitCode = code },
  (err) => { console.error(`bitcdn: ${err?.message ?? err}`); process.exitCode = 1 },
)
