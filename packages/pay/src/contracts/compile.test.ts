import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { escrowAbi, escrowBytecode, testTokenAbi } from './index.js'

const pkg = join(import.meta.dirname, '..', '..')

describe('compile-contracts', () => {
  it('skips solc when the sources are unchanged (hash check)', () => {
    const out = execFileSync(process.execPath, [join(pkg, 'scripts', 'compile-contracts.js')], { cwd: pkg, encoding: 'utf8' })
    expect(out).toMatch(/sources unchanged, skipping solc|compiled in/)
    const again = execFileSync(process.execPath, [join(pkg, 'scripts', 'compile-contracts.js')], { cwd: pkg, encoding: 'utf8' })
    expect(again).toContain('sources unchanged, skipping solc')
    expect(readFileSync(join(pkg, 'src', 'contracts', 'generated', '.sources.sha256'), 'utf8')).toMatch(/^[0-9a-f]{64}\n$/)
    expect(existsSync(join(pkg, 'src', 'contracts', 'generated', 'escrow.ts'))).toBe(true)
  })

  it('exports the agreed escrow interface for viem', () => {
    const fns = new Set(escrowAbi.filter((x) => x.type === 'function').map((x) => x.name))
    for (const name of [
      'deposit', 'depositFor', 'depositWithAuthorization', 'setSigner', 'signerOf', 'claim', 'earnings',
      'withdrawEarnings', 'paidOut', 'balanceOf', 'requestWithdraw', 'cancelWithdraw', 'finalizeWithdraw',
      'pendingWithdrawal', 'allocate', 'requestDeallocate', 'finalizeDeallocate', 'allocation', 'chequeDigest',
      'withdrawDelay', 'isTokenAllowed', 'setTokenAllowed', 'eip712Domain', 'bounced',
      // issue 7: key compromise, spending cap, cancellable deallocations, compact claims
      'revokeSigner', 'currentSignerValidUntil', 'setSignerCap', 'signerCap', 'pendingSignerCap', 'cancelDeallocate',
      'claimCompact', 'REVOKE_DELAY', 'FINALIZE_WINDOW', 'COMPACT_ROW_BYTES',
    ]) expect(fns, name).toContain(name)
    const events = new Set(escrowAbi.filter((x) => x.type === 'event').map((x) => x.name))
    for (const name of [
      'Deposited', 'SignerChanged', 'ChequeClaimed', 'ChequeBounced', 'ChequeRejected', 'WithdrawRequested',
      'WithdrawCancelled', 'WithdrawFinalized', 'EarningsWithdrawn', 'Allocated', 'DeallocationRequested', 'Deallocated',
      'DeallocationCancelled', 'SignerRevoked', 'SignerCapChanged', 'ChequePaid', 'CompactClaimed',
    ]) expect(events, name).toContain(name)
    const errors = new Set(escrowAbi.filter((x) => x.type === 'error').map((x) => x.name))
    for (const name of ['NoticeLapsed', 'NoSignerToRevoke', 'WithdrawDelayOutOfRange', 'CapPeriodOutOfRange', 'TokenNotListed', 'MalformedRows']) {
      expect(errors, name).toContain(name)
    }
    expect(escrowBytecode).toMatch(/^0x[0-9a-f]+$/)
    expect(testTokenAbi.some((x) => x.type === 'function' && x.name === 'receiveWithAuthorization')).toBe(true)
  })
})
