"""The engine: cases, workers, results, verdict machinery, gate and merge, for any registered op.

It works on ``Case``/``RunResult``/``Comparison`` (parity.engine.model) and reaches an op only
through its ``Op`` (parity.engine.op) found in the registry (parity.ops).  May import: parity.engine
and the registries (parity.ops, parity.frameworks), never an op's or a framework's own module
(tests/test_layout.py checks it).
"""
