// Types of process.js for the TypeScript tests that share its helpers.
export function startProcess(command: string, args: string[], ready: (line: string) => boolean, env?: Record<string, string>): Promise<{ matched: string; pid: number; stop: () => Promise<void> }>
/** A TCP port free on loopback right now (bound, then released). */
export function freePort(): Promise<number>
export function gitCommit(): string | undefined
/** Waits (at most timeoutMs) for the 1-minute load average to fall to max; returns the load then. */
export function settleLoad(max?: number, timeoutMs?: number): Promise<number>
