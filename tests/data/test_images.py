"""The image file's list of processes: files written before gluon and quark were appended
still read (their indices are the same first ones); another order is refused."""

import h5py
import numpy as np
import pytest

from jetad.data.images import read_images, write_images
from jetad.errors import DataError


@pytest.mark.parametrize("listed,ok", [("qcd,top,w,z", True), ("qcd,top,w,z,gluon,quark", True),
                                       ("qcd,w", False), ("", False)])
def test_an_older_list_of_processes_still_reads(tmp_path, fake_jets, listed, ok):
    path = tmp_path / "images.h5"
    write_images(path, fake_jets(4, 4, 1))
    with h5py.File(path, "a") as f:
        f.attrs["processes"] = listed
    if ok:
        data = read_images(path)
        assert list(np.unique(data.process_names())) == ["qcd", "top"]
    else:
        with pytest.raises(DataError, match=f"attribute 'processes' is '{listed}', expected "
                                            "'qcd,top,w,z,gluon,quark'"):
            read_images(path)


def write_at_once(path, data):
    """The writer before images were written in pieces: every dataset from memory at once."""
    from jetad.atomic import create_h5
    from jetad.data.images import DTYPES, FIELDS
    from jetad.data.processes import PROCESSES

    n = len(data)
    with create_h5(path) as f:
        f.create_dataset("images", data=data.images.astype(np.float32),
                         chunks=(min(max(n, 1), 1024),) + data.images.shape[1:],
                         compression="gzip", compression_opts=4, shuffle=True,
                         track_times=False)
        f.create_dataset("label", data=data.label.astype(np.int8), track_times=False)
        f.create_dataset("process", data=data.process.astype(np.int8), track_times=False)
        for name in FIELDS:
            f.create_dataset(name, data=getattr(data, name).astype(DTYPES.get(name, np.float32)),
                             track_times=False)
        for key, value in data.attrs.items():
            f.attrs[key] = value
        f.attrs["processes"] = ",".join(PROCESSES)


@pytest.mark.parametrize("n,piece", [(25, 10), (2100, 700)])  # within one chunk; across three
def test_pieces_give_the_bytes_of_one_write(tmp_path, fake_jets, n, piece):
    from jetad.data.images import image_writer

    data = fake_jets(n - n // 3, n // 3, 5)
    data.attrs = {"npix": 40, "sources": "a.h5"}
    write_at_once(tmp_path / "ref.h5", data)
    with image_writer(tmp_path / "pieces.h5", n, (40, 40), data.attrs) as add:
        for start in range(0, n, piece):
            add(data.take(np.arange(start, min(start + piece, n))))
    assert (tmp_path / "pieces.h5").read_bytes() == (tmp_path / "ref.h5").read_bytes()
    write_images(tmp_path / "whole.h5", data)
    assert (tmp_path / "whole.h5").read_bytes() == (tmp_path / "ref.h5").read_bytes()


def test_a_writer_given_fewer_jets_than_announced_leaves_nothing(tmp_path, fake_jets):
    from jetad.data.images import image_writer

    with pytest.raises(DataError, match="images.h5: 4 jets written, 5 expected"):
        with image_writer(tmp_path / "images.h5", 5, (40, 40), {}) as add:
            add(fake_jets(2, 2, 1))
    assert list(tmp_path.iterdir()) == []


def test_rows_read_a_chunk_at_a_time_are_those_of_the_whole_file(tmp_path, fake_jets):
    """check_images reads every row, a chunk at a time, and refuses the first bad one by its
    row in the file (here in the third chunk of 7 rows); take_rows gives the jets of
    read_images(...).take, field for field, reading only the chunks that hold them."""
    from jetad.data.images import FIELDS, check_background_images, check_images

    data = fake_jets(20, 10, 6)
    path = tmp_path / "images.h5"
    write_images(path, data)
    head = check_images(path, 7)
    assert head.n == 30 and head.shape == (40, 40)
    index = np.array([0, 6, 7, 8, 29])
    got, want = head.take_rows(index, 7), read_images(path).take(index)
    for name in ("images", "label", "process", *FIELDS):
        assert getattr(got, name).tobytes() == getattr(want, name).tobytes(), name
    assert got.attrs == want.attrs
    with pytest.raises(DataError, match="10 anomalous jets .label 1. in the "
                                        "validation set"):
        check_background_images(path, 7, what="validation")
    with h5py.File(path, "a") as f:
        f["images"][16, 3, 3] = np.nan
    with pytest.raises(DataError, match=r"images.h5: NaN or inf in images rows 16$"):
        check_images(path, 7)
