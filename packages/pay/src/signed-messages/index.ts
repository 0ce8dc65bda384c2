/** Text messages signed for a hub (EIP-191): the node registration and the catalogue entry. */
export { canonicalJson } from './canonical-json.js'
export { REGISTRATION_PREFIX, REGISTRATION_REFRESH_MS, addressField, uintString, infoHashField, registrationFieldsSchema, registrationText, signRegistration, type RegistrationFields, type RegistrationInput, type SignedRegistration } from './node-registration.js'
export { CATALOGUE_PREFIX, catalogueFieldsSchema, catalogueText, verifiedCataloguePublisher, type CatalogueFields, type CatalogueInput } from './catalogue-entry.js'
