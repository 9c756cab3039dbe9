"""Bad input met by the stages that read and write a chunk at a time (jets, pixelize, split):
a bad row in a middle chunk, found after the first chunks went to the outputs; a truncated
file; an output that does not fit on its disk (a small tmpfs, mounted when this process may).
Each is one line naming the file, exit status 2, and no output or temporary file left (the
doors of every command and kind of file: tests/test_inputs.py)."""

from __future__ import annotations

import contextlib
import subprocess
import sys

import numpy as np
import pytest
import yaml

from jetad.data.images import write_images
from jetad.data.layout import write_jets
from tests.data.test_gather import put_at_once

N, CHUNK, BAD_ROW = 25, 10, 14  # chunks of rows 0-9, 10-19, 20-24: the bad row in the middle
SPLIT = ("--train", "out/train.h5", "--val", "out/val.h5", "--test", "out/test.h5")


@pytest.fixture
def workdir(tmp_path, root):
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["data"]["chunk"] = CHUNK
    params["pixelize"]["batch"] = CHUNK
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


def run(d, *args):
    return subprocess.run([sys.executable, "-m", "jetad.cli", *args], cwd=d,
                          capture_output=True, text=True)


def assert_refused(proc, stage: str, named: str, what: str) -> None:
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"jetad {stage}: error: {named}: "), lines[0]
    assert what in lines[0], lines[0]


def nothing_in(folder) -> bool:
    return not folder.exists() or not any(folder.rglob("*"))


def test_jets_with_a_nan_in_the_middle_chunk(workdir, make_jets):
    jets = make_jets(N, seed=1)
    jets.p4[BAD_ROW, 0, 2] = np.nan
    put_at_once(workdir / "jets.h5", jets)  # write_jets refuses NaN
    proc = run(workdir, "jets", "--source", "file", "--in", "jets.h5", "--out-dir", "out")
    assert_refused(proc, "jets", "jets.h5", f"NaN or inf in rows {BAD_ROW}")
    assert nothing_in(workdir / "out")


def test_a_truncated_jet_file(workdir, make_jets):
    write_jets(workdir / "whole.h5", make_jets(N, seed=1))
    data = (workdir / "whole.h5").read_bytes()
    (workdir / "jets.h5").write_bytes(data[: len(data) // 2])
    proc = run(workdir, "jets", "--source", "file", "--in", "jets.h5", "--out-dir", "out")
    assert_refused(proc, "jets", "jets.h5", "truncated or damaged HDF5 file")
    assert nothing_in(workdir / "out")


def test_pixelize_with_a_nan_in_the_middle_batch(workdir, make_jets):
    jets = make_jets(N, seed=1)
    jets.p4[BAD_ROW, 3, 0] = np.inf
    put_at_once(workdir / "jets.h5", jets)
    proc = run(workdir, "pixelize", "--in", "jets.h5", "--out", "out/images.h5")
    assert_refused(proc, "pixelize", "jets.h5", f"NaN or inf in rows {BAD_ROW}")
    assert nothing_in(workdir / "out")


def test_split_with_a_nan_in_the_middle_chunk(workdir, fake_jets):
    data = fake_jets(15, 10, 1)
    data.tau21[BAD_ROW] = np.nan
    write_images(workdir / "images.h5", data)
    proc = run(workdir, "split", "--in", "images.h5", *SPLIT)
    assert_refused(proc, "split", "images.h5", f"NaN or inf in tau21 / tau32 rows {BAD_ROW}")
    assert nothing_in(workdir / "out")


@pytest.fixture
def small_disk(workdir):
    """A 64 kB tmpfs at workdir/out (skips where this process may not mount one)."""
    out = workdir / "out"
    out.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(out)],
                           capture_output=True, text=True)
    if mount.returncode:
        pytest.skip(f"cannot mount a tmpfs: {mount.stderr.strip()}")
    try:
        yield out
    finally:
        with contextlib.suppress(OSError):
            subprocess.run(["umount", str(out)], check=True)


# pixelize writes its images with split's writer (jetad.data.images.image_writer), and pays
# Numba's start-up: left out for time
@pytest.mark.parametrize("stage", ["jets", "split"])
def test_an_output_that_does_not_fit_its_disk(workdir, small_disk, make_jets, fake_jets, stage):
    # 400 jets: ~240 kB of jets, ~150 kB of images
    write_jets(workdir / "jets.h5", make_jets(400, seed=1))
    write_images(workdir / "images.h5", fake_jets(300, 100, 1))
    args, named = {
        "jets": (("--source", "file", "--in", "jets.h5", "--out-dir", "out/jets"), "out/jets/"),
        "split": (("--in", "images.h5", *SPLIT), "out/"),
    }[stage]
    proc = run(workdir, stage, *args)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith(f"jetad {stage}: error: {named}"), proc.stderr
    assert "No space left on device" in proc.stderr, proc.stderr
    assert nothing_in(small_disk)
