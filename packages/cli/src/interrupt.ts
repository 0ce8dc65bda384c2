/**
 * Long-running commands (seed, tracker) run until the user presses Ctrl-C or a supervisor sends
 * SIGTERM; both mean "stop cleanly". A second Ctrl-C while stopping exits at once, so a stuck
 * shutdown never traps the user.
 */

/** Exit code of a command the user interrupted (128 + SIGINT, as shells report it). */
export const EXIT_INTERRUPTED = 130

/**
 * Resolves with the signal's name on the first SIGINT or SIGTERM.
 * @example
 * await untilInterrupted()
 * await server.stop()
 */
export function untilInterrupted(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      // a second signal during shutdown: give up on cleanliness
      process.once('SIGINT', () => process.exit(130))
      process.once('SIGTERM', () => process.exit(143))
      resolve(signal)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}
