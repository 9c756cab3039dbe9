"""Failure cases: a killed job leaves no output that looks done, parallel jobs never share a
file, a bad params.yaml stops Snakemake before any job, the same seed gives the same bytes."""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from jetad.data.images import read_images
from jetad.data.layout import MAX_CONSTITUENTS, Jets, read_jets, write_jets
from jetad.data.pixelize import pixelize

JETAD = [sys.executable, "-m", "jetad.cli"]


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def params_file(tmp_path, root, **changes) -> Path:
    params = yaml.safe_load((root / "params.yaml").read_text())
    for key, value in changes.items():
        section, name = key.split(".")
        params[section][name] = value
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


@pytest.mark.slow  # Pythia runs in subprocesses
def test_generation_killed_before_its_write_leaves_nothing_and_reruns_to_the_same_bytes(
        tmp_path, root):
    """A kill during event generation (before any output is opened): nothing appears."""
    params = params_file(tmp_path, root)
    out = tmp_path / "chunks" / "qcd_0.h5"
    cmd = [*JETAD, "generate", "--params", str(params), "--process", "qcd", "--chunk", "0",
           "--out", str(out)]
    proc = subprocess.Popen([*cmd, "--n-jets", "5000"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(8)
    assert proc.poll() is None, "generation finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    subprocess.run([*cmd, "--n-jets", "30"], check=True, capture_output=True)
    first = md5(out)
    subprocess.run([*cmd, "--n-jets", "30"], check=True, capture_output=True)
    assert md5(out) == first
    assert len(read_jets(out)) == 30


def synthetic_jets(jets_from_ptetaphi, n: int, seed: int = 0) -> Jets:
    """n jets of 40 massless constituents spread around the jet axis."""
    rng = np.random.default_rng(seed)
    m = 40
    pt = np.zeros((n, MAX_CONSTITUENTS))
    pt[:, :m] = np.sort(rng.exponential(10.0, (n, m)), axis=1)[:, ::-1] + 0.1
    eta, phi = np.zeros_like(pt), np.zeros_like(pt)
    eta[:, :m] = rng.normal(0, 0.3, (n, m))
    phi[:, :m] = rng.normal(0, 0.3, (n, m))
    p4 = jets_from_ptetaphi(pt, eta, phi)
    return Jets(p4, p4.sum(axis=1), np.zeros(n, np.int8), (np.arange(n) % 2).astype(np.int8))


@pytest.mark.slow  # 30,000 jets through subprocesses
def test_pixelize_killed_inside_its_write_leaves_no_output_and_reruns_right(
        tmp_path, root, env_path, jets_from_ptetaphi):
    """SIGKILL while the output is being written: the kill is sent only once the temporary
    file of jetad.atomic exists, and that file is still there afterwards (SIGKILL runs no
    cleanup), which proves the process died between opening and renaming its output."""
    params = yaml.safe_load((root / "params.yaml").read_text())
    src = tmp_path / "jets.h5"
    jets = synthetic_jets(jets_from_ptetaphi, 30000)
    write_jets(src, jets)
    out_dir = tmp_path / "images"
    out = out_dir / "images.h5"
    cmd = [*JETAD, "pixelize", "--params", str(root / "params.yaml"), "--in", str(src),
           "--out", str(out)]
    # the numpy work before the write takes seconds, the write itself ~1.5 s: a 1 ms poll
    # sees the temporary file long before the rename
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def temporaries():
        return [p for p in out_dir.iterdir() if p.name.startswith(".images.h5.")] \
            if out_dir.is_dir() else []

    deadline = time.time() + 600
    while proc.poll() is None and not temporaries() and time.time() < deadline:
        time.sleep(0.001)
    assert proc.poll() is None, "pixelize ended before its write could be caught"
    seen = temporaries()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert len(seen) == 1
    # the kill landed inside the write: the output was never renamed into place and the
    # half-written temporary is still there
    assert not out.exists()
    assert temporaries() == seen
    assert not [p for p in out_dir.iterdir() if not p.name.startswith(".")]
    # DVC does not count the leftover as part of a tracked folder (the project's .dvcignore)
    shutil.copy(root / ".dvcignore", tmp_path / ".dvcignore")
    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=tmp_path, check=True)
    ignored = subprocess.run(["dvc", "check-ignore", str(seen[0].relative_to(tmp_path))],
                             cwd=tmp_path, capture_output=True, text=True)
    assert ignored.returncode == 0, ignored.stdout + ignored.stderr
    kept = subprocess.run(["dvc", "check-ignore", "jets.h5"], cwd=tmp_path)
    assert kept.returncode == 1
    # a rerun beside the leftover writes the whole, right output
    subprocess.run(cmd, check=True, capture_output=True)
    data = read_images(out)
    assert len(data) == len(jets)
    c = params["pixelize"]
    assert np.array_equal(data.images, pixelize(jets.p4, c["npix"], c["deta"], c["dphi"]))
    assert np.array_equal(data.label, jets.label)


def test_parallel_jobs_never_write_the_same_file(tmp_path, root):
    params = params_file(tmp_path, root)
    out = tmp_path / "same.h5"
    procs = [subprocess.Popen([*JETAD, "generate", "--params", str(params), "--process",
                               "top", "--chunk", str(chunk), "--out", str(out), "--n-jets", "15"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for chunk in (1, 2)]
    for p in procs:
        assert p.wait() == 0, p.stderr.read()
    # both wrote through their own temporary file: the result is one whole chunk, not a mix
    jets = read_jets(out)
    assert len(jets) == 15
    alone = tmp_path / "alone"
    for chunk in (1, 2):
        subprocess.run([*JETAD, "generate", "--params", str(params), "--process", "top",
                        "--chunk", str(chunk), "--out", str(alone / f"{chunk}.h5"),
                        "--n-jets", "15"], check=True, capture_output=True)
    assert md5(out) in {md5(alone / "1.h5"), md5(alone / "2.h5")}
    assert md5(alone / "1.h5") != md5(alone / "2.h5")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.integration
def test_snakemake_refuses_bad_params_before_any_job(tmp_path, env_path, copy_project):
    copy_project(tmp_path)
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["train"]["epochs_typo"] = 3
    params["pixelize"]["npix"] = -4
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    run = subprocess.run(["snakemake", "--cores", "1", "data/split/train.h5"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    # one line naming both keys (other lines on stderr are Snakemake's plugins' warnings)
    error, = (line for line in run.stderr.splitlines() if "error" in line)
    assert error.startswith("jetad workflow: error: params.yaml: ")
    assert "train: Additional properties are not allowed ('epochs_typo'" in error
    assert "pixelize.npix: -4 is less than the minimum of 2" in error
    assert not (tmp_path / "data" / "chunks").exists()


@pytest.mark.integration
def test_snakemake_refuses_an_unknown_signal_in_one_line(tmp_path, env_path, copy_project):
    copy_project(tmp_path)
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["generate"]["signals"] = ["top", "hvy"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    run = subprocess.run(["snakemake", "--cores", "1", "data/split/train.h5"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and "ConfigError" not in run.stderr
    mine = [line for line in run.stderr.splitlines() if "jetad" in line or "params" in line]
    assert mine == ["jetad workflow: error: params.yaml: generate.signals: 'hvy' is not one of "
                    "['top', 'w', 'z']"]
    assert not (tmp_path / "data").exists()


@pytest.mark.slow  # generation and two pixelize subprocesses
def test_pixelize_twice_gives_the_same_bytes(tmp_path, root):
    params = params_file(tmp_path, root)
    chunk = tmp_path / "top.h5"
    subprocess.run([*JETAD, "generate", "--params", str(params), "--process", "top", "--chunk",
                    "3", "--out", str(chunk), "--n-jets", "20"], check=True, capture_output=True)
    outs = []
    for name, hashseed in (("a.h5", "1"), ("b.h5", "2")):
        out = tmp_path / name
        subprocess.run([*JETAD, "pixelize", "--params", str(params), "--in", str(chunk),
                        "--out", str(out)], check=True, capture_output=True, env=dict(
                            os.environ, PYTHONHASHSEED=hashseed))
        outs.append(md5(out))
    assert outs[0] == outs[1]
