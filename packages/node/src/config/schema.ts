/**
 * The node's config, as read from `config.toml`: a zod schema over the TOML table (snake_case
 * keys, human units — "0.50" USDC, "50GiB") that yields the typed `NodeConfig` (camelCase, bigint
 * token base units, bytes). Unknown keys are errors: a typo must not silently fall back to a
 * default.
 */
import { z } from 'zod'
import { isAddress, getAddress, type Address } from 'viem'

const DECIMALS = 6

/** "12.5" → 12_500_000n, exact (no floats); zero allowed. */
const amount = z
  .string()
  .regex(/^\d+(\.\d{1,6})?$/, `write an amount such as "0.50" (at most ${DECIMALS} decimals)`)
  .transform((s) => {
    const [whole, frac = ''] = s.split('.')
    return BigInt(whole!) * 10n ** BigInt(DECIMALS) + BigInt(frac.padEnd(DECIMALS, '0') || '0')
  })

const UNITS: Record<string, number> = { '': 1, B: 1, K: 1024, KB: 1024, KIB: 1024, M: 1024 ** 2, MB: 1024 ** 2, MIB: 1024 ** 2, G: 1024 ** 3, GB: 1024 ** 3, GIB: 1024 ** 3, T: 1024 ** 4, TB: 1024 ** 4, TIB: 1024 ** 4 }

/** "50GiB" / "512MiB" / 1048576 → bytes. */
const bytes = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^\s*\d+\s*([KMGT]i?B?|B)?\s*$/i, 'write a size such as "50GiB" or "512MiB"')
    .transform((s) => {
      const m = /^\s*(\d+)\s*([A-Za-z]*)\s*$/.exec(s)!
      return Number(m[1]) * UNITS[m[2]!.toUpperCase()]!
    }),
])

const port = z.number().int().min(0).max(65535)
const host = z.string().min(1)
const url = z.string().refine((s) => {
  try {
    return ['http:', 'https:', 'udp:', 'ws:', 'wss:'].includes(new URL(s).protocol)
  } catch {
    return false
  }
}, 'not an http(s)/udp/ws(s) URL')
const infoHash = z.string().regex(/^[0-9a-fA-F]{40}$/, 'an info-hash is 40 hex characters').transform((s) => s.toLowerCase())
const address = z.string().refine((s) => isAddress(s), 'not an 0x address').transform((s) => getAddress(s) as Address)

/** The TOML document, as written by `bitcdn node init`. */
export const configFileSchema = z
  .object({
    data_dir: z.string().min(1),
    storage_quota: bytes,
    listen: z.object({ host, port }).strict(),
    trackers: z.array(url).default([]),
    price: z
      .object({
        token: z.enum(['USDC', 'USDT']).default('USDC'),
        per_gib: amount,
        soft_allowance: amount.prefault('0'),
        // hours a buyer's unpaid debt stays before it is written off (0 or "off": never)
        forgive_unpaid_after_hours: z
          .union([z.number().nonnegative().max(87_600, 'at most 87600 hours (10 years); "off" to never forgive'), z.literal('off')], { error: 'write a number of hours such as 24, or "off"' })
          .default(24),
      })
      .strict(),
    chain: z
      .object({
        deployment: z.string().default(''),
        rpc_url: z.string().default(''),
        preset: z.string().default(''),
      })
      .strict()
      .prefault({}),
    free: z
      .object({
        enabled: z.boolean().default(false),
        info_hashes: z.array(infoHash).default([]),
      })
      .strict()
      .prefault({}),
    cashout: z
      .object({
        threshold: amount.prefault('5'),
        max_age_hours: z.number().positive().default(24),
        gas_price_cap_gwei: z.number().nonnegative().default(0),
        confirmations: z.number().int().min(1).max(64).default(2),
        withdraw_to: z.union([z.literal(''), address]).default(''),
      })
      .strict()
      .prefault({}),
    admin: z.object({ host, port }).strict(),
    hub: z
      .object({
        urls: z.array(z.string().refine((s) => /^https?:$/.test(safeProtocol(s)), 'not an http(s) URL')).max(16).default([]),
        endpoint: z.union([z.literal(''), z.string().regex(/^[A-Za-z0-9.\-:[\]]+:[0-9]{1,5}$/, 'host:port')]).default(''),
        region: z.string().max(32).default(''),
      })
      .strict()
      .prefault({}),
    auto_pin: z
      .object({
        hubs: z.array(url).max(16).default([]),
        publishers: z.array(address).max(256).default([]),
        quota: bytes.default(0),
        max_object: bytes.default(4 * 1024 ** 3),
        interval_s: z.number().positive().max(86_400).default(30),
        allow_private_sources: z.boolean().default(false),
      })
      .strict()
      // "anyone's entries" would let any publisher make the node fetch URLs of their choosing
      .refine((a) => a.hubs.length === 0 || a.quota === 0 || a.publishers.length > 0, { message: 'auto-pin needs publishers = ["0x…"]: the catalogue publishers whose entries are pinned', path: ['publishers'] })
      .prefault({}),
  })
  .strict()

