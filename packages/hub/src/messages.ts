/**
 * @bitcdn/hub/messages — only the signed-message formats (registrations, catalogue entries), with
 * no server code, so browsers and the SDK sign exactly what the hub verifies.
 */
export { signRegistration, verifyRegistration, registrationKind, REFRESH_MS, STALE_MS, type RegistrationFields, type RegistrationInput, type SignedRegistration } from './registry/registration.js'
export { signCatalogueEntry, verifyCatalogueEntry, catalogueKind, type CatalogueFields, type CatalogueInput, type SignedCatalogueEntry } from './registry/catalogue.js'
export { canonicalJson, messageText, MAX_CLOCK_SKEW_MS, type Signed } from './registry/signed-message.js'
export { HubErrorCode } from './errors.js'
