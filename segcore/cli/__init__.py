"""The ``tessera`` command line: headless subcommands, no Qt.

Each subcommand lives in its own module with two functions::

    def add_parser(sub: argparse._SubParsersAction) -> None  # declares its options
    def run(args: argparse.Namespace) -> int                  # does the work

Modules are imported only when their subcommand runs, so ``tessera info``
never pays for torch. Expected failures (:class:`TesseraError`) print one line
and exit with status 2; they never show a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from segcore.errors import TesseraError

# subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "info": ("segcore.cli.info", "print an image's metadata as JSON"),
    "models": ("segcore.cli.models", "list, create and export models"),
    "infer": ("segcore.cli.infer", "run a model over an image, tile by tile"),
    "train": ("segcore.cli.train", "train or fine-tune a model on labels"),
    "export": ("segcore.cli.export", "export labels to mask and dataset formats"),
    "import": ("segcore.cli.importer", "import labels from dataset formats into a project"),
    "eval": ("segcore.cli.evaluate", "compare a prediction with ground truth"),
    "panoptic": ("segcore.cli.panoptic", "fuse a semantic and an instance model's predictions"),
    "project": ("segcore.cli.project", "check labels, accept lost ones, edit classes"),
    "stack": ("segcore.cli.stack", "stack one-band files into one multiband VRT"),
    "cache": ("segcore.cli.cache", "show, clear or limit the cache of pyramids and ONNX copies"),
}

EXIT_FAILURE = 2


def is_subcommand(word: str) -> bool:
    return word in SUBCOMMANDS


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tessera",
        description="Tessera: segment and annotate huge images. "
        "With no subcommand (or an image path) it opens the app.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        if only is not None and name != only:
            sub.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(module_name)
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one headless subcommand and return its exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    command = args_list[0] if args_list and is_subcommand(args_list[0]) else None
    parser = build_parser(only=command or "__none__")
    args = parser.parse_args(args_list)
    if args.command is None:
        parser.print_help()
        return 0
    # GDAL's messages (rasterio logs them) would reach the terminal through logging's
    # last-resort handler; the error that matters is raised and printed below.
    logging.getLogger("rasterio").addHandler(logging.NullHandler())
    module = importlib.import_module(SUBCOMMANDS[args.command][0])
    try:
        return int(module.run(args))
    except TesseraError as exc:
        print(f"tessera {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print(f"tessera {args.command}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print(
            f"tessera {args.command}: out of memory; try a smaller tile or batch", file=sys.stderr
        )
        return EXIT_FAILURE
