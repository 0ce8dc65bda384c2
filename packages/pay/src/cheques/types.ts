/**
 * The cheque: an EIP-712 signed promise "payer owes payee `cumulativeAmount` of `token` in total".
 * Cumulative, so a newer cheque supersedes every older one and losing one costs nothing; the
 * escrow pays `cumulativeAmount − paidOut` on claim. Spec: EIP-712 typed structured data.
 */
import type { Address, Hex } from 'viem'
import type { TokenUnits } from '@bitcdn/core'

/** The largest cumulative amount the escrow's `uint128` field holds. */
export const MAX_CUMULATIVE = (1n << 128n) - 1n

/** One cheque as the escrow's `Cheque` struct. */
export interface Cheque {
  payer: Address
  payee: Address
  token: Address
  /** Total owed to `payee` by `payer` in `token` since the pair began, in token base units. */
  cumulativeAmount: TokenUnits
}

/** A cheque with its 65-byte (r ‖ s ‖ v) signature, as `claim()` takes it. */
export interface SignedCheque {
  cheque: Cheque
  signature: Hex
}

/** The EIP-712 domain of one escrow deployment. */
export interface ChequeDomain {
  chainId: number
  verifyingContract: Address
}

/** Domain name and version the escrow hard-codes. */
export const CHEQUE_DOMAIN_NAME = 'BitCDNEscrow'
export const CHEQUE_DOMAIN_VERSION = '1'

/** EIP-712 types of the cheque, exactly as the escrow declares them. */
export const chequeTypes = {
  Cheque: [
    { name: 'payer', type: 'address' },
    { name: 'payee', type: 'address' },
    { name: 'token', type: 'address' },
    { name: 'cumulativeAmount', type: 'uint128' },
  ],
} as const

/**
 * The full viem domain object for a deployment.
 * @example const d = typedDomain({ chainId: 31337, verifyingContract: escrow })
 */
export function typedDomain(domain: ChequeDomain) {
  return {
    name: CHEQUE_DOMAIN_NAME,
    version: CHEQUE_DOMAIN_VERSION,
    chainId: domain.chainId,
    verifyingContract: domain.verifyingContract,
  } as const
}
