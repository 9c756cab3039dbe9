"""The jetnet preset's data stages (generate -> jets -> pixelize -> split) through Snakemake,
on a copy of the project with a few jets per class: JetNet-layout chunks of gluon, quark, top,
W and Z, one jet file per process keeping its JetNet arrays, and a split that learns gluon and
quark together."""

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from jetad.data.images import read_images
from jetad.data.jetnet import GROUP, read_jetnet

pytestmark = pytest.mark.integration
N_JETS = {"gluon": 12, "quark": 12, "top": 4, "w": 4, "z": 4}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, copy_project):
    d = copy_project(tmp_path_factory.mktemp("jetnet"))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               PYTHONPATH=str(d / "src"))
    for cmd in (["jetad", "preset", "jetnet"], None,
                ["snakemake", "--cores", "2", "data/split/test.h5"]):
        if cmd is None:  # the preset's kinematics with a few jets of one chunk per class
            params = yaml.safe_load((d / "params.yaml").read_text())
            params["generate"]["chunks"] = [0]
            params["generate"]["jets_per_chunk"].update(N_JETS)
            (d / "params.yaml").write_text(yaml.safe_dump(params))
            continue
        proc = subprocess.run(cmd, cwd=d, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
    return d


def test_chunks_are_jetnet_files_at_its_kinematics(workdir):
    for process, n in N_JETS.items():
        data = read_jetnet(workdir / "data" / "chunks" / f"{process}_0.h5")
        assert len(data) == n
        assert ((data.jet[:, 0] > 800) & (data.jet[:, 0] < 1600)).all()


def test_each_process_keeps_its_jetnet_arrays(workdir):
    names = sorted(p.name for p in (workdir / "data" / "jets").iterdir())
    assert names == sorted(f"{p}.h5" for p in N_JETS)
    with h5py.File(workdir / "data" / "jets" / "gluon.h5") as f:
        assert f[GROUP]["particle_features"].shape == (N_JETS["gluon"], 30, 4)


def test_split_learns_gluon_and_quark_and_tests_every_class(workdir):
    parts = {n: read_images(workdir / "data" / "split" / f"{n}.h5") for n in ("train", "val",
                                                                            "test")}
    for name in ("train", "val"):  # val holds two jets: one class may miss there
        assert set(parts[name].process_names()) <= {"gluon", "quark"}
        assert not parts[name].label.any()
    assert set(parts["train"].process_names()) == {"gluon", "quark"}
    test = parts["test"]
    names = test.process_names()
    assert test.attrs["background"] == "gluon+quark"
    for process in ("top", "w", "z"):
        assert (names == process).sum() == N_JETS[process]
    assert np.array_equal(test.label == 0, np.isin(names, ["gluon", "quark"]))
