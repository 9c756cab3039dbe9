"""Integration (data + stages): each process carried through jets -> pixelize -> split with
real Pythia chunks (a few jets of QCD, top and W), and the background choice of the inverse
task."""

import subprocess
import sys

import numpy as np
import pytest
import yaml

from jetad.data.images import read_images
from jetad.data.layout import read_jets
from jetad.data.processes import PROCESSES

JETAD = [sys.executable, "-m", "jetad.cli"]
N_JETS = {"qcd": 16, "top": 12, "w": 6}


def _run(*argv, check=True):
    proc = subprocess.run([*JETAD, *argv], capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def _params(path, root, **split):
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["generate"].update(chunks=[0], signals=["top", "w"])
    params["split"].update(split)
    path.write_text(yaml.safe_dump(params))
    return str(path)


@pytest.fixture(scope="module")
def images(tmp_path_factory, root):
    """data/jets/{qcd,top,w}.h5 and the image file, from real Pythia chunks."""
    d = tmp_path_factory.mktemp("processes")
    params = _params(d / "params.yaml", root)
    for process, n in N_JETS.items():
        _run("generate", "--params", params, "--process", process, "--chunk", "0",
             "--out", str(d / "chunks" / f"{process}_0.h5"), "--n-jets", str(n))
    _run("jets", "--params", params, "--source", "generate", "--in", str(d / "chunks"),
         "--out-dir", str(d / "jets"))
    jets = sorted(str(p) for p in (d / "jets").iterdir())
    _run("pixelize", "--params", params, "--in", *jets, "--out", str(d / "images.h5"))
    return d


def test_one_jet_file_per_generated_process(images):
    files = sorted(p.name for p in (images / "jets").iterdir())
    assert files == ["qcd.h5", "top.h5", "w.h5"]
    for process, n in N_JETS.items():
        jets = read_jets(images / "jets" / f"{process}.h5")
        assert len(jets) == n
        assert (jets.label == (process != "qcd")).all()  # is_signal_new 1 for every signal


def test_pixelize_writes_the_process_of_each_jet(images):
    data = read_images(images / "images.h5")
    names, counts = np.unique(data.process_names(), return_counts=True)
    assert dict(zip(names, counts, strict=True)) == N_JETS
    assert (data.label == (data.process != PROCESSES.index("qcd"))).all()
    import h5py

    with h5py.File(images / "images.h5") as f:
        assert f["process"].dtype == np.int8
        assert f.attrs["processes"] == "qcd,top,w,z,gluon,quark"


def _split(d, root, name, **split):
    params = _params(d / f"params_{name}.yaml", root, **split)
    outs = {part: d / name / f"{part}.h5" for part in ("train", "val", "test")}
    proc = _run("split", "--params", params, "--in", str(d / "images.h5"),
                *(x for part, path in outs.items() for x in (f"--{part}", str(path))),
                check=False)
    return proc, outs


def test_split_trains_on_qcd_and_tests_every_signal(images, root):
    proc, outs = _split(images, root, "qcd")
    assert proc.returncode == 0, proc.stderr
    parts = {k: read_images(v) for k, v in outs.items()}
    for part in ("train", "val"):
        assert set(parts[part].process_names()) == {"qcd"}
        assert not parts[part].label.any()
    test = parts["test"]
    assert set(test.process_names()) == {"qcd", "top", "w"}
    for signal in ("top", "w"):
        assert (test.process_names() == signal).sum() == N_JETS[signal]
    assert (test.label == (test.process_names() != "qcd")).all()
    assert sum(len(p) for p in parts.values()) == sum(N_JETS.values())


def test_background_top_makes_qcd_the_anomaly(images, root):
    """The inverse task: train on tops, QCD labelled 1 in test, no QCD in train or val."""
    proc, outs = _split(images, root, "top", background="top")
    assert proc.returncode == 0, proc.stderr
    parts = {k: read_images(v) for k, v in outs.items()}
    for part in ("train", "val"):
        assert set(parts[part].process_names()) == {"top"}
        assert not parts[part].label.any()
    test = parts["test"]
    names = test.process_names()
    assert (names == "qcd").sum() == N_JETS["qcd"] and (names == "w").sum() == N_JETS["w"]
    assert test.label[names == "qcd"].all() and test.label[names == "w"].all()
    assert not test.label[names == "top"].any()
    # 25% of the tops in test, the rest in train and val
    assert (names == "top").sum() == round(0.25 * N_JETS["top"])
    assert read_images(outs["test"]).attrs["background"] == "top"


def test_unknown_background_is_refused(images, root):
    proc, outs = _split(images, root, "higgs", background="higgs")
    assert proc.returncode == 2
    # the parameter check's form: one line, the file then the wrong key
    assert proc.stderr.startswith("jetad split: error: ") and "Traceback" not in proc.stderr
    assert ("split.background: 'higgs' is not one of ['qcd', 'top', 'w', 'z', 'gluon', "
            "'quark']") in proc.stderr
    assert not (images / "higgs").exists()


def test_background_that_is_not_generated_is_refused(images, root):
    proc, outs = _split(images, root, "z", background="z")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert ("split.background 'z' is not generated: one of generate.backgrounds or "
            "generate.signals (qcd, top, w)") in proc.stderr
    assert not (images / "z").exists()


def test_background_missing_from_the_images_is_refused(images, root):
    """params say z is generated, the image file holds none (made with other params)."""
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["generate"].update(chunks=[0], signals=["top", "w", "z"])
    params["split"]["background"] = "z"
    (images / "params_z.yaml").write_text(yaml.safe_dump(params))
    proc = _run("split", "--params", str(images / "params_z.yaml"), "--in",
                str(images / "images.h5"), "--train", str(images / "z" / "train.h5"), "--val",
                str(images / "z" / "val.h5"), "--test", str(images / "z" / "test.h5"),
                check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"jetad split: error: {images / 'images.h5'}: no z jets, the "
                                   "background of split.background (holds 16 qcd, 12 top, 6 w)")
    assert not (images / "z").exists()


@pytest.mark.parametrize("source,background,ok", [
    ("generate", "top", True), ("generate", "z", False), ("download", "top", True),
    ("download", "w", False), ("file", "qcd", True)])
def test_background_must_be_a_process_of_the_source(root, source, background, ok):
    from jetad.errors import ConfigError
    from jetad.params import validate

    params = yaml.safe_load((root / "params.yaml").read_text())
    params["data"] = {"source": source, "file": "own.h5" if source == "file" else None}
    params["generate"]["signals"] = ["top", "w"]
    params["split"]["background"] = background
    if ok:
        validate(params)
    else:
        with pytest.raises(ConfigError, match=f"split.background '{background}' is not "):
            validate(params)


def test_pixelize_inputs_name_their_process(tmp_path):
    from jetad.data.pixelize import input_processes
    from jetad.errors import DataError

    odd = tmp_path / "a=b.h5"  # an existing file whose name holds '=' is a path
    odd.write_bytes(b"x")
    assert input_processes(["w=my/jets.h5", "data/jets/z.h5", "mine.h5", str(odd)]) == [
        ("my/jets.h5", "w"), ("data/jets/z.h5", "z"), ("mine.h5", None), (str(odd), None)]
    with pytest.raises(DataError, match="my/jets.h5: unknown process 'higgs'"):
        input_processes(["higgs=my/jets.h5"])
