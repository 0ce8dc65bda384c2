import { describe, expect, it } from 'vitest'
import { overallOffload, parseGatewayMetrics } from './gateway-offload.js'

const text = `# HELP bitcdn_gateway_piece_bytes_total Piece bytes
# TYPE bitcdn_gateway_piece_bytes_total counter
bitcdn_gateway_piece_bytes_total{source="swarm"} 750
bitcdn_gateway_piece_bytes_total{source="origin"} 200
bitcdn_gateway_piece_bytes_total{source="cache"} 0
bitcdn_gateway_proxied_bytes_total 50
`

describe('gateway offload', () => {
  it('reads swarm, cache, origin and proxied bytes and computes the share not from the origin', () => {
    const g = parseGatewayMetrics('http://g', text)
    expect(g).toMatchObject({ swarmBytes: 750, originBytes: 200, cacheBytes: 0, proxiedBytes: 50, offloadRatio: 0.75 })
  })
  it('has no ratio before any byte, and ignores negative or junk values', () => {
    expect(parseGatewayMetrics('http://g', '').offloadRatio).toBeUndefined()
    expect(parseGatewayMetrics('http://g', 'bitcdn_gateway_piece_bytes_total{source="swarm"} -5\nbitcdn_gateway_proxied_bytes_total NaN\n').offloadRatio).toBeUndefined()
  })
  it('weights gateways by bytes overall', () => {
    const a = parseGatewayMetrics('a', 'bitcdn_gateway_piece_bytes_total{source="swarm"} 900\nbitcdn_gateway_piece_bytes_total{source="origin"} 100\n')
    const b = parseGatewayMetrics('b', 'bitcdn_gateway_piece_bytes_total{source="origin"} 1000\n')
    expect(overallOffload([a, b])).toBeCloseTo(0.45)
    expect(overallOffload([])).toBeUndefined()
  })
})
