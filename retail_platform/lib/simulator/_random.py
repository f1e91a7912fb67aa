"""Deterministic randomness: every stream is keyed by (seed, purpose, ...).

No global state, no Python ``hash()`` (salted per process), no wall clock.
``stream`` gives a numpy ``Generator`` for a block of work (one day's orders, one
cohort...); ``uniform`` is a counter-based hash for closed-form per-cell noise
(inventory of one store/product on one day) that must not depend on what else
was generated.
"""

from __future__ import annotations

import hashlib

import numpy as np

_MASK64 = (1 << 64) - 1


def key(*parts: int | str) -> int:
    """A stable 64-bit key for a tuple of ints and strings."""
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        if isinstance(part, str):
            h.update(b"s" + part.encode() + b"\x00")
        else:
            h.update(b"i" + (int(part) & _MASK64).to_bytes(8, "little"))
    return int.from_bytes(h.digest(), "little")


def stream(seed: int, *parts: int | str) -> np.random.Generator:
    """A fresh PCG64 generator for (seed, *parts)."""
    entropy = [int(seed) & _MASK64, key(*parts)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


_C1 = np.uint64(0x9E3779B97F4A7C15)
_C2 = np.uint64(0xBF58476D1CE4E5B9)
_C3 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = x + _C1
    x = (x ^ (x >> _S30)) * _C2
    x = (x ^ (x >> _S27)) * _C3
    return x ^ (x >> _S31)


def hash64(base: int, *arrays: np.ndarray | int) -> np.ndarray:
    """Counter-based 64-bit hash of (base, a, b, ...) element-wise."""
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays)) if arrays else ()
    h = np.full(shape, np.uint64(base & _MASK64), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for a in arrays:
            h = _mix(h ^ np.asarray(a).astype(np.uint64))
        return _mix(h)


def uniform(base: int, *arrays: np.ndarray | int) -> np.ndarray:
    """Uniform floats in [0, 1) from ``hash64``."""
    return (hash64(base, *arrays) >> _S11).astype(np.float64) * (1.0 / (1 << 53))
