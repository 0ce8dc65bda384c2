// The part of `ws` (a devDependency without bundled types) that the tests use: a client socket.
declare module 'ws' {
  import { EventEmitter } from 'node:events'
  export default class WebSocket extends EventEmitter {
    static readonly OPEN: 1
    readonly readyState: number
    constructor(url: string)
    send(data: string | Buffer): void
    close(code?: number): void
    terminate(): void
    on(event: 'message', listener: (data: Buffer) => void): this
    on(event: 'open' | 'close', listener: () => void): this
    on(event: 'error', listener: (err: Error) => void): this
    once(event: 'message', listener: (data: Buffer) => void): this
    once(event: 'open' | 'close', listener: () => void): this
    once(event: 'error', listener: (err: Error) => void): this
  }
}
