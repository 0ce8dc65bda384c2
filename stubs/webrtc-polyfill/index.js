// Why this stub exists: bittorrent-tracker's client (via @thaunknown/simple-peer) imports
// webrtc-polyfill, whose real package pulls node-datachannel, a native WebRTC binary downloaded at
// install time. That download fails on offline machines and CI. BitCDN peers speak TCP (and trackers
// HTTP/UDP) only, so WebRTC is never used; constructing any of these throws, loudly, if it ever is.
class Unsupported {
  constructor() {
    throw new Error('WebRTC is not supported by BitCDN (webrtc-polyfill is stubbed; see stubs/webrtc-polyfill)')
  }
}
export class RTCPeerConnection extends Unsupported {}
export class RTCSessionDescription extends Unsupported {}
export class RTCIceCandidate extends Unsupported {}
export default { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate }
