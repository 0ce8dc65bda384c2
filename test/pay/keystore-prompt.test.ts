/**
 * The keystore passphrase typed at a real terminal: `bitcdn wallet new` runs under a
 * pseudo-terminal (`script` from util-linux), the test types the passphrase after each prompt,
 * and then checks that it was not echoed and that no plain key reached the disk.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { hexToBytes } from 'viem'
import { keystorePath, readKeystoreFile } from '@bitcdn/pay'

const fixtures = join(import.meta.dirname, 'fixtures')
const home = mkdtempSync(join(tmpdir(), 'bitcdn-pty-'))
afterAll(() => rmSync(home, { recursive: true, force: true }))
const hasScript = spawnSync('script', ['--version']).status === 0
// a skip says why at run time: a silent skip reads as a pass
if (!hasScript) console.warn('skipping keystore-prompt: `script` (util-linux) is not installed, so no pseudo-terminal can be made')

/** Runs the CLI under a pty; answers each `Passphrase:`-style (or private key) prompt with the next of `answers`. */
function runInTerminal(args: string[], answers: string[]): Promise<{ code: number | null; output: string }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
  const cmd = [process.execPath, '--conditions=source', '--import', join(fixtures, 'register-ts.mjs'), join(fixtures, 'cli.ts'), ...args].map(quote).join(' ')
  const env: NodeJS.ProcessEnv = { ...process.env, BITCDN_HOME: home, TERM: 'dumb' }
  delete env.BITCDN_PASSPHRASE
  const child = spawn('script', ['-qefc', cmd, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] })
  let output = ''
  let answered = 0
  const onData = (d: Buffer) => {
    output += d.toString('utf8')
    // type only once the prompt is up (raw mode, echo off): typing earlier would be echoed by
    // the terminal's line discipline, which is not what we test
    const prompts = output.match(/(?:[Pp]assphrase|not shown\)): /g)?.length ?? 0
    while (answered < prompts && answered < answers.length) child.stdin.write(`${answers[answered++]}\r`)
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })))
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]))
}

describe.skipIf(!hasScript)('keystore passphrase at a terminal', () => {
  it('wallet new prompts twice with echo off, encrypts the key, and no plain key reaches BITCDN_HOME', async () => {
    const passphrase = 'tty-secret-Ωmega 42'
    const r = await runInTerminal(['wallet', 'new', '--key', 'tty', '--scrypt-n', '1024'], [passphrase, passphrase])
    expect(r.output).toContain('Passphrase: ')
    expect(r.output).toContain('Repeat passphrase: ')
    expect(r.code).toBe(0)
    expect(r.output).not.toContain(passphrase) // not echoed
    const address = /address\s+(0x[0-9a-fA-F]{40})/.exec(r.output)?.[1]
    expect(address).toBeDefined()

    const file = keystorePath(home, 'tty')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const { privateKey, address: decrypted } = await readKeystoreFile(file, passphrase)
    expect(decrypted).toBe(address)
    // grep the whole home for the key: hex with or without 0x, any case, and the raw 32 bytes
    const hex = privateKey.slice(2).toLowerCase()
    const raw = Buffer.from(hexToBytes(privateKey))
    for (const f of filesUnder(home)) {
      const bytes = readFileSync(f)
      expect(bytes.toString('latin1').toLowerCase().includes(hex), f).toBe(false)
      expect(bytes.includes(raw), f).toBe(false)
    }
    expect(r.output.toLowerCase()).not.toContain(hex)
  })

  it('wallet import reads the private key with echo off, encrypts it at once, and the key never reaches output or disk in plain', async () => {
    const privateKey = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d' // anvil dev key (1)
    const passphrase = 'import-Ωmega'
    const r = await runInTerminal(['wallet', 'import', '--key', 'imported', '--scrypt-n', '1024'], [privateKey, passphrase, passphrase])
    expect(r.output).toContain('Private key (hex, not shown): ')
    expect(r.code).toBe(0)
    expect(r.output).toMatch(/address\s+0x70997970C51812dc3A010C7d01b50e0d17dc79C8/)
    const hex = privateKey.slice(2)
    expect(r.output.toLowerCase()).not.toContain(hex) // not echoed, not printed
    expect((await readKeystoreFile(keystorePath(home, 'imported'), passphrase)).privateKey).toBe(privateKey)
    for (const f of filesUnder(home)) {
      const bytes = readFileSync(f)
      expect(bytes.toString('latin1').toLowerCase().includes(hex), f).toBe(false)
      expect(bytes.includes(Buffer.from(hexToBytes(privateKey as `0x${string}`))), f).toBe(false)
    }
  })

  it('a mistyped confirmation fails with the passphrase error and writes no keystore', async () => {
    const r = await runInTerminal(['wallet', 'new', '--key', 'typo', '--scrypt-n', '1024'], ['first try', 'first tyr'])
    expect(r.code).not.toBe(0)
    expect(r.output).toContain('passphrases do not match')
    expect(() => statSync(keystorePath(home, 'typo'))).toThrow()
  })
})
