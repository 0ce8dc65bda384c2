/**
 * Busy ports are found before anything starts, so the message names the flag that moves the
 * service instead of a half-started network failing on its fourth process.
 */
import { createServer } from 'node:net'
import { BitcdnError } from '@bitcdn/core'
import { CliErrorCode } from '../errors.js'

/** One port the devnet wants, and the flag that changes it. */
export interface WantedPort {
  port: number
  flag: string
  what: string
}

function isFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)))
  })
}

/**
 * @throws BitcdnError BITCDN_ERR_PORT_IN_USE naming every busy port and its flag
 * @example await checkPorts([{ port: 8545, flag: '--chain-port', what: 'chain' }], '127.0.0.1')
 */
export async function checkPorts(wanted: readonly WantedPort[], host: string): Promise<void> {
  const busy: WantedPort[] = []
  for (const w of wanted) if (w.port !== 0 && !(await isFree(w.port, host))) busy.push(w)
  if (busy.length === 0) return
  const list = busy.map((b) => `${b.what} port ${b.port} (change it with ${b.flag})`).join(', ')
  throw new BitcdnError(CliErrorCode.portInUse, `devnet: busy: ${list}; or stop what holds it (another devnet?)`, { details: { ports: busy.map((b) => b.port) } })
}
