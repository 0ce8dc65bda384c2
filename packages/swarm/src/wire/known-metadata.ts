/**
 * Serve an info dictionary we already hold over ut_metadata (BEP 9) without the library's
 * `setMetadata`, which bdecodes the dictionary twice and bencodes it once more per connection to
 * emit a 'metadata' event we do not need: for a 100,000-file torrent (a 3.8 MB info dictionary)
 * that was ~2 s of CPU for every peer that connected. The caller vouches for the bytes (they are
 * the parsed torrent's, or a fetch that hashed to the info-hash).
 */

/** The fields of ut_metadata 4's extension that `setMetadata` sets. */
interface UtMetadataState {
  metadata: Uint8Array | null
  _metadataComplete: boolean
  _metadataSize: number | null
  _fetching: boolean
  _wire: { extendedHandshake: Record<string, unknown> }
}

/**
 * Make `ext` (a wire's `ut_metadata`) serve `infoBuffer` and stop fetching, as `setMetadata` would.
 * @example
 * serveKnownMetadata(wire.ut_metadata, torrent.infoBuffer)
 */
export function serveKnownMetadata(ext: object, infoBuffer: Uint8Array): void {
  const m = ext as UtMetadataState
  if (m._metadataComplete) return
  m._fetching = false
  m.metadata = infoBuffer
  m._metadataComplete = true
  m._metadataSize = infoBuffer.length
  m._wire.extendedHandshake.metadata_size = infoBuffer.length
}
