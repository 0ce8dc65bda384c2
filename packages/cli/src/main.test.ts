import { describe, expect, it } from 'vitest'
import { buildProgram } from './main.js'

const names = async (argv?: string[]) => (await buildProgram(argv)).commands.map((c) => c.name())

describe('buildProgram loads only the subcommand the command line names', () => {
  it('loads every subcommand without a command line, for the overview', async () => {
    expect(await names()).toEqual(['create', 'publish', 'seed', 'get', 'tracker', 'chain', 'wallet', 'node', 'gateway', 'hub', 'devnet'])
  })

  it('loads one subcommand when the line names it, also after `help` and behind options', async () => {
    expect(await names(['node', 'bitcdn', 'create', '.', '-o', 'x.torrent'])).toEqual(['create'])
    expect(await names(['node', 'bitcdn', 'help', 'wallet'])).toEqual(['wallet'])
    expect(await names(['node', 'bitcdn', '--help', 'node', 'status'])).toEqual(['node'])
  })

  it('loads all for `help` alone or a name it does not know, so commander can list or suggest', async () => {
    expect(await names(['node', 'bitcdn', 'help'])).toHaveLength(11)
    expect(await names(['node', 'bitcdn', 'craete'])).toHaveLength(11)
  })
})
