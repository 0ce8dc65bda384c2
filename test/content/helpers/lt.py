"""libtorrent side of the interop tests: describe a .torrent as libtorrent reads it, or create one.

  lt.py info <file.torrent>                    -> JSON {infoHash, name, pieceLength, numPieces, files}
  lt.py create <path> <out> <pieceLength> v1|hybrid
"""
import json
import os
import sys

import libtorrent as lt


def info(path):
    ti = lt.torrent_info(path)
    fs = ti.files()
    files = [
        {
            "path": fs.file_path(i).replace(os.sep, "/"),
            "length": fs.file_size(i),
            "offset": fs.file_offset(i),
            "padding": bool(fs.file_flags(i) & lt.file_storage.flag_pad_file),
        }
        for i in range(fs.num_files())
    ]
    # info_hash() is the *best* hash (truncated v2 for hybrids); BitCDN speaks v1.
    print(json.dumps({
        "infoHash": str(ti.info_hashes().v1),
        "name": ti.name(),
        "pieceLength": ti.piece_length(),
        "numPieces": ti.num_pieces(),
        "files": files,
    }))


def create(path, out, piece_length, kind):
    fs = lt.file_storage()
    lt.add_files(fs, path)
    flags = lt.create_torrent.v1_only if kind == "v1" else 0
    ct = lt.create_torrent(fs, int(piece_length), flags=flags)
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(path)))
    with open(out, "wb") as f:
        f.write(lt.bencode(ct.generate()))


if __name__ == "__main__":
    if sys.argv[1] == "info":
        info(sys.argv[2])
    else:
        create(*sys.argv[2:6])
