"""Consentry: a blockchain-anchored likeness provenance registry for fashion models' digital twins."""

__version__ = "0.1.0"
