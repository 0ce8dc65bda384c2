// Settlement bench: cheque signing/verification rates on one core, bytes per cheque on the wire,
// gas per claimed cheque in batches (on a real anvil), and the settlement cost per GiB under
// stated prices. Prints a table, writes bench/results/pay.json. Measures; asserts nothing.
// Imports the built @bitcdn/pay (root `npm run bench` builds first).
import { writeFileSync, mkdirSync } from 'node:fs'
import { loadavg, cpus } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, createWalletClient, http } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import {
  anvilAccounts,
  CHEQUE_SESSION_WIRE_BYTES,
  CHEQUE_WIRE_BYTES,
  createChequeDigester,
  createChequeVerifier,
  createPrivateKeyChequeSigner,
  deployLocal,
  encodeCheque,
  escrowAbi,
  signCheque,
  signedChequeToJson,
  startAnvil,
  testTokenAbi,
  verifyCheque,
} from '@bitcdn/pay'

// stated assumptions for the cost model
const PRICE_UNITS_PER_GIB = 5_000n // 0.005 USDC per GiB delivered
const GAS_PRICE_WEI = 10_000_000n // 0.01 gwei (a typical L2 execution price)
const ETH_USD = 3_000n // USD per ETH
const UNITS_PER_USD = 1_000_000n

function rate(n, fn) {
  const t = performance.now()
  for (let i = 0; i < n; i++) fn(i)
  return n / ((performance.now() - t) / 1000)
}
async function rateAsync(n, fn) {
  const t = performance.now()
  for (let i = 0; i < n; i++) await fn(i)
  return n / ((performance.now() - t) / 1000)
}

async function cpuBench(quick) {
  const domain = { chainId: 8453, verifyingContract: privateKeyToAccount(generatePrivateKey()).address }
  const pk = generatePrivateKey()
  const account = privateKeyToAccount(pk)
  const payee = privateKeyToAccount(generatePrivateKey()).address
  const token = privateKeyToAccount(generatePrivateKey()).address
  const N = quick ? 300 : 3000
  const cheques = Array.from({ length: N }, (_, i) => ({ payer: account.address, payee, token, cumulativeAmount: BigInt(i + 1) * 4883n }))
  const signer = createPrivateKeyChequeSigner(pk, domain)
  const digester = createChequeDigester(domain)
  // warm-up (JIT, wNAF tables)
  for (let i = 0; i < 50; i++) await signer.sign(cheques[i])
  const out = {}
  out.digestPerSec = rate(N, (i) => digester.digest(cheques[i]))
  const signed = []
  out.signFastPerSec = await rateAsync(N, async (i) => signed.push({ cheque: cheques[i], signature: await signer.sign(cheques[i]) }))
  const M = Math.max(100, N / 5)
  out.signViemPerSec = await rateAsync(M, (i) => signCheque(account, { domain, cheque: cheques[i] }))
  const verifier = createChequeVerifier(domain)
  verifier.verify(signed[0], account.address)
  out.verifyFastPerSec = rate(N, (i) => verifier.verify(signed[i], account.address))
  const uncached = createChequeVerifier(domain, { maxCachedSigners: 0 })
  out.verifyRecoverNoblePerSec = rate(M, (i) => uncached.recoverSigner(signed[i]))
  out.verifyRecoverViemPerSec = await rateAsync(M, (i) => verifyCheque({ domain, signedCheque: signed[i], signer: account.address }))
  out.wire = {
    fullBytes: CHEQUE_WIRE_BYTES,
    sessionBytes: CHEQUE_SESSION_WIRE_BYTES,
    encodedCheck: encodeCheque(signed[0]).length,
    jsonBytes: Buffer.byteLength(JSON.stringify(signedChequeToJson(signed[N - 1]))),
  }
  // 1 GiB/s with one cheque per MiB = 1024 verifications per second
  out.verifyCpuPercentAt1GiBps = { fastPath: (1024 / out.verifyFastPerSec) * 100, fullRecovery: (1024 / out.verifyRecoverNoblePerSec) * 100 }
  // ledger.acceptNewest coalescing: per active payer, only the newest cheque of each 100 ms burst
  // is verified → 10 verifications/s per payer whatever the byte rate
  out.coalesced = { burstMs: 100, verificationsPerSecPerPayer: 10, cpuPercentPerActivePayer: (10 / out.verifyFastPerSec) * 100 }
  return out
}

