// Every command documents itself, and bad flag values are usage errors (exit 2) naming the flag.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireTools, runCli } from '../interop/helpers/clients.js'
import { stopAll } from '../interop/helpers/processes.js'

beforeAll(() => requireTools(['cli']))
afterAll(stopAll)

describe('bitcdn --help', () => {
  it('lists the swarm commands', async () => {
    const r = await runCli(['--help'])
    expect(r.code).toBe(0)
    for (const cmd of ['create', 'publish', 'seed', 'get', 'tracker']) expect(r.stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'))
  })

  it.each([
    ['create', ['--web-seed', '--tracker', '--piece-length', '--name', '--output']],
    ['seed', ['--port', '--dir', '--tracker', '--web-seed']],
    ['get', ['--output', '--peer', '--tracker', '--web-seed', '--timeout']],
    ['tracker', ['--port', '--host', '--no-udp', '--no-http']],
    ['publish', ['--hub', '--key', '--web-seed', '--pin-node', '--free', '--description', '--output']],
  ])('%s --help shows usage and its options', async (cmd, flags) => {
    const r = await runCli([cmd, '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`Usage: bitcdn ${cmd}`)
    for (const f of flags) expect(r.stdout).toContain(f)
  })
})

describe('usage errors', () => {
  it.each([
    [['seed', '.', '--port', 'abc'], /--port.*'abc' is invalid.*port number/],
    [['tracker', '--port', '70000'], /--port.*'70000' is invalid/],
    [['get', 'x', '--peer', 'nohost'], /--peer.*host:port/],
    [['create', '.', '--piece-length', 'big'], /--piece-length.*byte count/],
    [['create', '.', '--tracker', 'not a url'], /--tracker.*URL/],
    [['get', 'x', '--timeout', '-1'], /--timeout.*seconds/],
    [['tracker', '--no-http', '--no-udp'], /nothing to serve/],
  ])('bitcdn %j exits 2 with a message naming the problem', async (args, message) => {
    const r = await runCli(args)
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^bitcdn: BITCDN_ERR_USAGE: /) // the line carries its code like every error
    expect(r.stderr).toMatch(message)
    expect(r.stderr).not.toMatch(/\n\s+at /) // no stack
  })

  it.each([
    [['get', '--walet', 'default', 'x.torrent'], "unknown option '--walet' (did you mean --wallet?)"],
    [['node', 'statsu'], "unknown command 'statsu' (did you mean status?)"],
    [['wallet', 'deposit'], "missing required argument 'amount'"],
    [['seed', '.', '--port', 'abc'], "option '--port <n>' argument 'abc' is invalid. expected a port number 0-65535"],
  ])('a mistyped command line %j is one coded line with the suggestion and the pointer to --help, exit 2', async (args, message) => {
    const r = await runCli(args)
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(`bitcdn: BITCDN_ERR_USAGE: ${message}; run with --help for usage\n`)
  })
})
