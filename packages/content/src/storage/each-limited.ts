/**
 * Run an async step over many items with a bounded number in flight. A piece of a torrent with
 * thousands of tiny files is thousands of open/read/close calls; one at a time, each waits a full
 * thread-pool round trip, and a 16 KiB piece took seconds (peers timed its requests out). With a
 * few dozen in flight the pool stays busy and the cost is the system calls themselves.
 */

/**
 * Call `fn` for every item, at most `limit` at once. Rejects with the first error, but only after
 * every started call settled (none still writes into a caller's buffer).
 * @example
 * await eachLimited(spans, 32, (span) => readSpan(span))
 */
export async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  if (items.length === 1) return fn(items[0]!)
  let next = 0
  let failed = false
  let firstError: unknown
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++]!
      try {
        await fn(item)
      } catch (err) {
        if (!failed) firstError = err
        failed = true
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  if (failed) throw firstError
}
