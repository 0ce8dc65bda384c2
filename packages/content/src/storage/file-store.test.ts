import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import bencode from 'bencode'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTorrent } from '../metainfo/create.js'
import { parseTorrentFile } from '../metainfo/parse.js'
import { createFileStore } from './file-store.js'
import { checkPieces } from './verify.js'

const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 11 + seed) & 0xff))

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitcdn-fs-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function listTree(root: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(root, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath, e.name).slice(root.length + 1))
  return out.sort()
}

describe('createFileStore', () => {
  it('writes the files of a multi-file torrent, creating files and directories only when written', async () => {
    const files = [
      { path: 'a.bin', data: bytes(5000, 1) },
      { path: 'empty', data: Buffer.alloc(0) },
      { path: 'deep/er/b.bin', data: bytes(30000, 2) },
    ]
    const whole = Buffer.concat(files.map((f) => f.data))
    const m = await createTorrent(files, { name: 'site', pieceLength: 16384 })
    const store = createFileStore(m, { dir })
    expect(await listTree(dir)).toEqual([])
    await store.put(1, whole.subarray(16384, 32768)) // only inside deep/er/b.bin
    expect(await listTree(dir)).toEqual(['site/deep/er/b.bin'])
    await store.put(0, whole.subarray(0, 16384))
    await store.put(2, whole.subarray(32768))
    await store.flush()
    expect(await listTree(dir)).toEqual(['site/a.bin', 'site/deep/er/b.bin', 'site/empty'])
    for (const f of files) expect((await readFile(join(dir, 'site', f.path))).equals(f.data)).toBe(true)
    await store.close()
  })

  it('many pieces put at once into one file (its writes queued one at a time) all land, in any order', async () => {
    const pieceLength = 256 * 1024
    const data = Buffer.concat(Array.from({ length: 24 }, (_, i) => bytes(pieceLength, i)))
    const m = await createTorrent([{ path: 'one.bin', data }], { name: 'one', pieceLength })
    const store = createFileStore(m, { dir })
    const order = Array.from({ length: 24 }, (_, i) => (i * 7) % 24)
    await Promise.all(order.map((i) => store.put(i, data.subarray(i * pieceLength, (i + 1) * pieceLength))))
    await store.flush()
    expect((await readFile(join(dir, 'one', 'one.bin'))).equals(data)).toBe(true)
    // and the queue is per file: a later put after the burst still writes
    await store.put(3, data.subarray(3 * pieceLength, 4 * pieceLength))
    expect(await checkPieces(store, m)).toEqual(Array.from({ length: 24 }, () => true))
    await store.close()
  })

  it('seeds a file in place: reads the original, copies nothing, needs no write access', async () => {
    const data = bytes(70_000, 3)
    const original = join(dir, 'big.iso')
    await writeFile(original, data)
    await chmod(original, 0o444)
    const before = await stat(original)
    const m = await createTorrent(original, { pieceLength: 16384 })
    const store = createFileStore(m, { dir, readOnly: true })
    expect(await checkPieces(store, m)).toEqual([true, true, true, true, true])
    expect((await store.get(4, 0, 70_000 - 65536)).equals(data.subarray(65536))).toBe(true)
    await expect(store.put(0, data.subarray(0, 16384))).rejects.toMatchObject({ code: 'BITCDN_ERR_STORAGE_IO' })
    await store.close()
    const after = await stat(original)
    expect([after.ino, after.mtimeMs, after.size]).toEqual([before.ino, before.mtimeMs, before.size])
    expect(await listTree(dir)).toEqual(['big.iso'])
  })

  it('flush({ all }) syncs files it only read, read-only too, and skips files that do not exist', async () => {
    const files = [
      { path: 'a.bin', data: bytes(20000, 1) },
      { path: 'b.bin', data: bytes(20000, 2) },
    ]
    const m = await createTorrent(files, { name: 'site', pieceLength: 16384 })
    await mkdir(join(dir, 'site'))
    await writeFile(join(dir, 'site', 'a.bin'), files[0]!.data) // b.bin is missing
    const store = createFileStore(m, { dir, readOnly: true })
    await expect(store.flush({ all: true })).resolves.toBeUndefined()
    expect(await listTree(dir)).toEqual(['site/a.bin'])
    await store.close()
  })

  it('recheck counts missing and short files as missing pieces, not errors', async () => {
    const files = [
      { path: 'a', data: bytes(16384, 1) },
      { path: 'b', data: bytes(16384, 2) },
      { path: 'c', data: bytes(16384, 3) },
    ]
    const m = await createTorrent(files, { name: 't', pieceLength: 16384 })
    await mkdir(join(dir, 't'))
    await writeFile(join(dir, 't', 'a'), files[0]!.data)
    await writeFile(join(dir, 't', 'c'), files[2]!.data.subarray(0, 100)) // truncated
    const store = createFileStore(m, { dir })
    const progress: number[] = []
    expect(await checkPieces(store, m, { onProgress: (done) => progress.push(done) })).toEqual([true, false, false])
    expect(progress).toEqual([1, 2, 3])
    await expect(store.get(1, 0, 10)).rejects.toMatchObject({ code: 'BITCDN_ERR_FILE_NOT_FOUND' })
    await expect(store.get(2, 0, 200)).rejects.toMatchObject({ code: 'BITCDN_ERR_PIECE_MISSING' })
    await store.close()
  })

  it('maps an I/O failure to BITCDN_ERR_STORAGE_IO with the system error as cause', async () => {
    const m = await createTorrent([{ path: 'f', data: bytes(100, 1) }], { name: 't' })
    await mkdir(join(dir, 't', 'f'), { recursive: true }) // a directory where the file belongs
    const store = createFileStore(m, { dir })
    const err = await store.put(0, bytes(100, 1)).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'BITCDN_ERR_STORAGE_IO', cause: { code: 'EISDIR' } })
    await store.close()
  })

  it('never writes BEP 47 padding files and reads them as zeros', async () => {
    const a = bytes(100, 1)
    const b = bytes(100, 2)
    const info = {
      name: 'p',
      'piece length': 16384,
      pieces: Buffer.alloc(40),
      files: [
        { length: 100, path: ['a'] },
        { length: 16284, path: ['.pad', '16284'], attr: 'p' },
        { length: 100, path: ['b'] },
      ],
    }
    const m = parseTorrentFile(Buffer.from(bencode.encode({ info })))
    const store = createFileStore(m, { dir })
    await store.put(0, Buffer.concat([a, Buffer.alloc(16284)]))
    await store.put(1, b)
    await store.flush()
    expect(await listTree(dir)).toEqual(['p/a', 'p/b'])
    expect((await store.get(0, 90, 20)).equals(Buffer.concat([a.subarray(90), Buffer.alloc(10)]))).toBe(true)
    await store.close()
  })

  it('keeps working with one open handle at a time across many files', async () => {
    const files = Array.from({ length: 12 }, (_, i) => ({ path: `f${i}`, data: bytes(3000 + i, i) }))
    const whole = Buffer.concat(files.map((f) => f.data))
    const m = await createTorrent(files, { name: 'many', pieceLength: 16384 })
    const store = createFileStore(m, { dir, maxOpenFiles: 1 })
    await Promise.all(Array.from({ length: m.pieceCount }, (_, i) => store.put(i, whole.subarray(i * 16384, (i + 1) * 16384))))
    await store.flush()
    expect(await checkPieces(store, m)).toEqual(Array(m.pieceCount).fill(true))
    await store.close()
    for (const f of files) expect((await readFile(join(dir, 'many', f.path))).equals(f.data)).toBe(true)
  })

  it('lets a write create a file even while a read of it is failing as not found', async () => {
    const data = bytes(1000, 6)
    const m = await createTorrent(data, { name: 'race.bin' })
    const store = createFileStore(m, { dir })
    const [read] = await Promise.allSettled([store.get(0, 0, 10), store.put(0, data)])
    expect(read.status === 'rejected' ? (read.reason as { code: string }).code : 'read after write').toMatch(/FILE_NOT_FOUND|read after write/)
    expect((await store.get(0, 0, 1000)).equals(data)).toBe(true)
    await store.close()
  })

  it('refuses a hand-built Metainfo whose path escapes the directory', async () => {
    const m = await createTorrent(bytes(10, 1), { name: 'x' })
    const store = createFileStore({ ...m, files: [{ path: '../escape', length: 10, offset: 0 }] }, { dir })
    await expect(store.put(0, bytes(10, 1))).rejects.toMatchObject({ code: 'BITCDN_ERR_TORRENT_INVALID' })
    await store.close()
  })

  it('does not truncate an existing longer file it writes into', async () => {
    const data = bytes(20000, 5)
    const m = await createTorrent(data, { name: 'x', pieceLength: 16384 })
    await writeFile(join(dir, 'x'), Buffer.concat([Buffer.alloc(20000), Buffer.from('tail')]))
    const store = createFileStore(m, { dir })
    await store.put(0, data.subarray(0, 16384))
    await store.close()
    const onDisk = await readFile(join(dir, 'x'))
    expect(onDisk.length).toBe(20004)
    expect(onDisk.subarray(0, 16384).equals(data.subarray(0, 16384))).toBe(true)
  })
})
