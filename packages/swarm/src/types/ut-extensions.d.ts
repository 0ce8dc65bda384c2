// Minimal types for ut_metadata 4 and ut_pex 5 (BEP 9, BEP 11); they ship none.
declare module 'ut_metadata' {
  import type { WireExtensionClass } from 'bittorrent-protocol'
  export default function utMetadata(metadata?: Uint8Array): WireExtensionClass
}
declare module 'ut_pex' {
  import type { WireExtensionClass } from 'bittorrent-protocol'
  export default function utPex(): WireExtensionClass
}
