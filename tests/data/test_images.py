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
