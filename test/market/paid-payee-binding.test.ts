/**
 * Attacks on payee binding (review F9), over real TCP with a real anvil and escrow. A seller's terms
 * name its payee, but anyone can name any payee: the buyer downloads on a connection, and joins it
 * to a payee's account, only once the seller signed this connection's nonce with that payee's key
 * (wire/payee-proof.ts). The attackers here run the real seller code with a hostile payee key:
 * one that signs with its own key while claiming another node's payee, one that replays a proof the
 * real payee signed on another connection, one that signs for another chain or escrow. Each is left
 * with BITCDN_ERR_PAY_PAYEE_UNPROVEN, serves nothing and is paid nothing, while the honest seller
 * serves the whole torrent and is paid exactly for it. And a version 1 peer (no payee binding) is
 * refused in its own version.
 */
import bencode from 'bencode'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Hex, LocalAccount } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { tokenUnits } from '@bitcdn/core'
import type { Metainfo } from '@bitcdn/content'
import { PROTOCOL_VERSION, type PayeeKey } from '@bitcdn/market'
import { startPayChain, type PayChain } from '../pay/helpers.js'
import { frame, HostilePeer } from '../swarm/hostile-peer.js'
import { filledStore, makeTorrent, readAll, testData } from '../swarm/swarm-helpers.js'
import { market, MiB, valueOf, type TestBuyer, type TestSeller } from './market-helpers.js'

let chain: PayChain
let mk: ReturnType<typeof market>
const price = tokenUnits(1_000_000n)

beforeAll(async () => {
  chain = await startPayChain()
  mk = market(chain)
  for (const a of chain.accounts.slice(5, 8)) await chain.deposit(a.privateKey, 10_000_000n)
})
afterEach(async () => {
  await mk.cleanup()
})
afterAll(async () => {
  await chain?.anvil.stop()
})

type SignArgs = Parameters<LocalAccount['signTypedData']>[0]

/** A key that says it is `address` but signs with `pk`, after `tamper` rewrote what it signs. */
function hostileKey(address: `0x${string}`, pk: Hex, tamper: (a: SignArgs) => SignArgs = (a) => a): PayeeKey {
  const acct = privateKeyToAccount(pk)
  return { address, signTypedData: (args) => acct.signTypedData(tamper(args as SignArgs) as never) } as PayeeKey
}

/** The buyer's departures by code, and what it verified from each seller address. */
function watch(b: TestBuyer) {
  const left: { id: string; code: string }[] = []
  b.buyer.on('left', (id, err) => left.push({ id, code: err.code }))
  return { left, verifiedFrom: (s: TestSeller) => [...b.verifiedFrom].filter(([id]) => id.endsWith(`:${s.addr.split(':')[1]}`)).reduce((n, [, v]) => n + v, 0) }
}

/**
 * The buyer downloaded the whole torrent from `honest` only, paid it exactly its verified bytes,
 * and has no account (so no cheque, no cumulative) for any payee but `honest`'s.
 */
async function onlyHonestPaid(b: TestBuyer, honest: TestSeller, evil: TestSeller[], m: Metainfo, data: Buffer, w: ReturnType<typeof watch>) {
  await b.torrent.whenDone()
  expect((await readAll(b.torrent.store!, m)).equals(data)).toBe(true)
  for (const e of evil) {
    expect(w.verifiedFrom(e)).toBe(0)
    expect(e.seller.stats().paidBytes).toBe(0)
    expect(w.left.some((l) => l.id.endsWith(`:${e.addr.split(':')[1]}`) && l.code === 'BITCDN_ERR_PAY_PAYEE_UNPROVEN')).toBe(true)
  }
  expect(w.verifiedFrom(honest)).toBe(m.length)
  const sellers = b.buyer.sellers()
  expect(sellers.map((s) => s.payee)).toEqual([honest.payee])
  await expect.poll(() => b.buyer.sellers()[0]!.acked, { timeout: 20_000 }).toBe(valueOf(m.length, price))
  expect(b.buyer.spent()).toBe(valueOf(m.length, price))
}

