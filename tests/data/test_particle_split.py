"""The JetNet arrays of the jet files split as the images are (jetad.data.particle_split)."""

from functools import partial

import numpy as np
import pytest

from jetad.data.images import ImageSet
from jetad.data.jetnet import Particles, add_to_jet_file, to_jets
from jetad.data.layout import write_jets
from jetad.data.particle_split import image_jet_mass, read_particle_files, split_particles
from jetad.data.pixelize import image_set
from jetad.data.processes import PROCESSES
from jetad.data.split import split_images
from jetad.errors import DataError


def _write(path, data: Particles, process: str) -> None:
    write_jets(path, to_jets(data, process), extend=partial(add_to_jet_file, data=data))


def test_the_parts_hold_the_jets_of_the_image_split(tmp_path, make_jetnet):
    inputs, total = [], 0
    for i, name in enumerate(("gluon", "quark", "top", "w")):
        data = make_jetnet(20 + 3 * i, seed=i)
        data.jet[:, 0] = 1000 + total + np.arange(len(data))  # the pT: 1000 + row, an id
        total += len(data)
        _write(tmp_path / f"{name}.h5", data, name)
        inputs.append((str(tmp_path / f"{name}.h5"), name))
    particles, process = read_particle_files(inputs)
    parts = split_particles(particles, process, ["gluon", "quark"], 0.25, 0.2, seed=9)
    # the image split of the same rows (pixelize's concatenation in the same order)
    n = len(process)
    zeros = np.zeros(n, np.float32)
    images = ImageSet(np.ones((n, 2, 2), np.float32), np.zeros(n, np.int8),
                      1000 + np.arange(n, dtype=np.float32), zeros, zeros, zeros.astype(np.int16),
                      zeros, zeros, process=process)
    want = split_images(images, ["gluon", "quark"], 0.25, 0.2, seed=9)
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(parts[name].particles.jet[:, 0], want[name].jet_pt)
        np.testing.assert_array_equal(parts[name].label, want[name].label)
        np.testing.assert_array_equal(parts[name].process, want[name].process)
    assert set(parts["train"].process) == {PROCESSES.index("gluon"), PROCESSES.index("quark")}


def test_a_jet_file_without_jetnet_arrays_is_refused(tmp_path, make_jets):
    write_jets(tmp_path / "qcd.h5", make_jets(4))
    with pytest.raises(DataError, match=r"qcd\.h5: no group 'jetnet'"):
        read_particle_files([(str(tmp_path / "qcd.h5"), "qcd")])


def test_the_jet_mass_is_the_one_pixelize_records(tmp_path, make_jetnet):
    data = make_jetnet(12, seed=5)
    _write(tmp_path / "top.h5", data, "top")
    images, _ = image_set(str(tmp_path / "top.h5"), "top", 12, 40, 0.029, 0.035, batch=12)
    np.testing.assert_array_equal(image_jet_mass(data), images.jet_mass)
    assert not np.allclose(image_jet_mass(data), data.jet[:, 2])  # not JetNet's own mass
