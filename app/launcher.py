"""Entry point of the ``tessera`` command.

A headless subcommand goes to :mod:`segcore.cli` without importing Qt;
anything else (nothing, or an image path) opens the desktop app, once
:mod:`app.platform_check` has found the system libraries Qt's window needs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from segcore.cli import is_subcommand

    if args and (is_subcommand(args[0]) or args[0] in ("-h", "--help")):
        from segcore.cli import main as cli_main

        return cli_main(args)
    from app.platform_check import check_display

    problem = check_display()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    from app.main import run_app

    return run_app(args)


if __name__ == "__main__":
    sys.exit(main())
