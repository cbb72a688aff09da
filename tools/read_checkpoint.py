#!/usr/bin/env python3
"""Reads an xent checkpoint (docs/checkpoint.md) into a dict of numpy arrays.

    from read_checkpoint import read_checkpoint
    ck = read_checkpoint("runs/x/checkpoint.xck")
    ck["enc.0.weight"]      # float32 [K, out * in]; replica k's matrix: ck[...][k].reshape(out, in)
    ck.header["step"]       # also version, K, seeds, shape_hash, config_hash

As a script it verifies the file and lists its tensors; exit status 1 (one line on stderr) when
the file is damaged. Needs only numpy (and zlib from the standard library, for the CRC-32).
"""
import struct
import sys
import zlib

import numpy as np

MAGIC = b"XENTCKPT"
VERSION = 1
HEADER = struct.Struct("<8sIIQQqQ")  # magic, version, K, shape_hash, config_hash, step, payload


class CheckpointError(Exception):
    pass


class Checkpoint(dict):
    """Tensor name -> array, with the header fields in .header."""

    header: dict


def read_checkpoint(path):
    with open(path, "rb") as f:
        buf = f.read()
    n = len(buf)

    def fail(what):
        raise CheckpointError(f"{path}: {what}")

    if n < 12:
        fail(f"truncated ({n} bytes, shorter than a checkpoint header)")
    if buf[:8] != MAGIC:
        fail("not an xent checkpoint (bad magic)")
    version = struct.unpack_from("<I", buf, 8)[0]
    if version != VERSION:
        fail(f"unsupported checkpoint version {version} (this reader reads version {VERSION})")
    if n < HEADER.size:
        fail(f"truncated ({n} bytes, shorter than a checkpoint header)")
    _, _, K, shape_hash, config_hash, step, payload = HEADER.unpack_from(buf, 0)
    expected = HEADER.size + 8 * K + payload + 4
    if n < expected:
        fail(f"truncated ({n} bytes, expected {expected})")
    if n > expected:
        fail(f"{n - expected} unexpected bytes after the checksum")
    stored = struct.unpack_from("<I", buf, n - 4)[0]
    computed = zlib.crc32(buf[: n - 4]) & 0xFFFFFFFF
    if stored != computed:
        fail(f"checksum mismatch (stored {stored:#x}, computed {computed:#x}): the file is corrupted")

    seeds = np.frombuffer(buf, dtype="<u8", count=K, offset=HEADER.size).copy()
    pos, end = HEADER.size + 8 * K, n - 4

    def take(size, what):
        nonlocal pos
        if size > end - pos:
            fail(f"malformed checkpoint ({what} runs past the end of the tensor table)")
        out = buf[pos : pos + size]
        pos += size
        return out

    ck = Checkpoint()
    (count,) = struct.unpack("<I", take(4, "tensor count"))
    for _ in range(count):
        (length,) = struct.unpack("<I", take(4, "tensor name length"))
        name = take(length, "tensor name").decode("utf-8")
        (ndim,) = struct.unpack("<I", take(4, "tensor rank"))
        shape = struct.unpack(f"<{ndim}q", take(8 * ndim, "tensor shape"))
        size = int(np.prod(shape, dtype=np.int64)) if ndim else 1
        data = take(4 * size, "tensor data")
        ck[name] = np.frombuffer(data, dtype="<f4").reshape(shape).copy()
    if pos != end:
        fail(f"malformed checkpoint ({end - pos} bytes after the last tensor)")
    ck.header = {
        "version": version,
        "K": K,
        "step": step,
        "seeds": seeds,
        "shape_hash": shape_hash,
        "config_hash": config_hash,
    }
    return ck


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print("usage: read_checkpoint.py CHECKPOINT.xck", file=sys.stderr)
        return 2
    try:
        ck = read_checkpoint(argv[1])
    except (OSError, CheckpointError) as e:
        print(f"read_checkpoint: {e}", file=sys.stderr)
        return 1
    h = ck.header
    print(f"{argv[1]}: version {h['version']}, step {h['step']}, K={h['K']}, "
          f"seeds {h['seeds'].tolist()}, {len(ck)} tensors, checksum ok")
    for name, a in ck.items():
        finite = "" if np.isfinite(a).all() else "  (non-finite values)"
        print(f"  {name:32s} {list(a.shape)}{finite}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