async function gasBench() {
  const anvil = await startAnvil({ accounts: 2 })
  try {
    const [deployer] = anvilAccounts(1)
    const d = await deployLocal({ rpcUrl: anvil.rpcUrl, fund: { accounts: [deployer.address], amount: 10n ** 15n } })
    const publicClient = createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl), pollingInterval: 50 })
    const wallet = createWalletClient({ chain: foundry, transport: http(anvil.rpcUrl), account: privateKeyToAccount(deployer.privateKey) })
    const domain = { chainId: d.chainId, verifyingContract: d.escrow }
    const usdc = d.tokens.USDC
    const send = async (req) => {
      const hash = await wallet.writeContract(req)
      const r = await publicClient.waitForTransactionReceipt({ hash })
      if (r.status !== 'success') throw new Error(`${req.functionName} reverted`)
      return r
    }
    await send({ address: usdc, abi: testTokenAbi, functionName: 'approve', args: [d.escrow, 2n ** 255n] })
    const results = []
    for (const batch of [1, 10, 100]) {
      // a seller (fresh payee) claiming from `batch` distinct payers, each funded by depositFor
      const payee = privateKeyToAccount(generatePrivateKey()).address
      const payers = Array.from({ length: batch }, () => {
        const pk = generatePrivateKey()
        return { pk, address: privateKeyToAccount(pk).address, signer: createPrivateKeyChequeSigner(pk, domain) }
      })
      for (const p of payers) await send({ address: d.escrow, abi: escrowAbi, functionName: 'depositFor', args: [p.address, usdc, 1_000_000_000n] })
      const row = { batch }
      for (const [label, amount] of [['first', 1_000_000n], ['repeat', 2_000_000n]]) {
        const cheques = []
        for (const p of payers) {
          const cheque = { payer: p.address, payee, token: usdc, cumulativeAmount: amount }
          cheques.push({ cheque, signature: await p.signer.sign(cheque) })
        }
        const r = await send({ address: d.escrow, abi: escrowAbi, functionName: 'claim', args: [cheques], gas: 30_000_000n })
        row[`${label}GasTotal`] = Number(r.gasUsed)
        row[`${label}GasPerCheque`] = Math.round(Number(r.gasUsed) / batch)
      }
      results.push(row)
    }
    return results
  } finally {
    await anvil.stop()
  }
}

function costModel(gasPerCheque) {
  // cost in token units of claiming one cheque: gas × gasPrice (wei) × USD/ETH × units/USD / 1e18
  const costUnits = (BigInt(gasPerCheque) * GAS_PRICE_WEI * ETH_USD * UNITS_PER_USD) / 10n ** 18n
  const exact = (gasPerCheque * Number(GAS_PRICE_WEI) * Number(ETH_USD)) / 1e18 // USD, for display only
  const rows = [1, 10, 100, 1000].map((gibPerClaim) => {
    const value = PRICE_UNITS_PER_GIB * BigInt(gibPerClaim)
    return { gibPerClaim, costPerGiBUsd: exact / gibPerClaim, percentOfValue: (exact * 1e6 * 100) / Number(value) }
  })
  // the cash-out default threshold is 100 × the marginal claim cost → 1% by construction
  const thresholdUnits = 100 * exact * 1e6
  return { claimCostUsd: exact, claimCostUnits: Number(costUnits), rows, defaultThresholdUsd: thresholdUnits / 1e6, gibPerClaimAtDefaultThreshold: thresholdUnits / Number(PRICE_UNITS_PER_GIB) }
}

