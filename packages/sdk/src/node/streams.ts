/** Node streams over the gateway client's web streams. */
import { Readable } from 'node:stream'
import type { ReadableStream as NodeWebStream } from 'node:stream/web'
import type { ContentRequest, GatewayClient } from '../clients/gateway-client.js'

/**
 * A file (or range) from a gateway as a Node `Readable` (pipe it to a file or an HTTP response).
 * @example (await gatewayReadable(gw, infoHash, { path: 'a.mp4' })).pipe(createWriteStream('a.mp4'))
 */
export async function gatewayReadable(gateway: GatewayClient, infoHash: string, req?: ContentRequest): Promise<Readable> {
  return Readable.fromWeb((await gateway.stream(infoHash, req)) as unknown as NodeWebStream<Uint8Array>)
}
