"""``tessera project classes PROJECT ACTION``: list and change a project's classes.

Each change opens the project (taking its lock, replaying journals), applies
one edit through ``project.class_edits`` (journalled, the same code as the
Classes dock), saves, and prints one line saying what changed. A class is
named by its name (case-insensitive) or its id. Bad input raises a
:class:`TesseraError` before anything is written: the CLI prints one line and
exits with status 2.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import TYPE_CHECKING

from segcore.errors import LabelError, ProjectError, TesseraError
from segcore.labels.schema import ClassInfo, Color

if TYPE_CHECKING:
    from segcore.project import Project

_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


def add_parser(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Declare ``project classes PROJECT ACTION ...`` under the ``project`` actions."""
    parser = actions.add_parser(
        "classes",
        help="list, add, rename, recolour, reorder or delete a project's classes",
        description="List or change a project's classes. CLASS is a class name or id. "
        "Each change is journalled and saved; labels follow a move or a delete.",
    )
    parser.add_argument("project", metavar="PROJECT", help="project folder")
    edits = parser.add_subparsers(dest="edit", metavar="EDIT", required=True)
    listing = edits.add_parser("list", help="id, name, colour, kind, labelled pixels")
    listing.add_argument(
        "--no-counts", action="store_true", help="skip the pixel counts (they read the labels)"
    )
    add = edits.add_parser("add", help="append a class")
    add.add_argument("name")
    add.add_argument("--color", "--colour", dest="color", metavar="#RRGGBB")
    add.add_argument("--thing", action="store_true", help="countable objects (default: stuff)")
    rename = edits.add_parser("rename", help="rename a class (the old name stays an alias)")
    rename.add_argument("cls", metavar="CLASS")
    rename.add_argument("new_name", metavar="NEW")
    color = edits.add_parser("color", aliases=["colour"], help="change a class's colour")
    color.add_argument("cls", metavar="CLASS")
    color.add_argument("color", metavar="#RRGGBB")
    for kind, text in (("thing", "countable objects"), ("stuff", "no objects")):
        one = edits.add_parser(kind, help=f"make a class {kind} ({text})")
        one.add_argument("cls", metavar="CLASS")
    move = edits.add_parser("move", help="move a class to a position (ids follow the order)")
    move.add_argument("cls", metavar="CLASS")
    move.add_argument("index", type=int, metavar="INDEX")
    delete = edits.add_parser("delete", help="delete a class: its pixels become unlabelled")
    delete.add_argument("cls", metavar="CLASS")
    delete.add_argument("--merge-into", metavar="CLASS", help="give its pixels to this class")


def run(args: argparse.Namespace) -> int:
    from segcore.cli.project import open_project

    project = open_project(args.project, "project")
    try:
        if args.edit == "list":
            text = _listing(project, counts=not args.no_counts)
        else:
            try:
                text = _edit(project, args)
            except TesseraError as exc:
                raise ProjectError(f"{project.root}: {exc}") from exc
            project.save()
    finally:
        project.close(save=False)  # saved above after an edit; a failed one wrote nothing
    sys.stdout.write(text.rstrip("\n") + "\n")
    return 0


def _edit(project: Project, args: argparse.Namespace) -> str:
    """Apply one edit; return the line that says what changed."""
    edits = project.class_edits
    if args.edit == "add":
        color = None if args.color is None else parse_color(args.color)
        new = edits.add(args.name, color=color, thing=args.thing)
        return f"added class {new.id} {new.name!r} ({hex_color(new.color)}, {_kind(new)})"
    old = find_class(project, args.cls)
    if args.edit == "rename":
        new = edits.rename(old.id, args.new_name)
        return f"renamed class {old.id} {old.name!r} to {new.name!r} (old name kept as an alias)"
    if args.edit in ("color", "colour"):
        new = edits.recolor(old.id, parse_color(args.color))
        return (
            f"recoloured class {old.id} {old.name!r} "
            f"from {hex_color(old.color)} to {hex_color(new.color)}"
        )
    if args.edit in ("thing", "stuff"):
        thing = args.edit == "thing"
        if old.thing == thing:
            return f"class {old.id} {old.name!r} is {_kind(old)} already; nothing changed"
        lost = ""
        if not thing:
            pixels = int(_counts(project)[old.id])
            lost = f" ({pixels:,} pixels lose their object ids)"
        edits.set_thing(old.id, thing)
        return f"made class {old.id} {old.name!r} {args.edit}{lost}"
    if args.edit == "move":
        if args.index == old.id:
            return f"class {old.name!r} is at position {old.id} already; nothing changed"
        edits.move(old.id, args.index)
        order = ", ".join(f"{c.id} {c.name}" for c in project.classes)
        return f"moved class {old.name!r} from {old.id} to {args.index} (now: {order})"
    return _delete(project, old, args.merge_into)


def _delete(project: Project, old: ClassInfo, merge_into: str | None) -> str:
    target = None if merge_into is None else find_class(project, merge_into)
    if len(project.classes) == 1:
        raise LabelError("a project needs at least one class; add another before deleting")
    if target is not None and target.id == old.id:
        raise LabelError(f"cannot merge class {old.name!r} into itself")
    pixels = int(_counts(project)[old.id])
    project.class_edits.delete(old.id, merge_into=None if target is None else target.id)
    where = "unlabelled" if target is None else f"merged into {target.name!r}"
    return f"deleted class {old.id} {old.name!r} ({pixels:,} pixels {where})"


def find_class(project: Project, token: str) -> ClassInfo:
    """The class named ``token`` (case-insensitive), else the class with that id."""
    key = token.strip().lower()
    for c in project.classes:
        if c.name.lower() == key:
            return c
    if key.isdigit():
        for c in project.classes:
            if c.id == int(key):
                return c
    names = ", ".join(f"{c.id} {c.name}" for c in project.classes)
    raise LabelError(f"no class {token!r} (name or id; the classes are: {names})")


def parse_color(text: str) -> Color:
    """``#RRGGBB`` (the ``#`` may be left out) as an (r, g, b) tuple."""
    match = _HEX.fullmatch(text.strip())
    if match is None:
        raise LabelError(f"bad colour {text!r}: give it as #RRGGBB, e.g. #3C71F2")
    value = int(match.group(1), 16)
    return (value >> 16, (value >> 8) & 0xFF, value & 0xFF)


def hex_color(color: Color) -> str:
    return "#{:02X}{:02X}{:02X}".format(*color)


def _kind(info: ClassInfo) -> str:
    return "thing" if info.thing else "stuff"


def _counts(project: Project) -> list[int]:
    from segcore.project.classcount import class_pixel_counts

    return [int(v) for v in class_pixel_counts(project)]


def _listing(project: Project, *, counts: bool) -> str:
    pixels = _counts(project) if counts else None
    aliases = any(c.aliases for c in project.classes)
    rows = [("id", "name", "colour", "kind", "pixels" if counts else "", "was" if aliases else "")]
    for c in project.classes:
        count = f"{pixels[c.id]:,}" if pixels is not None else ""
        rows.append((str(c.id), c.name, hex_color(c.color), _kind(c), count, ", ".join(c.aliases)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [
            r[0].rjust(widths[0]),
            *(v.ljust(w) for v, w in zip(r[1:4], widths[1:4], strict=True)),
        ]
        cells.append(r[4].rjust(widths[4]))
        cells.append(r[5])
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"
