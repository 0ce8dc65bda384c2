import { describe, expect, it } from 'vitest'
import { readServerSentEvents } from './sse.js'

/** A body that delivers `chunks` one by one (as a socket would split them). */
function body(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder()
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(enc.encode(ch))
      c.close()
    },
  })
}
async function all(chunks: string[], max?: number) {
  const out = []
  for await (const e of readServerSentEvents(body(chunks), undefined, max)) out.push(e)
  return out
}

describe('readServerSentEvents', () => {
  it('joins events split across chunks, skips comments, joins multi-line data, accepts CRLF', async () => {
    expect(await all([': keep-alive\n\nevent: st', 'ats\ndata: {"a"', ':1}\n\n', 'data: x\r\ndata: y\r\n\r\n'])).toEqual([
      { event: 'stats', data: '{"a":1}' },
      { event: 'message', data: 'x\ny' },
    ])
  })

  it('an event that never ends is cut off at the size limit (a server cannot make us buffer without bound)', async () => {
    const err = await all(['data: ', 'x'.repeat(2000)], 1024).then(() => undefined, (e: unknown) => e)
    expect((err as { code?: string }).code).toBe('BITCDN_ERR_SDK_BAD_RESPONSE')
  })

  it('an incomplete last event is not yielded', async () => {
    expect(await all(['data: whole\n\n', 'data: half'])).toEqual([{ event: 'message', data: 'whole' }])
  })
})
