"""The shells over the engine: the ``parity`` command line and the pytest plugin.

May import: parity.engine, parity.reporters, the registries (parity.ops, parity.frameworks) and
its own modules (the command line is split over cli*.py);
an op's own commands are forwarded to the module its ``Op.commands`` names.
"""
