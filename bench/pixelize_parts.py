"""pixelize in parts (pixelize.parts): `jetad pixelize` of N jets in one job against the same
jets in K part jobs (`--part k --parts K`) and their gather (`--gather`), on files in the
published top-tagging layout (bench/scale.py builds them). Prints each job's wall time and peak
memory, their ratios to the one job's measured in the same run, and whether the gathered file
is the one job's bytes.

On a cluster the parts run side by side: the wall time of the pixelization is then about the
largest part's plus the gather's, against the one job's.

Run: `python bench/pixelize_parts.py [--jets 30000] [--parts 3] [--work DIR] [--src OTHER/src]`
"""

from __future__ import annotations

import argparse
import multiprocessing
from pathlib import Path

import yaml
from scale import build, run_stage

ROOT = Path(__file__).resolve().parents[1]
JETS = ["data/jets/qcd.h5", "data/jets/top.h5"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jets", type=int, default=30_000)
    parser.add_argument("--parts", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("bench-pixelize-parts"))
    parser.add_argument("--src", type=Path, default=ROOT / "src",
                        help="the jetad package's folder to run, with params.yaml beside it")
    args = parser.parse_args()
    work, src = args.work / f"n{args.jets}", args.src.resolve()
    work.mkdir(parents=True, exist_ok=True)
    (work / "params.yaml").write_text((args.src.parent / "params.yaml").read_text())
    # in a process of its own: a child's peak memory counts its parent's at the fork (Linux
    # keeps the high-water mark across exec), and building the file is the parent's largest
    builder = multiprocessing.get_context("spawn").Process(target=build,
                                                           args=(work / "jets.h5", args.jets))
    builder.start()
    builder.join()
    run_stage(work, ["jets", "--source", "file", "--in", "jets.h5", "--out-dir", "data/jets"], src)
    pixelize = ["pixelize", "--in", *JETS, "--threads", "2"]
    one = run_stage(work, [*pixelize, "--out", "one.h5"], src)
    rows = [("one job", one)]
    parts = [f"part{k}.h5" for k in range(args.parts)]
    for k, part in enumerate(parts):
        rows.append((f"part {k}", run_stage(
            work, [*pixelize, "--part", str(k), "--parts", str(args.parts), "--out", part], src)))
    rows.append(("gather", run_stage(work, ["pixelize", "--gather", *parts, "--out",
                                            "gathered.h5"], src)))
    npix = yaml.safe_load((work / "params.yaml").read_text())["pixelize"]["npix"]
    print(f"{args.jets:,} jets, {args.parts} parts, {npix}x{npix} images")
    print("| job | wall s | CPU s | x one job (CPU) | peak MB | x one job |")
    print("|---|---|---|---|---|---|")
    for name, (seconds, cpu, mb) in rows:
        print(f"| {name} | {seconds:.1f} | {cpu:.1f} | {cpu / one[1]:.2f} | {mb:,.0f} | "
              f"{mb / one[2]:.2f} |")
    parts_cpu = [cpu for name, (_, cpu, _) in rows if name.startswith("part ")]
    gather_cpu = rows[-1][1][1]
    print(f"CPU: largest part + gather {(max(parts_cpu) + gather_cpu) / one[1]:.2f} x the one "
          f"job's (side by side on nodes); all parts + gather {(sum(parts_cpu) + gather_cpu) / one[1]:.2f} x")
    same = (work / "gathered.h5").read_bytes() == (work / "one.h5").read_bytes()
    print(f"gathered file {'is' if same else 'is NOT'} the one job's bytes")


if __name__ == "__main__":
    main()
