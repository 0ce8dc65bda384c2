/**
 * Our peer id's client prefix (BEP 20, Azureus style: `-` + two letters + four digits + `-`).
 * `XB` is in no client table we checked (transmission's clients.cc, libtorrent's identify_client,
 * qBittorrent's, Vuze's); `BC`, used before, is BitComet's, so other clients showed us as
 * "BitComet 1.00" — and libtorrent caps its request queue to a BitComet peer at 50 blocks, which
 * held its downloads from us to a fraction of line rate. 0100 = BitCDN 0.1.0.
 */
export const PEER_ID_PREFIX = '-XB0100-'