describe('attack: payee binding', () => {
  it("a seller claiming another node's payee address is left unproven and paid nothing", async () => {
    const data = testData(2 * MiB, 'claims-payee')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const honest = await mk.seller(chain.accounts[1]!, m, await filledStore(m, data), { pricePerGiB: price })
    // the impostor names the honest node's payee in its terms but can only sign with its own key
    const impostor = await mk.seller(chain.accounts[2]!, m, await filledStore(m, data), {
      pricePerGiB: price,
      payee: honest.payee,
      payeeKey: hostileKey(honest.payee, chain.accounts[2]!.privateKey),
    })
    const b = await mk.buyer(chain.accounts[5]!, m, [impostor.addr, honest.addr])
    const w = watch(b)
    await onlyHonestPaid(b, honest, [impostor], m, data, w)
    // the honest payee's ledger holds exactly what it served: the impostor ran nothing ahead
    expect(honest.settlement.ledger.best(b.payer, mk.usdc)?.cheque.cumulativeAmount).toBe(valueOf(m.length, price))
  }, 120_000)

  it('terms and payee proof replayed from another connection are refused (another nonce)', async () => {
    const data = testData(2 * MiB, 'replayed-terms')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    // the honest seller's key, recording every proof it signs
    const proofs: Hex[] = []
    const honestAcct = privateKeyToAccount(chain.accounts[1]!.privateKey)
    const recording: PayeeKey = {
      address: honestAcct.address,
      signTypedData: async (args) => {
        const sig = await honestAcct.signTypedData(args as never)
        proofs.push(sig)
        return sig
      },
    } as PayeeKey
    const honest = await mk.seller(chain.accounts[1]!, m, await filledStore(m, data), { pricePerGiB: price, payeeKey: recording })
    // a first buyer's connection: the attacker sees its terms and proof (same torrent, same terms)
    const first = await mk.buyer(chain.accounts[6]!, m, [honest.addr])
    await first.torrent.whenDone()
    expect(proofs.length).toBeGreaterThan(0)
    const captured = proofs[0]!
    // the replayer announces the honest seller's exact terms and answers every hello with that proof
    const replayer = await mk.seller(chain.accounts[2]!, m, await filledStore(m, data), {
      pricePerGiB: price,
      payee: honest.payee,
      payeeKey: { address: honest.payee, signTypedData: async () => captured } as unknown as PayeeKey,
    })
    const b = await mk.buyer(chain.accounts[5]!, m, [replayer.addr, honest.addr])
    const w = watch(b)
    await onlyHonestPaid(b, honest, [replayer], m, data, w)
  }, 120_000)

  it('a payee proof signed for a wrong chain id or a wrong escrow is refused', async () => {
    const data = testData(2 * MiB, 'wrong-domain')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const honest = await mk.seller(chain.accounts[1]!, m, await filledStore(m, data), { pricePerGiB: price })
    // each announces the right chain and escrow in its terms but signs for another one: a proof it
    // made (or got made) on another deployment
    const wrongChain = await mk.seller(chain.accounts[2]!, m, await filledStore(m, data), {
      pricePerGiB: price,
      payeeKey: hostileKey(chain.accounts[2]!.address, chain.accounts[2]!.privateKey, (a) => ({ ...a, domain: { ...a.domain, chainId: Number(a.domain!.chainId) + 1 } }) as SignArgs),
    })
    const wrongEscrow = await mk.seller(chain.accounts[3]!, m, await filledStore(m, data), {
      pricePerGiB: price,
      payeeKey: hostileKey(chain.accounts[3]!.address, chain.accounts[3]!.privateKey, (a) => ({ ...a, domain: { ...a.domain, verifyingContract: chain.deployment.tokens.USDC } }) as SignArgs),
    })
    const b = await mk.buyer(chain.accounts[7]!, m, [wrongChain.addr, wrongEscrow.addr, honest.addr])
    const w = watch(b)
    await onlyHonestPaid(b, honest, [wrongChain, wrongEscrow], m, data, w)
  }, 120_000)

  it.each([
    { v: 1, what: 'no payee binding', hello: (payer: Buffer) => [payer, payer] },
    { v: 2, what: 'no payer proof in its hello', hello: (payer: Buffer) => [payer, payer, Buffer.alloc(32, 7)] },
  ])('a version $v peer ($what) gets a refuse in version $v saying which version we speak', async ({ v, hello }) => {
    const data = testData(256 * 1024, 'old-peer')
    const m = await makeTorrent(data, { pieceLength: 64 * 1024 })
    const s = await mk.seller(chain.accounts[1]!, m, await filledStore(m, data), { pricePerGiB: price })
    const p = new HostilePeer(Number(s.addr.split(':')[1]))
    try {
      await p.open(m.infoHash, false)
      p.write(frame(20, Buffer.concat([Buffer.from([0]), Buffer.from(bencode.encode({ m: { bitcdn_pay: 7 } }))])))
      await p.until(() => p.messages.some((x) => x.id === 20 && x.payload[0] === 0), 'the extended handshake')
      const ext = p.messages.find((x) => x.id === 20 && x.payload[0] === 0)!
      const id = (bencode.decode(ext.payload.subarray(1)) as { m: Record<string, number> }).m.bitcdn_pay!
      // a version 1 hello: version 1 | type 2 | payer 20 | signer 20 (version 2: and a nonce 32)
      const payer = Buffer.from(chain.accounts[5]!.address.slice(2), 'hex')
      p.write(frame(20, Buffer.concat([Buffer.from([id, v, 2]), ...hello(payer)])))
      await p.until(() => p.closed, 'the seller to close the old peer', 15_000).catch(() => {})
      // what reached us on our bitcdn_pay id: the terms (our version), then a refuse in the peer's
      const ours = p.messages.filter((x) => x.id === 20 && x.payload[0] === 7).map((x) => x.payload.subarray(1))
      const refuse = ours.find((x) => x[1] === 5)
      expect(refuse).toBeDefined()
      expect(refuse![0]).toBe(v)
      expect(refuse![2]).toBe(5) // reason `protocol`, which every version knows
      expect(refuse![3]).toBe(refuse!.length - 4)
      expect(refuse!.subarray(4).toString('utf8')).toMatch(new RegExp(`version ${v} is not supported \\(this node speaks ${PROTOCOL_VERSION}\\)`))
      expect(p.closed).toBe(true)
      expect(s.seller.stats().closed['BITCDN_ERR_PAY_VERSION']).toBe(1)
    } finally {
      p.destroy()
    }
  }, 60_000)
})
