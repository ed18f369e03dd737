"""Where Consentry keeps its data and finds its tools."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import ChainError

SCHEMA_VERSION = 1
LOCAL_CHAIN_ID = 31337
DEFAULT_PORT = 8545


def home() -> Path:
    """The data directory: $CONSENTRY_HOME, else ~/.consentry."""
    env = os.environ.get("CONSENTRY_HOME")
    return Path(env).expanduser() if env else Path.home() / ".consentry"


def ensure_home() -> Path:
    h = home()
    h.mkdir(parents=True, exist_ok=True, mode=0o700)
    return h


def keystore_dir() -> Path:
    return home() / "keystore"


def node_dir() -> Path:
    return home() / "node"


def default_index_path() -> Path:
    return home() / "index.db"


def manifests_dir() -> Path:
    return home() / "manifests"


def project_root() -> Path:
    # src/consentry/config.py -> <repo> (an editable install inside the repo)
    return Path(__file__).resolve().parent.parent.parent


def _project_tools() -> Path:
    return project_root() / ".tools" / "bin"


def tool(name: str) -> str:
    """Path of anvil or cast: $CONSENTRY_<NAME>, the project's npm tools, then PATH."""
    env = os.environ.get(f"CONSENTRY_{name.upper()}")
    if env:
        return env
    local = _project_tools() / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found:
        return found
    raise ChainError(f"{name} not found: run scripts/setup, or set CONSENTRY_{name.upper()} to its path")
