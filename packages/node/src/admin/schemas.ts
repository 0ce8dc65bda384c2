/**
 * JSON schemas of the admin API: the same objects validate requests, serialize responses and
 * become the OpenAPI document (@fastify/swagger). Money is a decimal string of token base units
 * (JSON numbers lose precision past 2^53).
 */

export const errorSchema = {
  type: 'object',
  properties: { code: { type: 'string' }, message: { type: 'string' } },
  required: ['code', 'message'],
} as const

export const infoHashParam = {
  type: 'object',
  properties: { infoHash: { type: 'string', pattern: '^[0-9a-fA-F]{40}$' } },
  required: ['infoHash'],
} as const

const units = { type: 'string', pattern: '^[0-9]+$', description: 'token base units (6 decimals)' } as const
const address = { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$' } as const
const hash = { type: 'string', pattern: '^0x[0-9a-fA-F]{64}$' } as const

export const contentSchema = {
  type: 'object',
  properties: {
    infoHash: { type: 'string' },
    name: { type: 'string' },
    pinned: { type: 'boolean' },
    free: { type: 'boolean' },
    inPlace: { type: 'boolean' },
    dir: { type: 'string' },
    bytes: { type: 'integer' },
    bytesServed: { type: 'integer', description: 'bytes served, all runs' },
    progress: { type: 'number' },
    peers: { type: 'integer' },
    done: { type: 'boolean' },
  },
  required: ['infoHash', 'name', 'pinned', 'free', 'inPlace', 'dir', 'bytes', 'bytesServed'],
} as const

export const statusSchema = {
  type: 'object',
  properties: {
    peerId: { type: 'string' },
    listen: { type: 'object', properties: { host: { type: 'string' }, port: { type: 'integer' } } },
    payee: address,
    chain: { type: 'object', properties: { chainId: { type: 'integer' }, escrow: address, token: address, rpcUrl: { type: 'string' } } },
    pricePerGiBUnits: units,
    priceToken: { type: 'string', enum: ['USDC', 'USDT'] },
    free: { type: 'object', properties: { enabled: { type: 'boolean' }, infoHashes: { type: 'array', items: { type: 'string' } } } },
    storage: { type: 'object', properties: { quotaBytes: { type: 'integer' }, usedBytes: { type: 'integer' }, dataDir: { type: 'string' } } },
    peers: { type: 'integer' },
    bytesServed: { type: 'object', properties: { paid: { type: 'integer' }, free: { type: 'integer' } }, description: 'this run' },
    torrents: { type: 'array', items: contentSchema },
  },
  required: ['peerId', 'listen', 'pricePerGiBUnits', 'priceToken', 'free', 'storage', 'peers', 'bytesServed', 'torrents'],
} as const

export const pinBodySchema = {
  type: 'object',
  properties: {
    magnet: { type: 'string', minLength: 1, maxLength: 65536, description: 'magnet link or 40-hex info-hash' },
    torrent: { type: 'string', minLength: 1, maxLength: 22369622, description: '.torrent file, base64' },
    url: { type: 'string', minLength: 1, maxLength: 8192, description: 'http(s) URL of a .torrent' },
    dir: { type: 'string', minLength: 1, maxLength: 4096, description: 'seed data already in this folder, in place' },
    free: { type: 'boolean', default: false },
    cache: { type: 'boolean', default: false, description: 'cache (evictable) instead of pin' },
  },
  oneOf: [{ required: ['magnet'] }, { required: ['torrent'] }, { required: ['url'] }],
  additionalProperties: false,
} as const

export const unpinQuerySchema = {
  type: 'object',
  properties: { delete: { type: 'boolean', default: false } },
  additionalProperties: false,
} as const

export const earningsSchema = {
  type: 'object',
  properties: {
    payee: address,
    totals: {
      type: 'array',
      items: { type: 'object', properties: { token: address, accruedUnits: units, heldUnits: units, claimedUnits: units, owedUnits: units, writtenOffUnits: units } },
    },
    payers: {
      type: 'array',
      items: {
        type: 'object',
        properties: { payer: address, token: address, accruedUnits: units, claimedUnits: units, heldUnits: units, pendingTx: hash, owedUnits: units, writtenOffUnits: units, lastActivityMs: { type: 'integer' } },
      },
    },
    claims: {
      type: 'array',
      items: { type: 'object', properties: { txHash: hash, payer: address, token: address, paidUnits: units, atMs: { type: 'integer' } } },
    },
  },
  required: ['payee', 'totals', 'payers', 'claims'],
} as const

export const cashoutSchema = {
  type: 'object',
  properties: {
    sent: { type: 'array', items: hash },
    confirmed: { type: 'array', items: hash },
    requeued: { type: 'array', items: hash },
    withdrawn: { type: 'array', items: { type: 'object', properties: { token: address, amount: units, txHash: hash } } },
    waiting: { type: 'string' },
  },
  required: ['sent', 'confirmed', 'requeued', 'withdrawn'],
} as const

export const chequesBodySchema = {
  type: 'object',
  properties: {
    cheques: {
      type: 'array',
      maxItems: 1024,
      items: {
        type: 'object',
        properties: {
          cheque: {
            type: 'object',
            properties: { payer: address, payee: address, token: address, cumulativeAmount: { type: 'string', pattern: '^[0-9]{1,40}$' } },
            required: ['payer', 'payee', 'token', 'cumulativeAmount'],
            additionalProperties: false,
          },
          signature: { type: 'string', pattern: '^0x[0-9a-fA-F]{130}$' },
        },
        required: ['cheque', 'signature'],
        additionalProperties: false,
      },
    },
  },
  required: ['cheques'],
  additionalProperties: false,
} as const

export const chequesResultSchema = {
  type: 'object',
  properties: {
    accepted: { type: 'array', items: { type: 'object', properties: { payer: address, token: address, cumulative: units, increment: units } } },
    rejected: { type: 'array', items: { type: 'object', properties: { payer: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } } } },
  },
  required: ['accepted', 'rejected'],
} as const
