"""The committed artifact the CLI deploys from must be what contracts/ compiles to."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_committed_artifact_matches_a_fresh_compile():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_artifact"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "matches" in r.stdout
