#!/usr/bin/env node
/**
 * `npm run generate -w @bitcdn/sdk`: starts a real hub, gateway and node, reads the OpenAPI
 * document each serves, stores it in openapi/ and renders its types into src/generated/. Run it
 * after changing a route schema (run `npm run build` first: it imports the built servers); the
 * SDK's API test fails while the stored documents differ from the served ones.
 */
import { writeFile } from 'node:fs/promises'
import { API_DOCS, renderDocument, renderTypes } from './openapi-types.js'
import { fetchDocument, serveApis } from './serve-apis.js'

const apis = await serveApis()
try {
  for (const name of Object.keys(API_DOCS)) {
    const doc = await fetchDocument(apis.urls[name])
    await writeFile(API_DOCS[name].document, renderDocument(doc))
    await writeFile(API_DOCS[name].types, await renderTypes(name, doc))
    process.stdout.write(`${name}: ${Object.keys(doc.paths).length} paths → ${API_DOCS[name].types}\n`)
  }
} finally {
  await apis.stop()
}
