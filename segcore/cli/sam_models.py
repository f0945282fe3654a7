"""``tessera models`` actions for promptable (SAM-family) pairs.

Examples::

    tessera models add-sam --variant mobile_sam --encoder E.onnx --decoder D.onnx
    tessera models export-sam --variant vit_b --checkpoint sam_vit_b_01ec64.pth -o sam_vit_b/
    tessera models sam-list
    tessera models sam-embed slide.svs --view 4096        # precompute a level's embeddings
"""

from __future__ import annotations

import argparse
from pathlib import Path

ACTIONS = ("add-sam", "export-sam", "sam-list", "sam-embed")


def add_parsers(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from segcore.models.sam.variants import VARIANTS

    names = ", ".join(VARIANTS)
    add = actions.add_parser("add-sam", help="register a promptable encoder + decoder ONNX pair")
    add.add_argument("--variant", required=True, help=f"one of: {names}")
    add.add_argument("--encoder", required=True, type=Path, help="encoder .onnx")
    add.add_argument("--decoder", required=True, type=Path, help="decoder .onnx")
    add.add_argument("--name", help="name of the pair (default: the variant)")
    add.add_argument("--replace", action="store_true", help="replace a pair of that name")

    exp = actions.add_parser(
        "export-sam", help="export a downloaded SAM / SAM 2 checkpoint to an ONNX pair (once)"
    )
    exp.add_argument("--variant", required=True, help=f"one of: {names}")
    exp.add_argument("--checkpoint", required=True, type=Path, help="the published .pt/.pth")
    exp.add_argument("-o", "--output", required=True, type=Path, help="folder for the pair")
    exp.add_argument("--add", action="store_true", help="register the pair when exported")

    actions.add_parser("sam-list", help="the registered promptable pairs")

    emb = actions.add_parser("sam-embed", help="precompute a promptable model's embeddings")
    emb.add_argument("image", type=Path)
    emb.add_argument("--model", help="registered pair (default: the default pair)")
    where = emb.add_mutually_exclusive_group(required=True)
    where.add_argument("--level", type=int, help="pyramid level to embed")
    where.add_argument("--view", type=int, help="the level matching a view this wide (px)")


def run(args: argparse.Namespace) -> int:
    return {"add-sam": _add, "export-sam": _export, "sam-list": _list, "sam-embed": _embed}[
        args.action
    ](args)


def _add(args: argparse.Namespace) -> int:
    from segcore.models.sam.store import add_pair

    pair = add_pair(
        args.name or args.variant, args.variant, args.encoder, args.decoder, replace=args.replace
    )
    print(_describe(pair))
    return 0


def _describe(pair: object) -> str:
    from segcore.models.sam.pair import Pair

    assert isinstance(pair, Pair)
    m = pair.meta
    shapes = ", ".join(f"{k} {tuple(v)}" for k, v in m.embeddings.items())
    return (
        f"{pair.name}: {m.variant} ({m.layout} layout), input {m.input_size} px, {shapes}; "
        f"licence {m.licence}; {pair.folder}"
    )


def _export(args: argparse.Namespace) -> int:
    from segcore.cli.progress import run_job
    from segcore.models.sam.export import export_job
    from segcore.models.sam.store import add_pair

    encoder, decoder = run_job(
        export_job(args.variant, args.checkpoint, args.output), "models export-sam"
    )
    print(f"{encoder}\n{decoder}")
    if args.add:
        print(_describe(add_pair(args.variant, args.variant, encoder, decoder, replace=True)))
    return 0


def _list(args: argparse.Namespace) -> int:
    from segcore.models.sam.store import list_pairs, models_dir

    pairs = list_pairs()
    for pair in pairs:
        print(_describe(pair))
    if not pairs:
        print(f"no promptable pairs in {models_dir()}")
    return 0


def _embed(args: argparse.Namespace) -> int:
    from segcore.cli.progress import run_job
    from segcore.io.opener import open_image
    from segcore.labels.box import Box
    from segcore.models.sam.runtime import PromptModel
    from segcore.models.sam.store import get_pair
    from segcore.prompt.geometry import choose_level
    from segcore.prompt.precompute import precompute
    from segcore.prompt.session import PromptSession

    model = PromptModel(get_pair(args.model))
    if model.device_note:
        print(model.device_note)
    source = open_image(args.image)
    try:
        session = PromptSession(source, model)
        level = args.level
        if level is None:
            level = choose_level(session.levels, Box(0, 0, args.view, args.view), session.size)
        if not 0 <= level < len(session.levels.sizes):
            from segcore.errors import SourceError

            raise SourceError(args.image, f"has levels 0..{len(session.levels.sizes) - 1}")
        encoded = run_job(precompute(session, level), "models sam-embed")
        print(f"{args.image}: level {level}, {encoded} windows encoded ({session.cache.folder})")
    finally:
        source.close()
    return 0
