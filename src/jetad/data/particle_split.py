"""The split of jetad.data.split for the JetNet arrays of the jet files (group `jetnet`,
jetad.data.jetnet), for particle-level models: the same jets in the same parts as the image
split, because pixelize concatenates the jet files in the order given and keeps every jet, and
the same seeded `split_indices` is applied to the same labels here. Nothing is written: a
particle-level stage reads the jet files and splits them itself."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jetad.data.jetnet import GROUP, Particles, read_jetnet, to_jets
from jetad.data.kinematics import jet_kinematics
from jetad.data.processes import PROCESSES
from jetad.data.split import background_names, split_indices
from jetad.errors import DataError


@dataclass
class ParticlePart:
    """One part of the split: JetNet's arrays, label (0 background, 1 anomaly), process index
    (into PROCESSES)."""

    particles: Particles
    label: np.ndarray
    process: np.ndarray

    def __len__(self) -> int:
        return len(self.label)


def read_particle_files(inputs: list[tuple[str, str]]) -> tuple[Particles, np.ndarray]:
    """The JetNet arrays of the jet files (path, process), concatenated in the order given,
    and each jet's process index."""
    parts, process = [], []
    for path, name in inputs:
        data = read_jetnet(path, group=GROUP)
        parts.append(data)
        process.append(np.full(len(data), PROCESSES.index(name), np.int8))
    return Particles.concatenate(parts), np.concatenate(process)


def split_particles(data: Particles, process: np.ndarray, background: str | list[str],
                    test_fraction: float, val_fraction: float, seed: int,
                    origin: str = "input") -> dict[str, ParticlePart]:
    """part name -> ParticlePart, the parts of jetad.data.split.split_images for these jets."""
    names = background_names(background)
    is_background = np.isin(process, [PROCESSES.index(n) for n in names])
    if not is_background.any():
        raise DataError(f"{origin}: no {'+'.join(names)} jets, the background of "
                        "split.background")
    if is_background.all():
        raise DataError(f"{origin}: only {'+'.join(names)} jets, no anomaly for the test part")
    label = (~is_background).astype(np.int8)
    return {name: ParticlePart(Particles(data.particles[idx], data.jet[idx]), label[idx],
                               process[idx])
            for name, idx in split_indices(label, test_fraction, val_fraction, seed,
                                           origin=origin).items()}


def image_jet_mass(data: Particles) -> np.ndarray:
    """The jet mass pixelize records for these jets (of the 30 particles as jetad.data.jetnet
    .to_jets rebuilds them; JetNet's own jet_features mass is of all the jet's particles), so
    that a particle model's score file carries the masses of the image models' files."""
    # the process only sets is_signal_new, which the mass does not read
    return jet_kinematics(to_jets(data, "gluon").p4)[2].astype(np.float32)
