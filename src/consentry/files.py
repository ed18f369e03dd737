"""Reading and writing the JSON files Consentry exchanges (manifests, offers): one-line errors on
read, atomic replacement on write (a crash leaves the old file or the new one, never half)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import FileProblem


def read_json(path: str | Path, what: str):
    p = Path(path)
    try:
        return json.loads(p.read_text())
    except FileNotFoundError:
        raise FileProblem(f"{what} {p} not found") from None
    except IsADirectoryError:
        raise FileProblem(f"{p} is a directory, not a {what}") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise FileProblem(f"{p} is not a readable {what} ({type(e).__name__})") from None


def write_json_atomic(path: Path, obj: dict, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
