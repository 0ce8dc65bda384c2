// Per-process CPU time and memory from Linux /proc, so each side of a benchmark (downloader,
// each seeder) is measured in its own process whatever its language.
import { readFileSync } from 'node:fs'

const CLOCK_TICKS = 100 // USER_HZ; 100 on every Linux we run on (getconf CLK_TCK)

/**
 * CPU seconds (user + system, all threads) the process has used so far, or undefined if it is gone.
 * @example const before = cpuSeconds(pid)
 */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name may contain spaces; fields resume after its closing paren
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return undefined
  }
}

/**
 * CPU seconds (user + system) of this process's children that have exited and been waited for
 * (cutime + cstime): the difference around a `spawnSync` is that child's CPU.
 * @example const before = childrenCpuSeconds(); spawnSync(...); const cpu = childrenCpuSeconds() - before
 */
export function childrenCpuSeconds() {
  const stat = readFileSync('/proc/self/stat', 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS
}

/**
 * Resident memory now, in bytes: `rss` (VmRSS) and `anon` (RssAnon, the heap and buffers rather
 * than page-cache-backed file mappings).
 * @example const { rss, anon } = memory(pid)
 */
export function memory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024
    return { rss: kib('VmRSS'), anon: kib('RssAnon'), hwm: kib('VmHWM') }
  } catch {
    return undefined
  }
}

/**
 * Samples a process's memory every `intervalMs` and keeps the peaks.
 * @example const s = sampleMemory(pid); ...; s.stop(); s.peak // { rss, anon }
 */
export function sampleMemory(pid, intervalMs = 100) {
  const peak = { rss: 0, anon: 0 }
  const take = () => {
    const m = memory(pid)
    if (!m) return
    // VmHWM catches a spike between samples for RSS; RssAnon has no high-water mark
    peak.rss = Math.max(peak.rss, m.rss, m.hwm)
    peak.anon = Math.max(peak.anon, m.anon)
  }
  take()
  const timer = setInterval(take, intervalMs)
  return {
    peak,
    stop() {
      take()
      clearInterval(timer)
    },
  }
}
