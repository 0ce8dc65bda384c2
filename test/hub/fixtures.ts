/** Registrations for hub tests: valid fields for network `test` on anvil's usual addresses. */
import type { RegistrationInput } from '@bitcdn/hub'

const ESCROW = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const TOKEN = '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512'

export function registration(payee: `0x${string}`, over: Partial<RegistrationInput> = {}): RegistrationInput {
  return { payee, endpoint: '127.0.0.1:6881', pricePerGiB: '10000', token: TOKEN, chainId: 31337, escrow: ESCROW, hub: 'test', timestamp: Date.now(), ...over }
}
