/** Text messages signed by a payout key for a hub (EIP-191): the node registration. */
export { canonicalJson } from './canonical-json.js'
export { REGISTRATION_PREFIX, REGISTRATION_REFRESH_MS, addressField, uintString, infoHashField, registrationFieldsSchema, registrationText, signRegistration, type RegistrationFields, type RegistrationInput, type SignedRegistration } from './node-registration.js'
