"""The committed artifacts the CLI deploys from (the registry and the development USDC) must be what
contracts/ compiles to."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "src" / "consentry" / "artifacts"


def test_committed_artifacts_match_a_fresh_compile():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_artifact"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "artifacts match a fresh compile (ConsentRegistry.json, TestUSDC.json)" in r.stdout


@pytest.mark.parametrize("name", ["ConsentRegistry", "TestUSDC"])
def test_each_artifact_names_the_sources_it_was_built_from(name):
    """Same shape for both; every source's keccak256 is the file's text now (OpenZeppelin's from node_modules),
    so an edited contract or another OpenZeppelin version shows as stale even without a compiler."""
    from eth_utils import keccak

    artifact = json.loads((ARTIFACTS / f"{name}.json").read_text())
    assert sorted(artifact) == ["abi", "bytecode", "compiler", "contractName", "deployedBytecode", "sources"]
    assert artifact["contractName"] == name and len(artifact["deployedBytecode"]) > 1000
    assert artifact["compiler"]["settings"]["evmVersion"] == "paris"
    for source, digest in artifact["sources"].items():
        on_disk = ROOT / "contracts" / source
        if not on_disk.is_file():
            on_disk = ROOT / "node_modules" / source
        assert digest == "0x" + keccak(on_disk.read_bytes()).hex(), source


def test_the_test_usdc_artifact_is_openzeppelins_erc20_with_mint_and_permit():
    artifact = json.loads((ARTIFACTS / "TestUSDC.json").read_text())
    functions = {f["name"] for f in artifact["abi"] if f["type"] == "function"}
    assert {"mint", "decimals", "transferFrom", "approve", "permit", "nonces", "DOMAIN_SEPARATOR"} <= functions
    sources = set(artifact["sources"])
    assert {"dev/TestUSDC.sol", "@openzeppelin/contracts/token/ERC20/ERC20.sol"} <= sources
    assert all(s == "dev/TestUSDC.sol" or s.startswith("@openzeppelin/contracts/") for s in sources)
    registry = json.loads((ARTIFACTS / "ConsentRegistry.json").read_text())
    assert sorted(registry["sources"]) == ["ConsentRegistry.sol", "IConsentRegistry.sol"]


def test_the_client_speaks_the_registry_version_it_deploys():
    """rpc.COMPATIBLE_REGISTRY moves with the contract's version (a 2.2 registry's 56-byte imprints and
    Published events are refused in one line, not mis-decoded)."""
    import re

    from consentry import rpc

    source = (ROOT / "contracts" / "ConsentRegistry.sol").read_text()
    (version,) = re.findall(r'_VERSION = "([0-9.]+)"', source)
    assert version.startswith(rpc.COMPATIBLE_REGISTRY)
    encoded = "0x" + (32).to_bytes(32, "big").hex() + (5).to_bytes(32, "big").hex() + b"2.2.0".hex().ljust(64, "0")
    assert rpc._abi_string(encoded) == "2.2.0" and not "2.2.0".startswith(rpc.COMPATIBLE_REGISTRY)
    assert rpc._abi_string("0x" + "00" * 64) is None


def test_the_client_checks_the_same_license_ceiling_as_the_registry():
    import re

    from consentry import licenses

    source = (ROOT / "contracts" / "ConsentRegistry.sol").read_text()
    (days,) = re.findall(r"MAX_LICENSE_SECONDS = (\d+) days", source)
    assert licenses.MAX_LICENSE_SECONDS == int(days) * 86400
