"""``tessera models``: list architectures, create a model file, export it, show its metadata.

Examples::

    tessera models list
    tessera models new --arch small_unet --classes background,cell --in-channels 1 \
        -o cells.safetensors
    tessera models export cells.safetensors --format onnx -o cells.onnx
    tessera models info cells.safetensors
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from segcore.cli import sam_models
from segcore.errors import ModelError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "models",
        help="list, create and export models",
        description="List architectures, create model files, export them, show their metadata.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    actions.add_parser("list", help="table of the registered architectures")

    new = actions.add_parser("new", help="create a randomly initialised, probed model file")
    new.add_argument("--arch", required=True, help="architecture (see `tessera models list`)")
    new.add_argument("--encoder", help="encoder for smp architectures (default: the arch's)")
    new.add_argument(
        "--classes", required=True, help="class count N, or names: background,road,building"
    )
    new.add_argument("--in-channels", type=int, required=True, help="input bands")
    new.add_argument("--tile", type=int, help="tile size it will run at (default: the arch's)")
    new.add_argument(
        "--pretrained",
        action="store_true",
        help="ImageNet backbone/encoder weights (downloaded once into the torch hub cache)",
    )
    new.add_argument("-o", "--output", required=True, help="output .safetensors file")
    new.add_argument(
        "--no-onnx-copy",
        action="store_true",
        help="skip making the ONNX copy that CPU runs use (then the first run makes it, ~10 s)",
    )

    export = actions.add_parser("export", help="write TorchScript or ONNX (plus sidecar JSON)")
    export.add_argument("model", help=".safetensors model file")
    export.add_argument("--format", required=True, choices=("torchscript", "onnx"))
    export.add_argument("-o", "--output", required=True, help="output .pt or .onnx file")
    export.add_argument("--opset", type=_opset, default=17, help="ONNX opset (default 17)")
    export.add_argument(
        "--static", action="store_true", help="ONNX with fixed input size (the tile size)"
    )

    info = actions.add_parser("info", help="print a model file's metadata as JSON")
    info.add_argument("model", help=".safetensors, .pth (with sidecar) or .onnx (with sidecar)")

    sam_models.add_parsers(actions)


MIN_OPSET = 9  # the oldest opset torch.onnx.export still writes


def _opset(text: str) -> int:
    """An ONNX opset the installed onnx package knows (refused by argparse otherwise)."""
    from onnx.defs import onnx_opset_version

    newest = onnx_opset_version()
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not MIN_OPSET <= value <= newest:
        raise argparse.ArgumentTypeError(f"opsets {MIN_OPSET}..{newest} are known, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    if args.action in sam_models.ACTIONS:
        return sam_models.run(args)
    action = {"list": _list, "new": _new, "export": _export, "info": _info}[args.action]
    return action(args)


def _list(args: argparse.Namespace) -> int:
    from segcore.models.registry import list_archs

    rows = [("NAME", "FAMILY", "ENCODERS", "TILING", "STRIDE", "DESCRIPTION")]
    for e in list_archs():
        encoders = ", ".join(e.encoders) if e.encoders else "-"
        tiling = "blended" if e.global_context else "exact*"
        rows.append((e.name, e.family, encoders, tiling, str(e.output_stride), e.description))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)]
        print("  ".join([*cells, row[-1]]).rstrip())
    print(
        "\n* exact when the probe measures a finite receptive field (stored in the model file); "
        "global context (pooling, attention) means blended tiles"
    )
    return 0


def _parse_classes(text: str) -> int | list[str]:
    text = text.strip()
    if text.isdigit():
        return int(text)
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise ModelError(f"--classes {text!r}: give a count or comma-separated names")
    return names


def _new(args: argparse.Namespace) -> int:
    from segcore.files import check_outputs
    from segcore.models.create import create_model
    from segcore.models.files import save_model

    check_outputs([("-o", args.output)])  # before building (and maybe downloading) a model

    module, meta = create_model(
        args.arch,
        classes=_parse_classes(args.classes),
        in_channels=args.in_channels,
        encoder=args.encoder,
        tile_size=args.tile,
        pretrained=args.pretrained,
    )
    out = save_model(args.output, module, meta)
    if not args.no_onnx_copy:
        from segcore.cli.progress import run_job
        from segcore.models.onnx_cache import copy_after_write

        run_job(copy_after_write(out), "tessera models new", notes=True)
    tiling = (
        f"exact tiling, receptive field {meta.receptive_field} px"
        if meta.exact
        else "blended tiling"
    )
    print(
        f"{out}: {meta.arch}, {meta.in_channels} bands -> {meta.num_classes} classes, "
        f"output stride {meta.output_stride}, {tiling}"
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    from segcore.files import check_outputs
    from segcore.models.files import load_model
    from segcore.models.portable import export_onnx, export_torchscript

    out = Path(args.output)
    check_outputs(
        [("-o", out), ("the sidecar", out.with_suffix(".json"))], model_inputs(args.model)
    )
    loaded = load_model(args.model)
    if args.format == "onnx":
        out = export_onnx(loaded, args.output, opset=args.opset, dynamic=not args.static)
    else:
        out = export_torchscript(loaded, args.output)
    print(f"{out} (+ {Path(out).with_suffix('.json').name})")
    return 0


def model_inputs(model: str | Path) -> list[tuple[str, str | Path]]:
    """The files a model path stands for: itself, and the sidecar JSON .onnx/.pth files read."""
    path = Path(model)
    found: list[tuple[str, str | Path]] = [("the model", path)]
    if path.suffix.lower() in {".onnx", ".pth"}:
        found.append(("the model's sidecar", path.with_suffix(".json")))
    return found


def _info(args: argparse.Namespace) -> int:
    from segcore.models.files import read_meta

    meta = read_meta(args.model)
    json.dump(meta.to_json(), sys.stdout, indent=2)
    print()
    return 0
