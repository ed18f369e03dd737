"""The committed artifact the CLI deploys from must be what contracts/ compiles to."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_committed_artifact_matches_a_fresh_compile():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_artifact"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "matches" in r.stdout


def test_the_client_speaks_the_registry_version_it_deploys():
    """rpc.COMPATIBLE_REGISTRY moves with the contract's version (a 2.0 registry's 56-byte imprints and
    Published events are refused in one line, not mis-decoded)."""
    import re

    from consentry import rpc

    source = (ROOT / "contracts" / "ConsentRegistry.sol").read_text()
    (version,) = re.findall(r'_VERSION = "([0-9.]+)"', source)
    assert version.startswith(rpc.COMPATIBLE_REGISTRY)
    encoded = "0x" + (32).to_bytes(32, "big").hex() + (5).to_bytes(32, "big").hex() + b"2.0.0".hex().ljust(64, "0")
    assert rpc._abi_string(encoded) == "2.0.0" and not "2.0.0".startswith(rpc.COMPATIBLE_REGISTRY)
    assert rpc._abi_string("0x" + "00" * 64) is None


def test_the_client_checks_the_same_license_ceiling_as_the_registry():
    import re

    from consentry import licenses

    source = (ROOT / "contracts" / "ConsentRegistry.sol").read_text()
    (days,) = re.findall(r"MAX_LICENSE_SECONDS = (\d+) days", source)
    assert licenses.MAX_LICENSE_SECONDS == int(days) * 86400
