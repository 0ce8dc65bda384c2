#!/usr/bin/env node
// Thin launcher: the CLI is compiled TypeScript in ../dist (built by `npm run build`).
import { main } from '../dist/main.js'
main(process.argv).then(
  (code) => { process.exitCode = code },
  (err) => { console.error(`bitcdn: ${err?.message ?? err}`); process.exitCode = 1 },
)
