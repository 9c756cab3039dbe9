import numpy as np
import pytest

from jetad.data.split import split_indices
from jetad.errors import DataError


def test_split_fractions_and_tops_only_in_test():
    label = np.array([0] * 800 + [1] * 300)
    parts = split_indices(label, 0.25, 0.1, seed=5)
    assert len(parts["test"]) == 200 + 300
    assert len(parts["val"]) == 60 and len(parts["train"]) == 540
    assert (label[parts["train"]] == 0).all() and (label[parts["val"]] == 0).all()
    assert (label[parts["test"]] == 1).sum() == 300
    every = np.concatenate(list(parts.values()))
    assert len(np.unique(every)) == len(label)


def test_split_is_seeded():
    label = np.array([0] * 100 + [1] * 10)
    a = split_indices(label, 0.25, 0.1, seed=5)
    b = split_indices(label, 0.25, 0.1, seed=5)
    c = split_indices(label, 0.25, 0.1, seed=6)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["train"], c["train"])


def test_split_refuses_an_empty_part():
    with pytest.raises(DataError, match="val part empty"):
        split_indices(np.array([0, 0, 1]), 0.25, 0.1, seed=1)


def test_split_images_labels_by_the_chosen_background(fake_jets):
    from jetad.data.split import split_images

    data = fake_jets(10, 30, seed=2)  # 10 qcd, 30 top
    parts = split_images(data, "top", 0.25, 0.1, seed=3)
    for name in ("train", "val"):
        assert set(parts[name].process_names()) == {"top"} and not parts[name].label.any()
        assert parts[name].attrs == {"part": name, "background": "top"}
    test = parts["test"]
    assert (test.label == (test.process_names() == "qcd")).all() and test.label.sum() == 10
    with pytest.raises(DataError, match="f.h5: no w jets, the background of split.background "
                                        r"\(holds 10 qcd, 30 top\)"):
        split_images(data, "w", 0.25, 0.1, seed=3, origin="f.h5")


def test_split_images_learns_a_list_of_backgrounds_together(fake_jets):
    """JetNet's gluon and quark classes as one background, top the anomaly."""
    from jetad.data.processes import PROCESSES
    from jetad.data.split import split_images

    data = fake_jets(40, 12, seed=4)
    data.process[:20] = PROCESSES.index("gluon")
    data.process[20:40] = PROCESSES.index("quark")
    parts = split_images(data, ["gluon", "quark"], 0.25, 0.1, seed=3)
    for name in ("train", "val"):
        assert set(parts[name].process_names()) <= {"gluon", "quark"}
        assert not parts[name].label.any()
    assert set(parts["train"].process_names()) == {"gluon", "quark"}
    test = parts["test"]
    assert test.attrs["background"] == "gluon+quark"
    assert (test.label == (test.process_names() == "top")).all() and test.label.sum() == 12
    assert sum(len(p) for p in parts.values()) == 52
    with pytest.raises(DataError, match="no w jets, the background of split.background"):
        split_images(data, ["gluon", "w"], 0.25, 0.1, seed=3)


@pytest.mark.parametrize("background", ["qcd", "top"])
def test_a_file_split_in_chunks_gives_the_bytes_of_one_read(tmp_path, fake_jets, background):
    """split_file, 3 chunks with a ragged last one, against the split before chunks: the
    whole file read, split_images, each part written at once."""
    from jetad.data.images import read_images, write_images
    from jetad.data.split import split_file, split_images
    from tests.data.test_images import write_at_once

    data = fake_jets(40, 25, 7)
    data.attrs = {"npix": 40, "sources": "jets.h5"}
    write_images(tmp_path / "images.h5", data)
    outs = {p: tmp_path / "out" / f"{p}.h5" for p in ("train", "val", "test")}
    parts = split_file(tmp_path / "images.h5", outs, background, 0.25, 0.1, seed=3, chunk=30)
    ref = split_images(read_images(tmp_path / "images.h5"), background, 0.25, 0.1, seed=3)
    for name, part in ref.items():
        write_at_once(tmp_path / f"{name}_ref.h5", part)
        assert outs[name].read_bytes() == (tmp_path / f"{name}_ref.h5").read_bytes()
        np.testing.assert_array_equal(parts[name], part.process)


def test_a_bad_row_in_a_later_chunk_names_it_and_leaves_no_part(tmp_path, fake_jets):
    from jetad.data.images import write_images
    from jetad.data.split import split_file

    data = fake_jets(40, 25, 7)
    data.images[47, 3, 3] = np.nan  # the second of three chunks
    write_images(tmp_path / "images.h5", data)
    outs = {p: tmp_path / "out" / f"{p}.h5" for p in ("train", "val", "test")}
    with pytest.raises(DataError, match="images.h5: NaN or inf in images rows 47$"):
        split_file(tmp_path / "images.h5", outs, "qcd", 0.25, 0.1, seed=3, chunk=30)
    assert list((tmp_path / "out").iterdir()) == []
