/**
 * Where a node keeps its state, all under `$BITCDN_HOME/node/`: the config, the admin token
 * (0600), the node database (pins and cache index), the payee ledger, resume journals and the
 * default data directory. The node's key is `$BITCDN_HOME/keys/node.json` beside the others.
 */
import { join } from 'node:path'
import { bitcdnHome } from '@bitcdn/pay'

/** Files and folders of one node. */
export interface NodePaths {
  home: string
  dir: string
  config: string
  adminToken: string
  db: string
  ledger: string
  stateDir: string
  defaultDataDir: string
  lock: string
}

/** Name of the node's keystore in `$BITCDN_HOME/keys/`. */
export const NODE_KEY_NAME = 'node'

/**
 * The node's paths under a BitCDN home.
 * @example nodePaths('/home/me/.bitcdn').config // '/home/me/.bitcdn/node/config.toml'
 */
export function nodePaths(home: string = bitcdnHome()): NodePaths {
  const dir = join(home, 'node')
  return {
    home,
    dir,
    config: join(dir, 'config.toml'),
    adminToken: join(dir, 'admin-token'),
    db: join(dir, 'node.db'),
    ledger: join(dir, 'ledger.db'),
    stateDir: join(dir, 'state'),
    defaultDataDir: join(dir, 'data'),
    lock: join(dir, 'node.pid'),
  }
}
