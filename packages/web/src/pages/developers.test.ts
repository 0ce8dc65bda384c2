import { describe, expect, it } from 'vitest'
import md from '../../../sdk/README.md?raw'
import { sdkExamples } from './developers.js'

describe('developers page: SDK examples', () => {
  it('takes every titled js example of the SDK README, in order', () => {
    const ex = sdkExamples(md)
    const blocks = md.match(/^```js$/gm)?.length ?? 0
    expect(blocks).toBeGreaterThan(2)
    expect(ex).toHaveLength(blocks)
    expect(ex[0]!.title).toBe('Read the network from a hub')
    expect(ex[0]!.code).toContain("from '@bitcdn/sdk'")
    expect(ex.every((e) => !e.code.includes('```'))).toBe(true)
  })
})
