/**
 * Real servers of the three APIs, in this process, on loopback ports: a hub (SQLite in a temp
 * folder, no tracker), a gateway (empty piece cache) and a node (initialised in a temp BITCDN_HOME,
 * no chain). Used to read the documents they serve.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHub, openSqliteHubStore } from '@bitcdn/hub'
import { createGateway } from '@bitcdn/gateway'
import { initNode, nodePaths, runNode } from '@bitcdn/node'

/** Starts the three; `stop()` ends them and removes their folders. */
export async function serveApis() {
  const dir = await mkdtemp(join(tmpdir(), 'bitcdn-sdk-apis-'))
  const hub = await createHub({ hubId: 'sdk', port: 0, trackerPort: false, probeIntervalMs: 0 }, { store: openSqliteHubStore(join(dir, 'hub.sqlite')) })
  await hub.start()
  const gateway = createGateway({ cacheDir: join(dir, 'gateway'), port: 0, adminToken: 'openapi-document-only-token', swarm: { port: 0, stateDir: join(dir, 'gateway-swarm') } })({})
  await gateway.start()
  const paths = nodePaths(join(dir, 'home'))
  await initNode({ paths, passphrase: async () => 'sdk-generate', config: { listenPort: 0, adminPort: 0, listenHost: '127.0.0.1' } })
  const node = await runNode({ paths, passphrase: async () => 'sdk-generate', level: 'silent' })
  const token = (await readFile(paths.adminToken, 'utf8')).trim()
  return {
    urls: { hub: hub.url, gateway: gateway.url, nodeAdmin: node.adminUrl },
    token,
    servers: { hub, gateway, node },
    async stop() {
      await node.stop()
      await gateway.stop()
      await hub.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** GET `${url}/openapi.json`. */
export async function fetchDocument(url) {
  const res = await fetch(`${url}/openapi.json`)
  if (!res.ok) throw new Error(`${url}/openapi.json answered ${res.status}`)
  return res.json()
}
