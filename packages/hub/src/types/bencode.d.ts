// Minimal declarations for `bencode` (v4 ships no types). We only encode with it: decoding of
// untrusted input goes through our strict metainfo/bdecode.ts.
declare module 'bencode' {
  /** Encodable values: dict keys are sorted; null/undefined entries are dropped. */
  export type Encodable =
    | Uint8Array
    | string
    | number
    | boolean
    | null
    | undefined
    | Encodable[]
    | { [key: string]: Encodable }
  const bencode: {
    encode(data: Encodable): Uint8Array
    decode(data: Uint8Array, encoding?: string): unknown
    encodingLength(data: Encodable): number
  }
  export default bencode
}
