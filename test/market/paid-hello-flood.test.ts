/**
 * Attack on the seller's new-payer lookups (review F6), over real TCP with a real anvil: raw peers
 * from one address (127.0.0.2) flood the seller with `bitcdn_pay` hellos naming random payers,
 * each a chain lookup if it were let through. The flood spends only its own source's lookup
 * budget, so an honest new buyer (from 127.0.0.1) is admitted on its first hello and downloads;
 * and the seller forgets every refused payer (not followed, no account): memory stays bounded.
 */
import { randomBytes } from 'node:crypto'
import bencode from 'bencode'
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { tokenUnits } from '@bitcdn/core'
import type { Hex } from 'viem'
import { decodePayMessage, encodePayMessage, settlementPayments, signPayerProof } from '@bitcdn/market'
import { startPayChain, type PayChain } from '../pay/helpers.js'
import { frame, HostilePeer } from '../swarm/hostile-peer.js'
import { filledStore, makeTorrent, readAll, testData } from '../swarm/swarm-helpers.js'
import { market, MiB, type TestSeller } from './market-helpers.js'

let chain: PayChain
let mk: ReturnType<typeof market>

beforeAll(async () => {
  chain = await startPayChain()
  mk = market(chain)
  await chain.deposit(chain.accounts[6]!.privateKey, 10_000_000n)
})
afterEach(async () => {
  await mk.cleanup()
})
afterAll(async () => {
  await chain?.anvil.stop()
})

/** One raw connection from 127.0.0.2 that says a signed hello as `payer` over `bitcdn_pay`, then waits to be closed. */
async function hello(s: TestSeller, infoHash: string, payerKey: Hex): Promise<void> {
  const payer = privateKeyToAccount(payerKey)
  const p = new HostilePeer(Number(s.addr.split(':')[1]), { localAddress: '127.0.0.2' })
  try {
    await p.open(infoHash, false)
    p.write(frame(20, Buffer.concat([Buffer.from([0]), Buffer.from(bencode.encode({ m: { bitcdn_pay: 7 } }))])))
    await p.until(() => p.messages.some((m) => m.id === 20 && m.payload[0] === 0), 'the extended handshake')
    const ext = p.messages.find((m) => m.id === 20 && m.payload[0] === 0)!
    const id = (bencode.decode(ext.payload.subarray(1)) as { m: Record<string, number> }).m.bitcdn_pay!
    // the seller's terms (on our id 7): the hello signs their nonce, as an honest buyer's does, so
    // each flooding hello passes the payer proof and reaches the lookups it means to exhaust
    await p.until(() => p.messages.some((x) => x.id === 20 && x.payload[0] === 7), 'the terms')
    const terms = decodePayMessage(p.messages.find((x) => x.id === 20 && x.payload[0] === 7)!.payload.subarray(1))
    if (terms.type !== 'terms') throw new Error(`expected terms, got ${terms.type}`)
    const signature = await signPayerProof(payer, { domain: { chainId: terms.chainId, verifyingContract: terms.escrow }, payer: payer.address, signer: payer.address, payee: terms.payee, token: terms.token, pricePerGiB: terms.pricePerGiB, infoHash, nonce: terms.nonce })
    p.write(frame(20, Buffer.concat([Buffer.from([id]), encodePayMessage({ type: 'hello', payer: payer.address, signer: payer.address, nonce: randomBytes(32), signature })])))
    await p.until(() => p.closed, 'the seller to close the flooding connection', 20_000).catch(() => {})
  } finally {
    p.destroy()
  }
}

describe('attack: hello flood naming random payers', () => {
  it('a flood of random-payer hellos from one address neither locks out an honest new buyer nor grows the seller', async () => {
    const data = testData(2 * MiB, 'flood')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const s = await mk.seller(chain.accounts[1]!, m, await filledStore(m, data), { pricePerGiB: tokenUnits(1_000_000n) })
    const randomKeys = Array.from({ length: 60 }, () => generatePrivateKey())
    const random = randomKeys.map((k) => privateKeyToAccount(k).address)
    // the flood: 60 hellos, 10 at a time — past the seller-wide lookup burst (16) many times over
    const flooding = (async () => {
      for (let i = 0; i < random.length; i += 10) await Promise.all(randomKeys.slice(i, i + 10).map((k) => hello(s, m.infoHash, k)))
    })()
    await new Promise((r) => setTimeout(r, 500))
    // the honest new buyer arrives mid-flood and is admitted on its first hello
    const left: string[] = []
    const b = await mk.buyer(chain.accounts[6]!, m, [s.addr])
    b.buyer.on('left', (_id, err) => left.push(err.code))
    await b.torrent.whenDone()
    await flooding
    expect((await readAll(b.torrent.store!, m)).equals(data)).toBe(true)
    expect(left).toEqual([])
    expect(s.seller.account(chain.accounts[6]!.address)).toBeDefined()
    // the flood was refused; its payers are neither followed nor kept as accounts
    expect(s.seller.stats().closed['BITCDN_ERR_LOOKUP_RATE_LIMITED'] ?? 0).toBeGreaterThan(0)
    for (const a of random) {
      expect(s.settlement.watcher.isTracked(a)).toBe(false)
      expect(s.seller.account(a)).toBeUndefined()
    }
  }, 120_000)

  it('hellos from many IPv6 addresses of one /64 share one lookup budget; another /64 is still looked up', async () => {
    const data = testData(256 * 1024, 'flood-v6')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const s = await mk.seller(chain.accounts[2]!, m, await filledStore(m, data), { pricePerGiB: tokenUnits(1_000_000n) })
    // the seller's own admission path over its real settlement, with the connection ids an IPv6
    // listener would see (this box has one IPv6 address; an attacker's /64 has 2^64)
    const payments = settlementPayments(s.settlement)
    const outcome = (peer: string) => {
      const payer = privateKeyToAccount(generatePrivateKey()).address
      return payments.admit(payer, payer, mk.usdc, peer).then(
        () => 'admitted',
        (err: { code: string; message: string }) => `${err.code}${err.message.includes('/64') ? ' /64' : ''}`,
      )
    }
    const fromOnePrefix: string[] = []
    // a new address of the prefix for every hello, as a rotating attacker would use
    for (let i = 1; i <= 8; i++) fromOnePrefix.push(await outcome(`2001:db8:1:2:${i.toString(16)}::${i}:6881`))
    // the burst of 4 is looked up (no funds: refused); then the prefix is out of lookups
    expect(fromOnePrefix.slice(0, 4)).toEqual(Array(4).fill('BITCDN_ERR_PAY_PAYER_REFUSED'))
    expect(fromOnePrefix.slice(4)).toEqual(Array(4).fill('BITCDN_ERR_LOOKUP_RATE_LIMITED /64'))
    // another subscriber's prefix, and an IPv4 peer, still get their lookups
    expect(await outcome('2001:db8:1:3::1:6881')).toBe('BITCDN_ERR_PAY_PAYER_REFUSED')
    expect(await outcome('::ffff:203.0.113.7:6881')).toBe('BITCDN_ERR_PAY_PAYER_REFUSED')
  }, 60_000)
})
