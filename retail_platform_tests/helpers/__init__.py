"""Helpers the tests share (and benchmarks/ reuse): the platform on temporary paths,
emulators, servers and hand-made landing files. No tests here."""
