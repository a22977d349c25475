"""The commands an op provides for itself (``Op.commands``: mapping, translate, check, ...), forwarded
with their arguments: ``parity NAME [--op OP] ARGS`` runs that op's click command on ARGS."""
from __future__ import annotations

import click


#: Commands each op provides for itself (parity.engine.op.Op.commands), forwarded with their arguments.
OP_COMMANDS = {
    "mapping": "Print an op's parameter mapping table (torchvision -> MindSpore and the other frameworks).",
    "translate": "Print the call in the other framework that reproduces a given call, and verify it.",
    "check": "Run a call on your own arrays: the renamed and the exactly translated call.",
    "generate": "Write a suite's cases as fixtures plus manifest.json (replay with parity run --fixtures).",
    "repro": "Write a standalone script and a bug-report body reproducing one case.",
    "bench": "Time each implementation of an op on the workloads detection models run.",
    "mutants": "Inject known faults into a copy of the reference; every one must be caught by some case.",
}


def _take_op(args: list[str]) -> tuple[str, list[str]]:
    """``--op NAME`` (or ``--op=NAME``) out of a forwarded command line; the default op otherwise."""
    from parity import ops
    from parity.engine.errors import UsageError

    rest, op = [], ops.DEFAULT_OP
    words = iter(args)
    for word in words:
        if word == "--op":
            op = next(words, None) or ""
            if not op:
                raise UsageError("--op needs an op name (parity ops lists them)")
        elif word.startswith("--op="):
            op = word[len("--op="):]
        else:
            rest.append(word)
    return op, rest


def forwarding(name: str, summary: str) -> click.Command:
    """``parity NAME``: takes every argument unparsed (its own -h too) and hands them to the command
    ``NAME`` of the op that ``--op`` names, so each op owns its options and help."""

    @click.pass_context
    def forward(ctx: click.Context) -> None:
        import importlib

        from parity import ops
        from parity.engine.errors import UsageError

        op_name, rest = _take_op(ctx.args)
        op = ops.get(op_name)
        if name not in op.commands:
            raise UsageError(f"op {op_name} has no `parity {name}`; its commands: {', '.join(op.commands) or 'none'}")
        module, attribute = op.commands[name].split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        # run standalone, the op's command gets no settings from the group: -h is given again here
        command.main(args=rest, prog_name=f"parity {name}", standalone_mode=True, help_option_names=["-h", "--help"])

    settings = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}
    return click.Command(name, callback=forward, help=f"{summary} [--op NAME] (default roi_align); -h: its options.",
                         context_settings=settings, add_help_option=False)
