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
