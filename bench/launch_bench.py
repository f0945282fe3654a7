"""Launch as typed: ``uv run tessera`` against the installed ``.venv/bin/tessera``.

Run by hand from the repository root (offscreen; needs no display)::

    uv run python bench/launch_bench.py --runs 7
    uv run python bench/launch_bench.py --runs 7 --image road.tif

Each command is started as a shell would start it, alternately (A B A B ...),
with ``bench/launch_probe`` on ``PYTHONPATH``: its ``sitecustomize`` ends the
process right after the canvas's first painted frame, so a run's wall time,
from spawn to exit, is launch -> first frame as the user sees it, ``uv``'s own
work included. ``--before`` adds ``uv run`` with ``UV_COMPILE_BYTECODE=1``,
the ``compile-bytecode = true`` this project used to set. ``info`` runs time a
headless command the same way. Medians are printed as a Markdown table, with
what each command wrote to standard error on a normal start (it should write
nothing). ``PYTHONDONTWRITEBYTECODE`` is unset, as on a user's machine, so the
project's own modules are compiled once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT / "bench" / "launch_probe"
SAMPLE = ROOT / "resources" / "sample" / "nuclei.tif"
QT_NOISE = "This plugin does not support propagateSizeHints()"  # offscreen plugin only


def run_once(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall seconds from spawn to exit, and its standard error (offscreen noise dropped)."""
    if cmd[0] == "env":  # env NAME=VALUE ... COMMAND: set them without a second process
        extra = dict(item.split("=", 1) for item in cmd[1:] if "=" in item)
        env = {**env, **extra}
        cmd = cmd[1 + len(extra) :]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()}")
    lines = [ln for ln in done.stderr.splitlines() if ln.strip() != QT_NOISE]
    return wall, "\n".join(lines)


def compare(label: str, commands: dict[str, list[str]], env: dict[str, str], runs: int) -> None:
    times: dict[str, list[float]] = {name: [] for name in commands}
    printed: dict[str, str] = {}
    for cmd in commands.values():  # one warm-up each: file caches, the project's .pyc
        run_once(cmd, env)
    for _ in range(runs):
        for name, cmd in commands.items():
            wall, text = run_once(cmd, env)
            times[name].append(wall)
            printed[name] = text
    for name, values in times.items():
        said = printed[name].replace("\n", " / ")[:80] or "nothing"
        print(
            f"| {label} | `{name}` | {statistics.median(values):.2f} s | "
            f"{min(values):.2f}-{max(values):.2f} s | {said} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--image", type=Path, help="image to open (default: the bundled sample)")
    parser.add_argument(
        "--before",
        action="store_true",
        help="also time uv run with compile-bytecode on (the setting this project dropped)",
    )
    args = parser.parse_args()
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["PYTHONPATH"] = str(PROBE)
    env["TESSERA_SETTINGS"] = "/tmp/tessera_launch_bench.ini"
    image = [str(args.image)] if args.image else []
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs, {args.runs} runs each")
    print("| what | command | median | min-max | on standard error |")
    print("|---|---|---|---|---|")
    app = {"uv run tessera": ["uv", "run", "tessera", *image]}
    if args.before:
        before = ["env", "UV_COMPILE_BYTECODE=1", "uv", "run", "tessera", *image]
        app["UV_COMPILE_BYTECODE=1 uv run tessera"] = before
    app[".venv/bin/tessera"] = [str(ROOT / ".venv/bin/tessera"), *image]
    compare("launch -> first frame", app, env, args.runs)
    target = str(args.image or SAMPLE)
    info = {"uv run tessera info": ["uv", "run", "tessera", "info", target]}
    info[".venv/bin/tessera info"] = [str(ROOT / ".venv/bin/tessera"), "info", target]
    compare("`info` (no Qt)", info, env, args.runs)


if __name__ == "__main__":
    main()
