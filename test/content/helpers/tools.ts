// Locating the external BitTorrent tools the interop tests drive. A missing tool is a failure
// with instructions, never a silent skip: `.ci/run` installs all of them.
import { execFileSync, spawnSync } from 'node:child_process'
import { join } from 'node:path'

const LT_SCRIPT = join(import.meta.dirname, 'lt.py')
// Debian's python3-libtorrent is only importable by the system interpreter.
const PYTHON = '/usr/bin/python3'

/** Throw with a fix-it message unless mktorrent and libtorrent's Python binding are installed. */
export function requireTools(...tools: Array<'mktorrent' | 'libtorrent'>): void {
  for (const tool of tools) {
    const probe = tool === 'mktorrent' ? spawnSync('mktorrent', ['-h']) : spawnSync(PYTHON, ['-c', 'import libtorrent'])
    if (probe.error || (tool === 'libtorrent' && probe.status !== 0)) {
      throw new Error(`${tool} is not installed: run .ci/run (it installs mktorrent and python3-libtorrent) and retry`)
    }
  }
}

export interface LtInfo {
  infoHash: string
  name: string
  pieceLength: number
  numPieces: number
  files: Array<{ path: string; length: number; offset: number; padding: boolean }>
}

/** How libtorrent reads a .torrent file. */
export function libtorrentInfo(torrentPath: string): LtInfo {
  return JSON.parse(execFileSync(PYTHON, [LT_SCRIPT, 'info', torrentPath], { encoding: 'utf8' })) as LtInfo
}

/** Make a .torrent with libtorrent (`v1` only, or its default v1+v2 `hybrid` with pad files). */
export function libtorrentCreate(path: string, out: string, pieceLength: number, kind: 'v1' | 'hybrid'): void {
  execFileSync(PYTHON, [LT_SCRIPT, 'create', path, out, String(pieceLength), kind])
}

/** Make a .torrent with mktorrent (piece length given as a power of two). */
export function mktorrent(path: string, out: string, pieceLength: number, extra: string[] = []): void {
  execFileSync('mktorrent', ['-l', String(Math.log2(pieceLength)), '-o', out, ...extra, path], { stdio: 'ignore' })
}
