/**
 * Where BitCDN keeps per-user state: `$BITCDN_HOME`, defaulting to `~/.bitcdn`.
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

/**
 * The BitCDN home directory: `$BITCDN_HOME` if set (resolved to an absolute path), else `~/.bitcdn`.
 * @example bitcdnHome({ BITCDN_HOME: '/tmp/x' }) // '/tmp/x'
 */
export function bitcdnHome(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.BITCDN_HOME
  return fromEnv !== undefined && fromEnv !== '' ? resolve(fromEnv) : join(homedir(), '.bitcdn')
}

/**
 * Default deployment file: `$BITCDN_HOME/deployment.json`.
 * @example defaultDeploymentPath() // '/home/me/.bitcdn/deployment.json'
 */
export function defaultDeploymentPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(bitcdnHome(env), 'deployment.json')
}
