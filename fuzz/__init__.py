"""Fuzz harnesses for safecompile (see fuzz/README.md).

The modules here are importable (``fuzz.grammar``, ``fuzz.differential``,
``fuzz.escape``) so that ``tests/fuzz/test_fuzz_bounded.py`` runs the same
strategies and properties with a small budget; each is also a script for
long runs (``python fuzz/escape.py --examples 200000``).
"""
