/**
 * A typed client of a node's admin API (`packages/node`, `bitcdn node start`): status, pins,
 * earnings, cash-out, out-of-band cheques — paths and bodies from the node's OpenAPI document
 * (src/generated/node-admin.ts). Every call sends the bearer token
 * (`$BITCDN_HOME/node/admin-token`); keep it out of browsers that are not the operator's.
 */
import createClient from 'openapi-fetch'
import type { paths } from '../generated/node-admin.js'
import { call } from '../http/call.js'
import type { BodyOf, JsonOf } from '../http/types.js'
import { sdkError } from '../errors.js'
import { bytesToBase64 } from '../publish/base64.js'
import type { ApiClientInit } from './hub-client.js'

export type NodeStatus = JsonOf<paths, '/status', 'get'>
export type PinnedContent = JsonOf<paths, '/pins', 'post'>
export type NodeEarnings = JsonOf<paths, '/earnings', 'get'>
export type CashoutResult = JsonOf<paths, '/cashout', 'post'>
export type ChequesBody = BodyOf<paths, '/cheques', 'post'>
export type ChequesResult = JsonOf<paths, '/cheques', 'post'>

/** What to pin: a magnet (or bare info-hash), the .torrent bytes, or an http(s) URL of one. */
export type PinTarget = { magnet: string } | { torrent: Uint8Array } | { url: string }
export interface PinOptions {
  /** Seed data already in this folder on the node, in place. */
  dir?: string
  /** Serve it to unpaid peers too. @default false */
  free?: boolean
  /** Cache (evictable) instead of pin. @default false */
  cache?: boolean
}

export interface NodeAdminClientInit extends ApiClientInit {
  /** The node's admin token. */
  token: string
}

export interface NodeAdminClient {
  readonly api: ReturnType<typeof createClient<paths>>
  readonly url: string
  status(): Promise<NodeStatus>
  /** @throws BitcdnApiError BITCDN_ERR_PIN_SOURCE, BITCDN_ERR_TORRENT_INVALID, BITCDN_ERR_NODE_QUOTA, ... */
  pin(target: PinTarget, opts?: PinOptions): Promise<PinnedContent>
  /** Unpin (keeps the data as evictable cache), or delete it. @throws BitcdnApiError BITCDN_ERR_PIN_UNKNOWN */
  unpin(infoHash: string, opts?: { delete?: boolean }): Promise<void>
  earnings(): Promise<NodeEarnings>
  cashout(): Promise<CashoutResult>
  cheques(body: ChequesBody): Promise<ChequesResult>
}

/**
 * @example
 * const node = createNodeAdminClient({ url: 'http://127.0.0.1:8790', token })
 * await node.pin({ torrent: metainfo.torrentFile })
 */
export function createNodeAdminClient(init: NodeAdminClientInit): NodeAdminClient {
  if (init.token.length < 16) throw sdkError('invalidArgument', 'the admin token is at least 16 characters (read it from $BITCDN_HOME/node/admin-token)')
  const api = createClient<paths>({
    baseUrl: init.url,
    ...(init.fetch ? { fetch: init.fetch } : {}),
    headers: { ...init.headers, authorization: `Bearer ${init.token}` },
  })
  return {
    api,
    url: init.url,
    status: () => call('node-admin', 'GET /status', api.GET('/status')),
    pin: (target, opts = {}) => {
      const source = 'torrent' in target ? { torrent: bytesToBase64(target.torrent) } : target
      return call('node-admin', 'POST /pins', api.POST('/pins', { body: { ...source, ...opts } }))
    },
    unpin: async (infoHash, opts = {}) => {
      await call('node-admin', 'DELETE /pins/{infoHash}', api.DELETE('/pins/{infoHash}', { params: { path: { infoHash }, query: opts.delete ? { delete: true } : {} }, parseAs: 'text' }))
    },
    earnings: () => call('node-admin', 'GET /earnings', api.GET('/earnings')),
    cashout: () => call('node-admin', 'POST /cashout', api.POST('/cashout')),
    cheques: (body) => call('node-admin', 'POST /cheques', api.POST('/cheques', { body })),
  }
}
