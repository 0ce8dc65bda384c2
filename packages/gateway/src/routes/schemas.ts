/**
 * JSON schemas shared by the routes: they validate, serialize and document (OpenAPI) at once.
 */

/** The body of every error answer: `{ code, message }`. */
export function errorSchema(description: string) {
  return {
    description,
    type: 'object',
    properties: { code: { type: 'string', description: 'A stable BITCDN_ERR_* code' }, message: { type: 'string' } },
    required: ['code', 'message'],
  } as const
}

export const listingSchema = {
  type: 'object',
  properties: {
    infoHash: { type: 'string' },
    name: { type: 'string' },
    path: { type: 'string', description: 'The directory listed, relative to the torrent (empty: its root)' },
    length: { type: 'integer', description: 'Bytes of the whole torrent' },
    files: {
      type: 'array',
      items: {
        type: 'object',
        properties: { path: { type: 'string' }, length: { type: 'integer' }, url: { type: 'string' } },
        required: ['path', 'length', 'url'],
      },
    },
  },
  required: ['infoHash', 'name', 'path', 'length', 'files'],
} as const
