#!/usr/bin/env python3
"""Whether two trees of xent outputs hold the same results, bit for bit, timings ignored.

usage: tools/same_results.py A B

Every file under A is compared with the file of the same relative path under B (a file on one
side only is a difference):
  *.jsonl   row by row, as parsed JSON, keys that hold timings left out (wall_s, *_s, ...);
            a key that only B writes (a new config key, a new field) is listed, not a difference;
  *.json    the same (summary.json: every value but timings, a summary written before the
            envelope read as the envelope, tools/summary_schema.py);
  *.csv     row by row, timing columns left out;
  *.xck     checkpoints (tools/read_checkpoint.py): the header's step, K and seeds, and every
            tensor by name, bit for bit (a tensor A writes whole and B in parts, "adam.m" and
            "adam.m.<tensor>", is compared value by value);
  *.npy     bytes;
  other     ignored (logs, config.toml, PNG charts).
Numbers are compared as the text they were written as (JSON and CSV floats carry all 17
digits), so "the same" means the same bits. Prints one line per difference and exits 1 if there
is any, 0 otherwise.
"""
import csv
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from summary_schema import upgrade  # noqa: E402

TIMING_KEYS = {"wall_s", "steps_per_s", "steady_steps", "steady_steps_per_s", "started", "finished",
               "time", "elapsed_s", "seconds"}


def is_timing(key):
    # Seconds (wall_s, probe_s, ...) and rates.
    return key in TIMING_KEYS or key.endswith("_s")


ADDED = set()  # keys that only B (the new build) writes: reported, not differences
RENAMED = set()  # checkpoint tensors B splits per parameter tensor, the values the same


def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if not is_timing(k)}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def first_difference(a, b, where=""):
    """The path of the first place where two parsed JSON values differ, or None."""
    if type(a) is not type(b):
        return where or "."
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in b:
                return f"{where}.{k} (only in A)"
            if k not in a:
                ADDED.add(f"{where}.{k}")
                continue
            d = first_difference(a[k], b[k], f"{where}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{where} (length {len(a)} vs {len(b)})"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{where}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{where} ({a!r} vs {b!r})"


def parse_exact(text):
    # Floats kept as their text: equal text is equal bits, and no rounding hides a change.
    return json.loads(text, parse_float=lambda s: ("float", s))


def compare_json_lines(a, b):
    la, lb = a.read_text().splitlines(), b.read_text().splitlines()
    if len(la) != len(lb):
        return f"{len(la)} rows vs {len(lb)}"
    for i, (x, y) in enumerate(zip(la, lb)):
        d = first_difference(strip(parse_exact(x)), strip(parse_exact(y)))
        if d:
            return f"row {i + 1}: {d}"
    return None


def compare_json(a, b):
    ja, jb = parse_exact(a.read_text()), parse_exact(b.read_text())
    if a.name == "summary.json":
        # A summary written before the envelope (a baseline build's) in the envelope's layout.
        ja, jb = upgrade(ja), upgrade(jb)
    return first_difference(strip(ja), strip(jb))


def compare_csv(a, b):
    def rows(p):
        with open(p, newline="") as f:
            return [{k: v for k, v in r.items() if not is_timing(k)} for r in csv.DictReader(f)]

    ra, rb = rows(a), rows(b)
    if len(ra) != len(rb):
        return f"{len(ra)} rows vs {len(rb)}"
    for i, (x, y) in enumerate(zip(ra, rb)):
        d = first_difference(x, y)
        if d:
            return f"row {i + 1}: {d}"
    return None


def compare_checkpoint(a, b):
    import numpy as np
    from read_checkpoint import read_checkpoint

    ca, cb = read_checkpoint(str(a)), read_checkpoint(str(b))
    for key in ("step", "K", "seeds"):
        if np.asarray(ca.header.get(key)).tolist() != np.asarray(cb.header.get(key)).tolist():
            return f"header {key}: {ca.header.get(key)} vs {cb.header.get(key)}"
    # A tensor that A writes whole and B per parameter tensor ("adam.m" against "adam.m.<name>",
    # the DisLib moments before and after they were named per tensor): the same values if B's
    # parts, in file order, are A's flat buffer with the zero padding between tensors left out.
    for whole in [n for n in ca if n not in cb and any(m.startswith(n + ".") for m in cb)]:
        parts = [m for m in cb if m.startswith(whole + ".") and m not in ca]
        flat = np.asarray(ca[whole]).ravel()
        joined = np.concatenate([np.asarray(cb[m]).ravel() for m in parts])
        j = 0
        for x in flat:
            if j < len(joined) and x.tobytes() == joined[j].tobytes():
                j += 1
            elif x != 0:
                return f"tensor {whole} differs from {whole}.* at value {j}"
        if j != len(joined):
            return f"tensor {whole} has fewer values than {whole}.*"
        RENAMED.add(f"{whole} -> {whole}.<tensor>")
        del ca[whole]
        for m in parts:
            del cb[m]
    if set(ca) != set(cb):
        return f"tensors on one side only: {sorted(set(ca) ^ set(cb))}"
    for name in ca:
        x, y = np.asarray(ca[name]), np.asarray(cb[name])
        if x.shape != y.shape or x.tobytes() != y.tobytes():
            return f"tensor {name} differs"
    return None


def compare_bytes(a, b):
    return None if a.read_bytes() == b.read_bytes() else "bytes differ"


COMPARE = {".jsonl": compare_json_lines, ".json": compare_json, ".csv": compare_csv,
           ".xck": compare_checkpoint, ".npy": compare_bytes}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[2])
    a, b = Path(sys.argv[1]), Path(sys.argv[2])
    for d in (a, b):
        if not d.is_dir():
            sys.exit(f"same_results.py: {d}: not a directory")
    files = lambda d: {p.relative_to(d) for p in d.rglob("*") if p.is_file() and p.suffix in COMPARE}
    fa, fb = files(a), files(b)
    differences = [f"{p}: only in {a if p in fa else b}" for p in sorted(fa ^ fb)]
    for p in sorted(fa & fb):
        d = COMPARE[p.suffix](a / p, b / p)
        if d:
            differences.append(f"{p}: {d}")
    for line in differences:
        print(line)
    for key in sorted(ADDED):
        print(f"added (only B writes it, not a difference): {key}")
    for key in sorted(RENAMED):
        print(f"renamed (the same values, not a difference): {key}")
    print(f"same_results.py: {len(fa & fb)} files compared, {len(differences)} differences")
    sys.exit(1 if differences else 0)


if __name__ == "__main__":
    main()
