"""Rebuild README.md and docs/benchmarks.md from their per-area parts.

Each area keeps its user guide in ``docs/readme/<area>.md`` and its measured
figures in ``docs/bench/<area>.md``; this script joins them in reading order.
Run it after editing any part:

    uv run python packaging/assemble_docs.py
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README_PARTS = (
    "intro", "bundle", "app", "io", "annotate", "segment_anything", "labels", "volumes",
    "models", "infer", "instances", "cluster", "training", "app_training", "pixel_classifier",
    "formats", "app_formats",
)  # fmt: skip
BENCH_PARTS = (
    "intro", "io", "infer", "instances", "cluster", "app", "launch", "labels", "annotate",
    "segment_anything", "training", "formats", "volumes",
)  # fmt: skip


def demote(text: str) -> str:
    """A part that starts with a level-1 heading is nested one level down."""
    if not text.startswith("# "):
        return text
    lines = [("#" + line) if line.startswith("#") else line for line in text.splitlines()]
    return "\n".join(lines) + "\n"


def join(folder: Path, parts: tuple[str, ...]) -> str:
    texts = [(folder / f"{name}.md").read_text(encoding="utf-8").strip() + "\n" for name in parts]
    return "\n".join([texts[0], *(demote(t) for t in texts[1:])])


def main() -> None:
    (ROOT / "README.md").write_text(join(ROOT / "docs/readme", README_PARTS), encoding="utf-8")
    bench = join(ROOT / "docs/bench", BENCH_PARTS)
    (ROOT / "docs/benchmarks.md").write_text(bench, encoding="utf-8")


if __name__ == "__main__":
    main()
