import http from 'node:http'
import { describe, expect, it } from 'vitest'
import { assertPublicUrl, isPublicAddress, publicOnlyLookup } from './public-address.js'

describe('public addresses (SSRF guard for URLs from catalogue entries)', () => {
  it('refuses loopback, private, link-local, CGNAT, unique-local, multicast, unspecified and mapped forms of them', () => {
    for (const ip of ['127.0.0.1', '127.255.0.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fd00::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', 'not an ip']) {
      expect(isPublicAddress(ip), ip).toBe(false)
    }
    for (const ip of ['1.1.1.1', '8.8.8.8', '172.32.0.1', '192.169.0.1', '2606:4700::1111', '::ffff:1.1.1.1']) expect(isPublicAddress(ip), ip).toBe(true)
  })

  it('refuses a URL whose literal host or resolved name is not public, with BITCDN_ERR_PIN_SOURCE', async () => {
    for (const url of ['http://169.254.169.254/latest/meta-data', 'http://[::1]:8080/x', 'https://10.0.0.1/x.torrent', 'http://localhost:1/x']) {
      await expect(assertPublicUrl(url), url).rejects.toMatchObject({ code: 'BITCDN_ERR_PIN_SOURCE' })
    }
    await expect(assertPublicUrl('http://1.1.1.1/x')).resolves.toBeUndefined()
  })

  it('SSRF by DNS name: a connection through the lookup to a name resolving to loopback never reaches the server', async () => {
    let hits = 0
    const server = http.createServer((_req, res) => (hits++, res.end('secret')))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    try {
      const port = (server.address() as { port: number }).port
      const err = await new Promise<Error>((resolve) => http.get(`http://localhost:${port}/`, { lookup: publicOnlyLookup }, () => resolve(new Error('connected'))).once('error', resolve))
      expect((err as { code?: string }).code).toBe('BITCDN_ERR_PIN_SOURCE')
      expect(hits).toBe(0)
    } finally {
      server.close()
    }
  })
})
