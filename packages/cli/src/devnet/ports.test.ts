import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { checkPorts } from './ports.js'

const servers: Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r))
})

async function listen(): Promise<number> {
  const s = createServer()
  servers.push(s)
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return (s.address() as { port: number }).port
}

describe('checkPorts', () => {
  it('names every busy port with the flag that moves it, and passes free ones', async () => {
    const busy = await listen()
    const free = await listen()
    await new Promise((r) => servers.pop()!.close(r)) // now free
    const err = await checkPorts(
      [
        { port: busy, flag: '--hub-port', what: 'hub' },
        { port: free, flag: '--gateway-port', what: 'gateway' },
        { port: 0, flag: '--chain-port', what: 'chain' },
      ],
      '127.0.0.1',
    ).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'BITCDN_ERR_PORT_IN_USE' })
    expect((err as Error).message).toContain(`hub port ${busy} (change it with --hub-port)`)
    expect((err as Error).message).not.toContain('--gateway-port')
    await expect(checkPorts([{ port: free, flag: '--gateway-port', what: 'gateway' }], '127.0.0.1')).resolves.toBeUndefined()
  })
})
