/**
 * anvil must not outlive its parent: a SIGKILLed process runs no exit handler, so `startAnvil`
 * puts anvil under a watchdog that ends it when the parent's pipe closes.
 */
import { createInterface } from 'node:readline'
import { describe, expect, it } from 'vitest'
import { createPublicClient, http } from 'viem'
import { spawnTs } from './fixtures/run-ts.js'

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('startAnvil and a dying parent', () => {
  it('anvil exits when the process that started it is SIGKILLed', async () => {
    const parent = spawnTs('anvil-parent.ts', [])
    let stderr = ''
    parent.stderr!.on('data', (d) => (stderr += d))
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: parent.stdout! }).on('line', (l) => l.startsWith('ANVIL ') && resolve(l))
      parent.once('exit', () => reject(new Error(`parent exited early: ${stderr}`)))
    })
    const [, pidText, rpcUrl] = line.split(' ')
    const pid = Number(pidText)
    let exitedEarly = false
    try {
      // it is really anvil, and it answers
      expect(await createPublicClient({ transport: http(rpcUrl) }).getChainId()).toBe(31337)
      const exited = new Promise((r) => parent.once('exit', r))
      parent.kill('SIGKILL')
      await exited
      // poll until it is gone; the test timeout bounds the wait (no timing assertion)
      while (alive(pid)) await new Promise((r) => setTimeout(r, 50))
      exitedEarly = true
    } finally {
      if (!exitedEarly && alive(pid)) process.kill(pid, 'SIGKILL')
      if (parent.exitCode === null) parent.kill('SIGKILL')
    }
    expect(alive(pid)).toBe(false)
  }, 20_000)
})
