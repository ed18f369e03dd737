"""Reading and writing the JSON files Consentry exchanges (manifests, offers): one-line errors on
read, atomic replacement on write (a crash leaves the old file or the new one, never half)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .errors import FileProblem
from .text import safe

MAX_JSON_BYTES = 64 * 2**20  # a manifest of 10,000 assets is about 13 MB
MAX_JSON_DEPTH = 100  # a manifest nests 4 deep


class _NotJson(ValueError):
    pass


def _no_duplicate_keys(pairs):
    d = dict(pairs)
    if len(d) != len(pairs):
        raise _NotJson("duplicate key")
    return d


def _no_constant(name):
    raise _NotJson(f"{name} is not JSON")


def _loads(text: str):
    """Strict json.loads that raises RecursionError on deep nesting instead of crashing: py_ecc
    (imported with eth-account) raises the recursion limit to 100,000, deep enough for json's C
    parser to overflow the C stack on "[[[[...". The limit is lowered only while parsing."""
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(min(old, depth + MAX_JSON_DEPTH))
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    finally:
        sys.setrecursionlimit(old)


def read_bounded(path: str | Path, what: str, max_bytes: int) -> bytes:
    """A small file's bytes (a key, a certificate, a JSON document), refused in one line when it is
    missing, a directory, unreadable or over `max_bytes`."""
    p = Path(path)
    shown = safe(str(p))
    try:
        with open(p, "rb") as f:
            raw = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise FileProblem(f"{what} {shown} not found") from None
    except IsADirectoryError:
        raise FileProblem(f"{shown} is a directory, not a {what}") from None
    except OSError as e:
        raise FileProblem(f"cannot read {what} {shown} ({e.strerror or type(e).__name__})") from None
    if len(raw) > max_bytes:
        raise FileProblem(f"{shown} is too large for a {what} (over {max(1, max_bytes // 2**20)} MB)")
    return raw


def read_json(path: str | Path, what: str, max_bytes: int = MAX_JSON_BYTES):
    """The parsed file: strict JSON (no NaN/Infinity, no repeated keys), at most `max_bytes` long."""
    shown = safe(str(path))
    raw = read_bounded(path, what, max_bytes)
    try:
        return _loads(raw.decode("utf-8"))
    except _NotJson as e:
        raise FileProblem(f"{shown} is not a readable {what} ({e})") from None
    except RecursionError:
        raise FileProblem(f"{shown} is not a readable {what} (nested too deeply)") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise FileProblem(f"{shown} is not a readable {what} ({type(e).__name__})") from None


def write_bytes_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """The one atomic write: a temporary file in the same folder (never through a link planted where it
    goes), flushed to disk, then renamed over `path`. A crash leaves the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, obj: dict, mode: int = 0o644, indent: int | None = 2) -> None:
    write_bytes_atomic(Path(path), json.dumps(obj, indent=indent, sort_keys=True).encode(), mode)
