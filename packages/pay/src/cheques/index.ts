/** Cheques: types, signing, verification, JSON and binary forms. */
export * from './types.js'
export * from './errors.js'
export * from './signature.js'
export * from './digest.js'
export * from './sign.js'
export * from './verify.js'
export * from './schema.js'
export * from './wire.js'
