"""Fingerprint many files on every core, in order, reporting progress."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Iterable

from .hashing import Fingerprint, fingerprint


def _one(path: str):
    try:
        return fingerprint(path), None
    except Exception as e:  # carried back to the parent, raised there in order
        return None, e


def fingerprint_all(
    paths: Iterable[str | Path], progress: Callable[[int], None] | None = None, workers: int | None = None
) -> list[Fingerprint]:
    """Fingerprint every path; the first failing file's error is raised (after all are tried)."""
    paths = [str(p) for p in paths]
    workers = workers or min(len(paths), os.cpu_count() or 1)
    results = []
    if workers <= 1 or len(paths) < 8:
        it = map(_one, paths)
        pool = None
    else:
        pool = ProcessPoolExecutor(max_workers=workers)
        it = pool.map(_one, paths, chunksize=max(1, min(32, len(paths) // (workers * 8))))
    try:
        for fp, err in it:
            if err is not None:
                raise err
            results.append(fp)
            if progress:
                progress(1)
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    return results