function safeProtocol(s: string): string {
  try {
    return new URL(s).protocol
  } catch {
    return ''
  }
}

/** The node's settings, typed and in base units. */
export interface NodeConfig {
  dataDir: string
  storageQuotaBytes: number
  listen: { host: string; port: number }
  trackers: string[]
  /** `forgiveUnpaidAfterMs`: an idle buyer's unpaid debt is written off after this long; 0 never. */
  price: { token: 'USDC' | 'USDT'; perGiBUnits: bigint; softAllowanceUnits: bigint; forgiveUnpaidAfterMs: number }
  /** Empty strings mean "the default": deployment file `$BITCDN_HOME/deployment.json`, its RPC URL, no preset. */
  chain: { deployment: string; rpcUrl: string; preset: string }
  free: { enabled: boolean; infoHashes: string[] }
  cashout: { thresholdUnits: bigint; maxAgeMs: number; gasPriceCapWei: bigint | undefined; confirmations: number; withdrawTo: Address | undefined }
  admin: { host: string; port: number }
  /** Hubs the node registers with (their API base URLs), the endpoint it tells them (empty: the listen address), its region. */
  hub: { urls: string[]; endpoint: string; region: string }
  /** Pin hub catalogue entries from `publishers` up to `quotaBytes`; off when 0 or no hubs. `xs` URLs and web seeds must be public unless `allowPrivateSources`. */
  autoPin: { hubs: string[]; publishers: Address[]; quotaBytes: number; maxObjectBytes: number; intervalMs: number; allowPrivateSources: boolean }
}

/**
 * Maps a validated TOML table to the typed config.
 * @example toNodeConfig(configFileSchema.parse(table))
 */
export function toNodeConfig(f: z.output<typeof configFileSchema>): NodeConfig {
  return {
    dataDir: f.data_dir,
    storageQuotaBytes: f.storage_quota,
    listen: f.listen,
    trackers: f.trackers,
    price: {
      token: f.price.token,
      perGiBUnits: f.price.per_gib,
      softAllowanceUnits: f.price.soft_allowance,
      forgiveUnpaidAfterMs: f.price.forgive_unpaid_after_hours === 'off' ? 0 : Math.round(f.price.forgive_unpaid_after_hours * 3_600_000),
    },
    chain: { deployment: f.chain.deployment, rpcUrl: f.chain.rpc_url, preset: f.chain.preset },
    free: { enabled: f.free.enabled, infoHashes: f.free.info_hashes },
    cashout: {
      thresholdUnits: f.cashout.threshold,
      maxAgeMs: Math.round(f.cashout.max_age_hours * 3_600_000),
      gasPriceCapWei: f.cashout.gas_price_cap_gwei > 0 ? BigInt(Math.round(f.cashout.gas_price_cap_gwei * 1e9)) : undefined,
      confirmations: f.cashout.confirmations,
      withdrawTo: f.cashout.withdraw_to === '' ? undefined : f.cashout.withdraw_to,
    },
    admin: f.admin,
    hub: { urls: f.hub.urls.map((u) => u.replace(/\/+$/, '')), endpoint: f.hub.endpoint, region: f.hub.region },
    autoPin: {
      hubs: f.auto_pin.hubs,
      publishers: f.auto_pin.publishers,
      quotaBytes: f.auto_pin.quota,
      maxObjectBytes: f.auto_pin.max_object,
      intervalMs: Math.round(f.auto_pin.interval_s * 1000),
      allowPrivateSources: f.auto_pin.allow_private_sources,
    },
  }
}
