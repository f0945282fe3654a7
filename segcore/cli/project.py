"""``tessera project``: check a project's labels, and go on without lost ones.

``check`` opens the project (replaying journals, as any opening does) and
says what it found: edits recovered from journals, edits that could not be
read, labels that are lost. ``--deep`` also decodes every label chunk file.
Exit status 0 when every image's labels are whole, 1 when some are lost.

``accept-loss`` is the explicit decision to continue without lost labels:
damaged files are moved to ``<project>/damaged/``, lost chunks become
unlabelled, and the project is saved. Without it nothing is recreated empty.

``classes`` lists and changes the project's classes (:mod:`.project_classes`).

Other subcommands open projects through :func:`open_project`, which prints
the same report to stderr.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from segcore.cli import project_classes
from segcore.errors import ProjectError

if TYPE_CHECKING:
    from segcore.project import Project

EXIT_DAMAGED = 1


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "project",
        help="check labels, accept lost ones, edit classes",
        description="Check a project's labels and journals, accept the loss of labels "
        "that are gone (a deleted store or chunk file, a damaged journal), or list and "
        "change the project's classes.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="report recovered edits and lost labels")
    check.add_argument("project", help="project folder")
    check.add_argument(
        "--deep", action="store_true", help="also decode every label chunk file (reads all)"
    )
    accept = actions.add_parser(
        "accept-loss", help="go on without an image's lost labels (damaged files kept aside)"
    )
    accept.add_argument("project", help="project folder")
    accept.add_argument("images", nargs="*", metavar="IMAGE", help="image ids (see check)")
    accept.add_argument("--all", action="store_true", help="every image with lost labels")
    project_classes.add_parser(actions)


def open_project(path: str, command: str) -> Project:
    """Open a project for a subcommand, printing what opening found to stderr."""
    from segcore.project import Project

    project = Project.open(path)
    for line in project.report():
        sys.stderr.write(f"tessera {command}: note: {line}\n")
    return project


def run(args: argparse.Namespace) -> int:
    from segcore.project import Project

    if args.action == "classes":
        return project_classes.run(args)
    project = Project.open(args.project)
    try:
        if args.action == "check":
            return _check(project, deep=args.deep)
        return _accept(project, args.images, every=args.all)
    finally:
        project.close(save=False)


def _check(project: Project, *, deep: bool) -> int:
    damage = project.check(deep=deep)
    for line in project.report():
        sys.stdout.write(f"{line}\n")
    if damage:
        return EXIT_DAMAGED
    how = "every chunk decoded" if deep else "stores checked against their counts"
    sys.stdout.write(f"{len(project.images)} image(s): labels are whole ({how})\n")
    return 0


def _accept(project: Project, images: list[str], *, every: bool) -> int:
    for image_id in images:
        project.image(image_id)  # an unknown id is refused before anything is done
    project.check(deep=True, images=None if every else images)
    targets = sorted(project.damage) if every else images
    if not targets:
        raise ProjectError(
            "name the images whose loss to accept (or --all); "
            + ("none has lost labels" if not project.damage else f"lost: {sorted(project.damage)}")
        )
    for image_id in targets:
        sys.stdout.write(project.accept_loss(image_id) + "\n")
    return 0
