/**
 * Server-Sent Events read from a fetch body (WHATWG HTML §9.2 event stream), so the same code runs
 * in browsers and Node; EventSource cannot send headers and does not exist in Node 20. An event
 * larger than `maxEventBytes` ends the stream: a server cannot make us buffer without bound.
 */
import { sdkError } from '../errors.js'

export interface ServerSentEvent {
  event: string
  data: string
}

/**
 * @throws BitcdnError BITCDN_ERR_SDK_BAD_RESPONSE (an event over the size limit)
 * @example for await (const e of readServerSentEvents(res.body!)) console.log(e.event, e.data)
 */
export async function* readServerSentEvents(body: ReadableStream<Uint8Array>, signal?: AbortSignal, maxEventBytes = 1 << 20): AsyncIterable<ServerSentEvent> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  const abort = () => void reader.cancel().catch(() => {})
  signal?.addEventListener('abort', abort, { once: true })
  let buffer = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += value.replace(/\r\n?/g, '\n')
      let end: number
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const e = parseBlock(block)
        if (e) yield e
      }
      if (buffer.length > maxEventBytes) throw sdkError('badResponse', `server-sent event larger than ${maxEventBytes} bytes`)
    }
  } finally {
    signal?.removeEventListener('abort', abort)
    abort()
  }
}

function parseBlock(block: string): ServerSentEvent | undefined {
  let event = 'message'
  const data: string[] = []
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'event') event = value
    else if (field === 'data') data.push(value)
  }
  return data.length ? { event, data: data.join('\n') } : undefined
}
