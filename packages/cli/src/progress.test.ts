import { describe, expect, it } from 'vitest'
import { createProgressReporter, etaSeconds, formatDuration, renderBar, renderLine } from './progress.js'

const MiB = 1024 * 1024
const half = { have: 5 * MiB, total: 10 * MiB, downloadRate: MiB, peers: 3 }

describe('progress rendering', () => {
  it('estimates the time left from the rate, and gives up without one', () => {
    expect(etaSeconds(half)).toBe(5)
    expect(etaSeconds({ ...half, downloadRate: 0 })).toBeUndefined()
    expect(formatDuration(5)).toBe('0:05')
    expect(formatDuration(3725)).toBe('1:02:05')
    expect(formatDuration(undefined)).toBe('--:--')
  })

  it('draws a bar of percent, rate, peers and ETA that fits the terminal', () => {
    const bar = renderBar(half, 80)
    expect(bar).toMatch(/^\[#+-+\]  50\.0%\s+1\.0 MiB\/s  peers 3  ETA 0:05$/)
    expect(bar.length).toBeLessThanOrEqual(80)
    expect(renderBar({ ...half, have: 0, total: 0 }, 80)).toContain('?.?%')
  })

  it('writes plain lines, no control codes, when not on a terminal', () => {
    expect(renderLine({ ...half, webSeeds: 1 })).toBe('progress 50.0% 5.0 MiB/10.0 MiB 1.0 MiB/s peers 3 web 1 eta 0:05')
    const written: string[] = []
    const reporter = createProgressReporter({ write: (t: string) => written.push(t) }, { lineIntervalMs: 60_000 })
    reporter.update(half)
    reporter.update(half) // within the interval: dropped
    reporter.note('warning: tracker down')
    reporter.finish({ ...half, have: half.total })
    expect(written).toEqual([`${renderLine(half)}\n`, 'warning: tracker down\n', `${renderLine({ ...half, have: half.total })}\n`])
    expect(written.join('')).not.toContain('\x1b')
  })

  it('redraws in place on a terminal and ends on a fresh line', () => {
    const written: string[] = []
    const reporter = createProgressReporter({ write: (t: string) => written.push(t), isTTY: true, columns: 80 })
    reporter.update(half)
    reporter.finish(half)
    expect(written[0]).toMatch(/^\r\x1b\[2K\[/)
    expect(written.at(-1)).toBe('\n')
  })
})
