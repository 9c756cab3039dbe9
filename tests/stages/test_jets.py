"""`jetad jets`: one file per process from an own file or from generated chunks (which files a
source has: tests/data/test_jets.py)."""

import subprocess
import sys

import h5py
import numpy as np
import yaml

from jetad.data.jetnet import GROUP
from jetad.data.layout import read_jets, write_jets


def test_own_file_is_split_by_class(tmp_path, root, make_jets):
    own = tmp_path / "mine.h5"
    jets = make_jets(9, seed=2)  # labels alternate 0, 1, 0, ...
    write_jets(own, jets)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["data"] = {"source": "file", "file": str(own)}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    qcd, top = tmp_path / "jets" / "qcd.h5", tmp_path / "jets" / "top.h5"
    run = subprocess.run([sys.executable, "-m", "jetad.cli", "jets", "--params",
                          str(tmp_path / "params.yaml"), "--source", "file", "--in", str(own),
                          "--out-dir", str(tmp_path / "jets")], check=True, capture_output=True,
                         text=True)
    assert sorted(p.name for p in (tmp_path / "jets").iterdir()) == ["qcd.h5", "top.h5"]
    # the progress lines of a long run: their last ones give the totals
    assert "INFO 9/9 jets (100%)" in run.stderr
    q, t = read_jets(qcd), read_jets(top)
    assert len(q) == 5 and len(t) == 4
    assert (q.label == 0).all() and (t.label == 1).all()
    np.testing.assert_array_equal(t.p4, jets.p4[1::2])


def test_a_file_without_tops_is_refused(tmp_path, root, make_jets):
    own = tmp_path / "qcd_only.h5"
    jets = make_jets(4)
    jets.label[:] = 0
    write_jets(own, jets)
    result = subprocess.run([sys.executable, "-m", "jetad.cli", "jets", "--source", "file",
                             "--params", str(root / "params.yaml"), "--in", str(own),
                             "--out-dir", str(tmp_path / "out")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "no top jets in" in result.stderr and "qcd_only.h5" in result.stderr
    assert not (tmp_path / "out").exists()


def test_generated_chunks_make_one_file_per_process_and_keep_their_label(tmp_path, root, make_jets):
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["generate"].update(chunks=[0], signals=["z"])
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    qcd, z = make_jets(4, seed=1), make_jets(3, seed=2)
    qcd.label[:] = 0
    z.label[:] = 1
    write_jets(tmp_path / "chunks" / "qcd_0.h5", qcd)
    write_jets(tmp_path / "chunks" / "z_0.h5", z)
    argv = [sys.executable, "-m", "jetad.cli", "jets", "--params", str(tmp_path / "params.yaml"),
            "--source", "generate", "--in", str(tmp_path / "chunks"), "--out-dir"]
    subprocess.run([*argv, str(tmp_path / "jets")], check=True, capture_output=True)
    assert sorted(p.name for p in (tmp_path / "jets").iterdir()) == ["qcd.h5", "z.h5"]
    np.testing.assert_array_equal(read_jets(tmp_path / "jets" / "z.h5").p4, z.p4)
    # a signal chunk with is_signal_new 0 is not a z chunk
    z.label[1] = 0
    write_jets(tmp_path / "chunks" / "z_0.h5", z)
    result = subprocess.run([*argv, str(tmp_path / "out")], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"jetad jets: error: {tmp_path / 'chunks' / 'z_0.h5'}: "
                                     "is_signal_new must be 1 in a z chunk")
    assert not (tmp_path / "out").exists()


def test_jets_stage_reads_jetnet_files_and_keeps_their_arrays(tmp_path, make_jetnet, root):
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["data"].update(source="jetnet", jetnet_classes=["q", "t"])
    params["split"]["background"] = "quark"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    files = {c: make_jetnet(4 + i, seed=i) for i, c in enumerate(("q", "t"))}
    for c, data in files.items():
        with h5py.File(tmp_path / f"{c}.hdf5", "w") as f:  # as the Zenodo record's files
            f["particle_features"], f["jet_features"] = data.particles, data.jet
    for out in ("jets", "again"):
        proc = subprocess.run([sys.executable, "-m", "jetad.cli", "jets", "--params",
                               str(tmp_path / "params.yaml"), "--source", "jetnet", "--in",
                               str(tmp_path), "--out-dir", str(tmp_path / out)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "jets").iterdir()) == ["quark.h5", "top.h5"]
    for name in ("quark.h5", "top.h5"):  # the same bytes, JetNet arrays and all
        assert (tmp_path / "jets" / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
    for c, process in (("q", "quark"), ("t", "top")):
        path = tmp_path / "jets" / f"{process}.h5"
        jets = read_jets(path)
        assert len(jets) == len(files[c]) and (jets.label == (process == "top")).all()
        with h5py.File(path) as f:
            np.testing.assert_array_equal(f[GROUP]["particle_features"][...],
                                          files[c].particles)
            np.testing.assert_array_equal(f[GROUP]["jet_features"][...], files[c].jet)
