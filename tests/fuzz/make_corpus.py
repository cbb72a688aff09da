#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora (tests/fuzz/corpus/<reader>/) and the hand-made nasty inputs
of the regression test (tests/fuzz/regressions/<reader>/).

    tests/fuzz/make_corpus.py build/xent

The configs and the checkpoint come from small runs of the xent binary given; the .npy files
are written here byte by byte (numpy is not needed). Crash inputs the fuzzers find are added to
regressions/ by hand, under a name that says what they broke; this script leaves them alone.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

# tests/fuzz/readers.h restores checkpoints into a trainer of this config (the preset "default"
# and these keys): keep the two equal.
TINY_RUN = ["dgp.d=2", "dgp.clusters=4", "dgp.mixing_cond_draws=200", "model.hidden=[8]",
            "train.population=2", "train.batch=8", "train.steps=2", "train.eval_samples=64"]
# A preset's resolved config, from a run cut down to finish at once.
SHORT = ["train.steps=1", "train.batch=8", "train.eval_samples=64", "dgp.mixing_cond_draws=200",
         "model.hidden=[8]"]


def write(reader, kind, name, data):
    d = os.path.join(HERE, kind, reader)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def run(xent, out, preset, sets):
    args = [xent, "train", "-q", "--out", out]
    if preset:
        args += ["--preset", preset]
    for s in sets:
        args += ["--set", s]
    subprocess.run(args, check=True)


