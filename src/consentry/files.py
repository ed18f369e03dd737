"""Reading and writing the JSON files Consentry exchanges (manifests, offers): one-line errors on
read, atomic replacement on write (a crash leaves the old file or the new one, never half)."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .errors import FileProblem
from .text import safe


MAX_JSON_BYTES = 64 * 2**20  # a manifest of 10,000 assets is about 13 MB
MAX_JSON_DEPTH = 32          # a manifest nests 4 deep; json's C parser can overflow the stack on deep input
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = bytes(c for c in range(256) if c not in b"[]{}")


class _NotJson(ValueError):
    pass


def _no_duplicate_keys(pairs):
    d = dict(pairs)
    if len(d) != len(pairs):
        raise _NotJson("duplicate key")
    return d


def _no_constant(name):
    raise _NotJson(f"{name} is not JSON")


def _nesting_depth(raw: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (at most; strings do not count)."""
    b = _STRING.sub(b"", raw).translate(None, _NOT_BRACKET)
    if b.count(b"[") + b.count(b"{") <= MAX_JSON_DEPTH:
        return 0
    import numpy as np

    steps = np.frombuffer(b, dtype=np.uint8)
    steps = np.where((steps == ord("[")) | (steps == ord("{")), 1, -1).astype(np.int8)
    depth = peak = 0
    for i in range(0, len(steps), 1 << 22):
        c = np.cumsum(steps[i: i + (1 << 22)], dtype=np.int64) + depth
        peak, depth = max(peak, int(c.max())), int(c[-1])
    return peak


def read_json(path: str | Path, what: str, max_bytes: int = MAX_JSON_BYTES):
    """The parsed file: strict JSON (no NaN/Infinity, no repeated keys), at most `max_bytes` long."""
    p = Path(path)
    shown = safe(str(p))
    try:
        with open(p, "rb") as f:
            raw = f.read(max_bytes + 1)
        if len(raw) > max_bytes:
            raise FileProblem(f"{shown} is too large for a {what} (over {max_bytes // 2**20} MB)")
        if _nesting_depth(raw) > MAX_JSON_DEPTH:
            raise FileProblem(f"{shown} is not a {what}: it nests more than {MAX_JSON_DEPTH} levels deep")
        return json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    except FileNotFoundError:
        raise FileProblem(f"{what} {shown} not found") from None
    except IsADirectoryError:
        raise FileProblem(f"{shown} is a directory, not a {what}") from None
    except _NotJson as e:
        raise FileProblem(f"{shown} is not a readable {what} ({e})") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise FileProblem(f"{shown} is not a readable {what} ({type(e).__name__})") from None


def write_json_atomic(path: Path, obj: dict, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    # never through a link planted where the temporary file goes
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), mode)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
