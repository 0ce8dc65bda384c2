/**
 * Production and test networks the escrow is meant for: chain id, Circle's native USDC, Tether's
 * USDT where Tether issues it there (undefined otherwise — bridged look-alikes are not listed),
 * and the withdrawal notice (≥ 48 h). RPC URLs never live here: they come from the caller (flag,
 * config file or the env variable named by `rpcUrlEnv`), since provider URLs often embed API keys.
 *
 * Sources: Circle's "USDC contract addresses" page (native USDC, mainnets and testnets), Tether's
 * supported-protocols list / USDT0 docs (Arbitrum's USDT is now USD₮0 at the same address).
 */
import type { Address } from 'viem'
import { ChainError } from './errors.js'

/** Minimum notice for withdrawals on a real network: two days, so payees can settle in time. */
export const MIN_PRODUCTION_WITHDRAW_DELAY_SECONDS = 48 * 60 * 60

/** One network the escrow can be deployed to. */
export interface ChainPreset {
  /** Stable id used by the CLI (`--preset base-sepolia`) and written as the deployment's `network`. */
  name: PresetName
  /** Human name. */
  label: string
  chainId: number
  testnet: boolean
  /** Existing stablecoins to allow on the escrow. USDC is always present; USDT only where native. */
  tokens: { USDC: Address; USDT?: Address }
  /** Notice for withdrawals/deallocations and signer-rotation grace, in seconds (≥ 48 h). */
  withdrawDelaySeconds: number
  /** Environment variable the RPC URL is read from when none is passed. */
  rpcUrlEnv: string
}

export type PresetName =
  | 'base'
  | 'base-sepolia'
  | 'arbitrum-one'
  | 'arbitrum-sepolia'
  | 'op-mainnet'
  | 'op-sepolia'
  | 'polygon'
  | 'polygon-amoy'

const DELAY = MIN_PRODUCTION_WITHDRAW_DELAY_SECONDS

/** Every preset, by name. */
export const presets: Readonly<Record<PresetName, ChainPreset>> = {
  base: {
    name: 'base',
    label: 'Base',
    chainId: 8453,
    testnet: false,
    // Tether does not issue USDT on Base; the "USDT" there is a bridged token, so none is listed.
    tokens: { USDC: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913' },
    withdrawDelaySeconds: DELAY,
    rpcUrlEnv: 'BITCDN_RPC_URL_BASE',
  },
  'base-sepolia': {
    name: 'base-sepolia',
    label: 'Base Sepolia',
    chainId: 84532,
    testnet: true,
    tokens: { USDC: '0x036CbD53842c5426634e7929541eC2318f3dCF7e' },
    withdrawDelaySeconds: DELAY,
    rpcUrlEnv: 'BITCDN_RPC_URL_BASE_SEPOLIA',
  },
  'arbitrum-one': {
    name: 'arbitrum-one',
    label: 'Arbitrum One',
    chainId: 42161,
    testnet: false,
    tokens: {
      USDC: '0xaf88d065e77c8cC2239327C5EDb3A432268e5831',
      USDT: '0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9',
    },
    withdrawDelaySeconds: DELAY,
    rpcUrlEnv: 'BITCDN_RPC_URL_ARBITRUM_ONE',
  },
  'arbitrum-sepolia': {
    name: 'arbitrum-sepolia',
    label: 'Arbitrum Sepolia',
    chainId: 421614,
    testnet: true,
    tokens: { USDC: '0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d' },
    withdrawDelaySeconds: DELAY,
    rpcUrlEnv: 'BITCDN_RPC_URL_ARBITRUM_SEPOLIA',
  },
  'op-mainnet': {
    name: 'op-mainnet',
    label: 'OP Mainnet',
    chainId: 10,
    testnet: false,
    tokens: {
      USDC: '0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85',
      USDT: '0x94b008aA00579c1307B0EF2c499aD98a8ce58e58',
    },
    withdrawDelaySeconds: DELAY,
    rpcUrlEnv: 'BITCDN_RPC_URL_OP_MAINNET',
  },
  'op-sepolia': {
    name: 'op-sepolia',
    label: 'OP Sepolia',
    chainId: 11155420,
    testnet: true,
    tokens: { USDC: '0x5fd84259d66Cd46123540766Be93DFE6D43130D7' },
    withdrawDelaySeconds: DELAY,
    rpcUrlEnv: 'BITCDN_RPC_URL_OP_SEPOLIA',
  },
  polygon: {
    name: 'polygon',
    label: 'Polygon PoS',
    chainId: 137,
    testnet: false,
    tokens: {
      USDC: '0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359',
      USDT: '0xc2132D05D31c914a87C6611C10748AEb04B58e8F',
    },
    withdrawDelaySeconds: DELAY,
    rpcUrlEnv: 'BITCDN_RPC_URL_POLYGON',
  },
  'polygon-amoy': {
    name: 'polygon-amoy',
    label: 'Polygon Amoy',
    chainId: 80002,
    testnet: true,
    tokens: { USDC: '0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582' },
    withdrawDelaySeconds: DELAY,
    rpcUrlEnv: 'BITCDN_RPC_URL_POLYGON_AMOY',
  },
}

/** Names of every preset, for CLI choices. */
export const presetNames = Object.keys(presets) as PresetName[]

/**
 * Looks up a preset by name.
 * @throws {ChainError} BITCDN_ERR_PRESET_UNKNOWN listing the valid names.
 * @example getPreset('base-sepolia').chainId // 84532
 */
export function getPreset(name: string): ChainPreset {
  const preset = (presets as Record<string, ChainPreset | undefined>)[name]
  if (!preset) {
    throw new ChainError('BITCDN_ERR_PRESET_UNKNOWN', `unknown network preset "${name}"; use one of: ${presetNames.join(', ')}`, {
      details: { name },
    })
  }
  return preset
}

/**
 * The RPC URL for a preset: `explicit` if given, else the preset's env variable.
 * @throws {ChainError} BITCDN_ERR_PRESET_INVALID when neither is set.
 * @example presetRpcUrl(getPreset('base'), undefined, process.env)
 */
export function presetRpcUrl(preset: ChainPreset, explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const url = explicit ?? env[preset.rpcUrlEnv]
  if (!url) {
    throw new ChainError(
      'BITCDN_ERR_PRESET_INVALID',
      `no RPC URL for ${preset.label}: pass --rpc-url or set ${preset.rpcUrlEnv}`,
      { details: { preset: preset.name } },
    )
  }
  return url
}
