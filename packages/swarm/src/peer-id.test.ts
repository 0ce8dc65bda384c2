import { describe, expect, it } from 'vitest'
import { createSwarmClient } from './client.js'
import { PEER_ID_PREFIX } from './peer-id.js'

describe('peer id', () => {
  it('starts with our own Azureus-style code, not BitComet\'s -BC', () => {
    const id = Buffer.from(createSwarmClient().peerId, 'hex')
    expect(id.length).toBe(20)
    expect(id.subarray(0, 8).toString()).toBe('-XB0100-')
    expect(PEER_ID_PREFIX).toMatch(/^-[A-Za-z]{2}\d{4}-$/)
    expect(PEER_ID_PREFIX.startsWith('-BC')).toBe(false)
  })
})