def npy(dict_text, payload, major=1):
    """A .npy file as numpy lays it out: the header padded with spaces to 64 bytes."""
    prefix = 6 + 2 + (2 if major == 1 else 4)
    header = dict_text + " " * ((-(prefix + len(dict_text) + 1)) % 64) + "\n"
    length = struct.pack("<H" if major == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([major, 0]) + length + header.encode("latin-1") + payload


def npy_dict(descr, shape, fortran=False):
    shape_text = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    return "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape_text)


def checkpoint_tensors(b):
    """(offset of the tensor count, [(name offset, name, dims offset, ndim, data offset)])."""
    K = struct.unpack_from("<I", b, 12)[0]
    pos = 48 + 8 * K
    count_at = pos
    (count,) = struct.unpack_from("<I", b, pos)
    pos += 4
    out = []
    for _ in range(count):
        (n,) = struct.unpack_from("<I", b, pos)
        name_at = pos + 4
        name = bytes(b[name_at:name_at + n])
        pos = name_at + n
        (ndim,) = struct.unpack_from("<I", b, pos)
        dims_at = pos + 4
        dims = struct.unpack_from("<%dq" % ndim, b, dims_at)
        data_at = dims_at + 8 * ndim
        elems = 1
        for d in dims:
            elems *= d
        out.append((name_at, name, dims_at, ndim, data_at))
        pos = data_at + 4 * elems
    return count_at, out


def with_crc(b):
    b = bytearray(b)
    struct.pack_into("<I", b, len(b) - 4, zlib.crc32(bytes(b[:-4])) & 0xFFFFFFFF)
    return bytes(b)


def configs(xent, tmp):
    run(xent, os.path.join(tmp, "tiny"), "default", TINY_RUN)
    with open(os.path.join(tmp, "tiny", "config.toml"), "rb") as f:
        write("config", "corpus", "tiny.toml", f.read())
    for preset in ["sup-base", "diet-kappa50", "sup-laplace"]:
        out = os.path.join(tmp, preset)
        run(xent, out, preset, SHORT)
        with open(os.path.join(out, "config.toml"), "rb") as f:
            write("config", "corpus", preset + ".toml", f.read())
    c = "config"
    write(c, "corpus", "minimal.toml", "[dgp]\nd = 3\n")
    write(c, "corpus", "inline-tables.toml",
          'dgp = { d = 3, kappa = 2.5, conditional = "laplace" }\n'
          "model = { hidden = [4, 8], normalize_output = true }\n")
    write(c, "corpus", "dotted-keys.toml",
          "train.lr = 1e-4\ntrain.steps = 1e5\ndgp.labels = 'diet'\ndgp.instances = 0x100\n")
    write(c, "corpus", "with-sets.toml",
          "[train]\nsteps = 10\n\0dgp.kappa=5\0dgp.conditional=laplace\0model.hidden=[3, 3]")
    write(c, "corpus", "unknown-key.toml", "[dgp]\nkappa = 5\nmystery = 1\n")
    write(c, "corpus", "wrong-type.toml", '[train]\nsteps = "many"\nbatch = 2.5\n')
    write(c, "corpus", "broken.toml", "[dgp\nd = 3\n")

    write(c, "regressions", "nan-kappa.toml", "[dgp]\nkappa = nan\n")
    write(c, "regressions", "inf-adam-eps.toml", "[train]\nadam_eps = +inf\n")
    write(c, "regressions", "inf-bn-eps.toml", "[model]\nbn_eps = 1e300\n")
    write(c, "regressions", "deep-arrays.toml", "x = " + "[" * 300 + "]" * 300 + "\n")
    write(c, "regressions", "deep-inline-tables.toml", "x = " + "{a=" * 300 + "1" + "}" * 300)
    write(c, "regressions", "deep-tables.toml", "[" + ".".join(["a"] * 500) + "]\n")
    write(c, "regressions", "empty-unknown-table.toml", "[dgp.nonsense]\n")
    write(c, "regressions", "newline-in-key.toml", '[dgp]\n"a\\nb" = 1\n')
    write(c, "regressions", "set-with-newline.toml", "\0dgp.conditional=vmf\n")
    write(c, "regressions", "huge-int.toml", "[train]\nsteps = 99999999999999999999\n")
    write(c, "regressions", "negative-width.toml", "[model]\nhidden = [8, -1]\n")
    write(c, "regressions", "int32-overflow.toml", "[train]\nbatch = 4294967298\n")


def npys():
    f4 = struct.pack("<6f", 0.5, -1.0, 2.0, 3.5, float("inf"), float("nan"))
    f8 = struct.pack("<6d", 1, 2, 3, 4, 5, 6)
    n = "npy"
    write(n, "corpus", "f4-c.npy", npy(npy_dict("<f4", (2, 3)), f4))
    write(n, "corpus", "f8-fortran.npy", npy(npy_dict("<f8", (3, 2), True), f8))
    write(n, "corpus", "f4-fortran-3d.npy",
          npy(npy_dict("<f4", (1, 2, 3), True), f4))
    write(n, "corpus", "i4-1d.npy", npy(npy_dict("<i4", (4,)), struct.pack("<4i", 1, -2, 3, 2**31 - 1)))
    write(n, "corpus", "i8-big-endian.npy", npy(npy_dict(">i8", (2,)), struct.pack(">2q", -1, 2**40)))
    write(n, "corpus", "f4-pipe-order.npy", npy(npy_dict("|f4", (1,)), f4[:4]))
    write(n, "corpus", "v2-empty.npy", npy(npy_dict("<f4", (0, 3)), b"", major=2))
    write(n, "corpus", "v3-scalar.npy", npy(npy_dict("<f8", ()), f8[:8], major=3))
    write(n, "corpus", "python2-header.npy",
          npy("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": [2L, 1L]}", f4[:8]))
    write(n, "corpus", "trailing-bytes.npy", npy(npy_dict("<i4", (1,)), b"\x01\0\0\0extra"))
    write(n, "corpus", "unsupported-dtype.npy", npy(npy_dict("<c8", (1,)), b"\0" * 8))
    write(n, "corpus", "structured.npy",
          npy("{'descr': [('a', '<f4', (2,))], 'fortran_order': False, 'shape': (1,), }",
              b"\0" * 8))

    good = npy(npy_dict("<f4", (2, 3)), f4)
    write(n, "regressions", "truncated-header.npy", good[:40])
    write(n, "regressions", "huge-shape.npy",
          npy(npy_dict("<f4", (4294967296, 4294967296)), b"\0" * 16))
    write(n, "regressions", "huge-data.npy", npy(npy_dict("<f4", (1000000, 1000000)), b"\0" * 16))
    write(n, "regressions", "negative-dim.npy", npy(npy_dict("<f4", (-2, 3)), b"\0" * 16))
    write(n, "regressions", "deep-nesting.npy",
          npy("{'descr': '<f4', 'fortran_order': False, 'shape': " + "[" * 2000 + "]" * 2000 + "}",
              b""))
    write(n, "regressions", "newline-in-key.npy",
          npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'a\nb': 1}", f4[:4]))
    write(n, "regressions", "newline-in-descr.npy", npy(npy_dict("<f\n4", (1,)), f4[:4]))
    write(n, "regressions", "header-length-past-end.npy", good[:8] + b"\xff\xff" + good[10:80])
    write(n, "regressions", "data-truncated.npy", good[:-5])
    write(n, "regressions", "unterminated-string.npy",
          npy("{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", f4[:4]))


def checkpoints(tmp):
    with open(os.path.join(tmp, "tiny", "checkpoint.xck"), "rb") as f:
        good = f.read()
    k = "checkpoint"
    write(k, "corpus", "tiny.xck", good)
    count_at, tensors = checkpoint_tensors(good)
    # The header alone, K = 1 and no tensors: the smallest file that passes the checksum.
    empty = bytearray(good[:56]) + struct.pack("<I", 0) + b"\0\0\0\0"
    struct.pack_into("<I", empty, 12, 1)
    struct.pack_into("<Q", empty, 40, 4)
    write(k, "corpus", "no-tensors.xck", with_crc(empty))

    write(k, "regressions", "truncated-header.xck", good[:30])
    b = bytearray(good)
    struct.pack_into("<I", b, 12, 0xFFFFFFFF)
    write(k, "regressions", "huge-replica-count.xck", bytes(b))
    b = bytearray(good)
    b[len(b) // 2] ^= 0x40
    write(k, "regressions", "bad-checksum.xck", bytes(b))
    _, _, dims_at, _, _ = tensors[0]
    b = bytearray(good)
    struct.pack_into("<q", b, dims_at + 8, 2**62)
    write(k, "regressions", "huge-tensor-shape.xck", with_crc(b))
    b = bytearray(good)
    struct.pack_into("<q", b, dims_at, -1)
    write(k, "regressions", "negative-tensor-dim.xck", with_crc(b))
    name_at, name, _, _, _ = tensors[0]
    b = bytearray(good)
    b[name_at + 1] = 0x0A
    write(k, "regressions", "control-char-name.xck", with_crc(b))
    b = bytearray(good)
    struct.pack_into("<I", b, count_at, 0xFFFFFFFF)
    write(k, "regressions", "huge-tensor-count.xck", with_crc(b))
    # enc.0.bias renamed enc.0.biaz: parses, and the restore refuses it.
    name_at2, name2, _, _, _ = tensors[1]
    b = bytearray(good)
    b[name_at2 + len(name2) - 1] = ord("z")
    write(k, "regressions", "renamed-tensor.xck", with_crc(b))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    xent = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="xent_fuzz_corpus_")
    try:
        for kind in ["corpus"]:
            shutil.rmtree(os.path.join(HERE, kind), ignore_errors=True)
        configs(xent, tmp)
        npys()
        checkpoints(tmp)
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
