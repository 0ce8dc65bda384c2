/** Base64 of bytes without Node's Buffer (the browser entry must not need it). */

/** @example bytesToBase64(new Uint8Array([1, 2, 3])) // 'AQID' */
export function bytesToBase64(bytes: Uint8Array): string {
  let s = ''
  // chunks keep String.fromCharCode's argument list short
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(s)
}
