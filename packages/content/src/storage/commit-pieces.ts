/**
 * The one safe order for persisting progress: flush the store, then record in the journal. Kept
 * as a function so callers cannot get the order wrong (see resume-journal.ts for the invariant).
 */
import type { ResumeJournal } from './resume-journal.js'
import type { PieceStore } from './types.js'

/**
 * Make pieces durable and then record them as had.
 * @example
 * await commitPieces(store, journal, verifiedSinceLastCommit)
 */
export async function commitPieces(store: PieceStore, journal: ResumeJournal, indices: number[]): Promise<void> {
  if (indices.length === 0) return
  await store.flush()
  await journal.record(indices)
}