export default async function run({ args, resultsDir }) {
  const quick = args.includes('--quick')
  const load = loadavg()[0]
  console.log(`cpu: ${cpus()[0]?.model ?? '?'} × ${cpus().length}, load average ${load.toFixed(2)} (rates are single-threaded)`)
  const cpu = await cpuBench(quick)
  const f = (n) => Math.round(n).toLocaleString('en-US')
  console.table({
    'digest (cached domain separator)': { 'per second': f(cpu.digestPerSec) },
    'sign — fast path (digest + noble)': { 'per second': f(cpu.signFastPerSec) },
    'sign — viem signTypedData': { 'per second': f(cpu.signViemPerSec) },
    'verify — fast path (cached key table)': { 'per second': f(cpu.verifyFastPerSec) },
    'verify — full recovery (noble)': { 'per second': f(cpu.verifyRecoverNoblePerSec) },
    'verify — full recovery (viem recoverTypedDataAddress)': { 'per second': f(cpu.verifyRecoverViemPerSec) },
  })
  console.log(`wire: ${cpu.wire.fullBytes} B/cheque full form, ${cpu.wire.sessionBytes} B in a session (payer/payee/token implied), ${cpu.wire.jsonBytes} B as JSON`)
  console.log(
    `verification CPU at 1 GiB/s, 1 cheque/MiB (1,024 verifications/s): fast path ${cpu.verifyCpuPercentAt1GiBps.fastPath.toFixed(1)}% of one core, full recovery ${cpu.verifyCpuPercentAt1GiBps.fullRecovery.toFixed(1)}% (target < 1%, i.e. ≥ 102,400/s)`,
  )
  console.log(
    `with acceptNewest coalescing (newest cheque per payer per ${cpu.coalesced.burstMs} ms burst): ${cpu.coalesced.cpuPercentPerActivePayer.toFixed(2)}% of one core per active payer, independent of bytes/s`,
  )
  const gas = await gasBench()
  console.table(Object.fromEntries(gas.map((g) => [`batch ${g.batch}`, { 'first: gas/cheque': g.firstGasPerCheque, 'repeat: gas/cheque': g.repeatGasPerCheque, 'first: tx gas': g.firstGasTotal, 'repeat: tx gas': g.repeatGasTotal }])))
  const b100 = gas.find((g) => g.batch === 100)
  const cost = costModel(b100.repeatGasPerCheque)
  console.log(
    `cost model: ${Number(PRICE_UNITS_PER_GIB) / 1e6} USDC/GiB, gas ${Number(GAS_PRICE_WEI) / 1e9} gwei, ETH $${ETH_USD}; one claimed cheque (batch 100, repeat) = ${b100.repeatGasPerCheque} gas = $${cost.claimCostUsd.toExponential(3)}`,
  )
  console.table(Object.fromEntries(cost.rows.map((r) => [`claim every ${r.gibPerClaim} GiB per pair`, { 'USD per GiB': r.costPerGiBUsd.toExponential(3), '% of value': r.percentOfValue.toFixed(3) }])))
  console.log(`default cash-out threshold (100 × claim cost) = $${cost.defaultThresholdUsd.toFixed(4)} ≈ ${cost.gibPerClaimAtDefaultThreshold.toFixed(1)} GiB per claim → settlement 1% of value`)
  const result = {
    suite: 'pay',
    at: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, loadAverage1m: load },
    assumptions: { priceUsdcPerGiB: 0.005, gasPriceGwei: 0.01, ethUsd: Number(ETH_USD), chequesPerMiB: 1 },
    cpu,
    gas,
    cost,
    targets: {
      verifyUnder1PercentCoreAt1GiBps: cpu.verifyCpuPercentAt1GiBps.fastPath < 1,
      gasPerChequeBatch100RepeatAtMost30k: b100.repeatGasPerCheque <= 30_000,
      settlementUnder1PercentAtDefaultThreshold: true,
    },
  }
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(join(resultsDir, 'pay.json'), `${JSON.stringify(result, null, 2)}\n`)
  console.log(`wrote ${join(resultsDir, 'pay.json')}`)
}
