"""Shared fixtures of the product's tests."""
import importlib.util

# tests/contracts/ belong to the Ape environment (scripts/test runs them there).
collect_ignore = [] if importlib.util.find_spec("ape") else ["contracts"]
