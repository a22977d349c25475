"""The shells over the engine: the ``parity`` command line and the pytest plugin.

May import: parity.engine, parity.reporters and the registries (parity.ops, parity.frameworks);
an op's own commands are forwarded to the module its ``Op.commands`` names.
"""
