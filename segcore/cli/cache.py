"""``tessera cache info|clear|limit``: the user cache's size, emptying it, its size limits.

Lazy pyramids (levels made for images that carry none) and ONNX copies of
models live in the user cache (``$TESSERA_CACHE_DIR`` or the platform's cache
folder) and are pruned, least recently used first, to a limit each. A pyramid
that an open image is reading is never deleted, by ``clear`` or by pruning.
"""

from __future__ import annotations

import argparse
import datetime
from typing import Any

from segcore.cache import KINDS, cache_home, cache_limit, format_size, parse_size, save_limit
from segcore.errors import TesseraError


class CacheError(TesseraError):
    """A cache command was given a bad value, or the cache folder cannot be written."""


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "cache",
        help="show, clear or limit the cache of pyramids and ONNX copies",
        description="Show, clear or limit the user cache: lazy pyramids of images that carry "
        "no levels, and ONNX copies of models. Everything in it can be made again.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="where the cache is, its size and limits")
    info.add_argument("--list", action="store_true", help="also list each cached pyramid")
    clear = actions.add_parser("clear", help="delete cached pyramids and ONNX copies")
    clear.add_argument(
        "kind", nargs="?", choices=(*KINDS, "all"), default="all", help="what to clear (all)"
    )
    limit = actions.add_parser("limit", help="save the size limit of one kind of cache")
    limit.add_argument("kind", choices=KINDS)
    limit.add_argument("size", help="e.g. 20G or 500M")


def run(args: argparse.Namespace) -> int:
    if args.action == "info":
        print(_info(listing=args.list))
    elif args.action == "clear":
        print(_clear(args.kind))
    else:
        try:
            nbytes = parse_size(args.size)
            where = save_limit(args.kind, nbytes)
        except ValueError as exc:
            raise CacheError(str(exc)) from exc
        except OSError as exc:
            raise CacheError(f"cannot save the limit in {cache_home()}: {exc}") from exc
        print(f"{args.kind} cache limit: {format_size(nbytes)} (saved in {where})")
    return 0


def _info(*, listing: bool) -> str:
    from segcore.io import pyramid_cache
    from segcore.models import onnx_cache

    pyramids = pyramid_cache.entries()
    copies, onnx_bytes = onnx_cache.usage()
    rows: list[tuple[str, Any, str]] = [
        ("pyramids", sum(e.nbytes for e in pyramids), _count(len(pyramids), "image")),
        ("onnx", onnx_bytes, _count(copies, "model")),
    ]
    lines = [f"cache folder: {cache_home()}"]
    for kind, nbytes, count in rows:
        limit, source = cache_limit(kind)
        lines.append(
            f"{kind:9}{format_size(nbytes):>9} of {format_size(limit)} ({count}; limit: {source})"
        )
    if listing:
        for entry in reversed(pyramids):  # most recently used first
            used = datetime.datetime.fromtimestamp(entry.last_used).strftime("%Y-%m-%d %H:%M")
            state = "  in use" if entry.in_use else ""
            lines.append(
                f"  {format_size(entry.nbytes):>9}  {used}  {entry.source or entry.folder}{state}"
            )
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _clear(kind: str) -> str:
    from segcore.io import pyramid_cache
    from segcore.models import onnx_cache

    said = []
    if kind in ("pyramids", "all"):
        done = pyramid_cache.clear()
        text = f"deleted {_count(done.removed, 'pyramid')} ({format_size(done.freed)})"
        if done.kept_in_use:
            text += f"; kept {done.kept_in_use} in use by an open image"
        said.append(text)
    if kind in ("onnx", "all"):
        copies, freed = onnx_cache.clear()
        said.append(
            f"deleted {copies} ONNX {'copy' if copies == 1 else 'copies'} ({format_size(freed)})"
        )
    return "; ".join(said)
