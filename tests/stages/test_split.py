"""`jetad split` on an image file of QCD, top and W jets: the parts it writes, and a file with
no anomaly refused in one line with nothing written (the split itself:
tests/data/test_split.py; the processes end to end: tests/test_processes_chain.py)."""

import numpy as np
import pytest
import yaml

from jetad.data.images import read_images, write_images
from jetad.data.processes import PROCESSES

PARTS = ("train", "val", "test")


@pytest.fixture
def images(tmp_path, root, fake_jets):
    data = fake_jets(40, 20, seed=4)
    data.process[40:50] = PROCESSES.index("w")  # 40 qcd, 10 top, 10 w
    write_images(tmp_path / "images.h5", data)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["generate"]["signals"] = ["top", "w"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return data


def _split(tmp_path, jetad, check=True):
    return jetad(tmp_path, "split", "--in", "images.h5",
                 *(x for part in PARTS for x in (f"--{part}", f"out/{part}.h5")), check=check)


def test_parts_hold_every_jet_once_with_the_anomalies_in_test(tmp_path, jetad, images):
    result = _split(tmp_path, jetad)
    parts = {p: read_images(tmp_path / "out" / f"{p}.h5") for p in PARTS}
    assert sum(len(d) for d in parts.values()) == len(images)
    for name in ("train", "val"):
        assert set(parts[name].process_names()) == {"qcd"} and not parts[name].label.any()
    test = parts["test"]
    assert (test.label == (test.process_names() != "qcd")).all()
    assert (test.process_names() == "w").sum() == 10 == (test.process_names() == "top").sum()
    assert {d.attrs["part"] for d in parts.values()} == set(PARTS)
    assert "(10 qcd, 10 top, 10 w; background qcd)" in result.stderr
    assert f"INFO {len(images)}/{len(images)} jets written (100%)" in result.stderr
    # every image is one of the input's, kept whole
    every = np.concatenate([d.images for d in parts.values()])
    assert np.isclose(np.sort(every.sum(axis=(1, 2))), 1).all()
    assert np.allclose(np.sort(every.ravel()), np.sort(images.images.ravel()))


def test_the_same_seed_writes_the_same_bytes(tmp_path, jetad, images):
    _split(tmp_path, jetad)
    first = {p: (tmp_path / "out" / f"{p}.h5").read_bytes() for p in PARTS}
    _split(tmp_path, jetad)
    assert first == {p: (tmp_path / "out" / f"{p}.h5").read_bytes() for p in PARTS}


def test_a_file_of_background_only_is_one_line_and_writes_nothing(tmp_path, jetad, fake_jets,
                                                                   images):
    write_images(tmp_path / "images.h5", fake_jets(30, 0, seed=1))
    result = _split(tmp_path, jetad, check=False)
    assert result.returncode == 2
    assert result.stderr == ("jetad split: error: images.h5: only qcd jets, no anomaly for the "
                             "test part\n")
    assert not (tmp_path / "out").exists()
