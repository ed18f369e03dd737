"""Merkle tree over a twin's asset leaves: keccak256 leaves, sorted-pair hashing (OpenZeppelin
MerkleProof compatible), so a proof checks with `MerkleProof.verify` as well as with `verify` here.

leaf = keccak256(contentHash(32) ‖ pixelHash(32) ‖ pHash(8, big-endian))
"""

from __future__ import annotations

from eth_hash.auto import keccak


def leaf(content_hash: bytes, pixel_hash: bytes, phash: int) -> bytes:
    return keccak(content_hash + pixel_hash + phash.to_bytes(8, "big"))


def _pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


def build(leaves: list[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """Return (root, proofs) where proofs[i] proves leaves[i]."""
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    n = len(leaves)
    proofs: list[list[bytes]] = [[] for _ in range(n)]
    level = list(leaves)
    positions = list(range(n))  # position of each original leaf in the current level
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level), 2):
            nxt.append(_pair(level[i], level[i + 1]) if i + 1 < len(level) else level[i])
        for j in range(n):
            p = positions[j]
            sibling = p ^ 1
            if sibling < len(level):
                proofs[j].append(level[sibling])
            positions[j] = p // 2
        level = nxt
    return level[0], proofs


def verify(leaf_hash: bytes, proof: list[bytes], root: bytes) -> bool:
    h = leaf_hash
    for s in proof:
        h = _pair(h, s)
    return h == root
