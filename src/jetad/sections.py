"""The typed sections of params.yaml: one frozen dataclass per section, its fields the section's
keys (tests/test_params.py checks them against the JSON schema under jetad/schema/).

The classes hold no defaults: a key left out of params.yaml takes the `default` its schema
declares, filled in by jetad.params when the file is loaded. Each section also reads as a
read-only mapping (`section["key"]`, `dict(section)`), so library functions that take a plain
dict of settings (hls4ml's, the model configs) accept it unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar


class Section(Mapping):
    """Mapping view of a frozen dataclass section; nested sections are listed in `nested`."""

    nested: ClassVar[dict[str, type[Section]]] = {}

    def __getitem__(self, key: str) -> Any:
        if key not in self._names():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    def asdict(self) -> dict[str, Any]:
        """The section as plain data (nested sections as dicts), as params.yaml spells it."""
        return dataclasses.asdict(self)


section = dataclasses.dataclass(frozen=True, eq=True)


@section
class Data(Section):
    source: str
    file: str | None


@section
class Download(Section):
    record: int
    url: str
    api: str
    files: list[str]
    md5: dict[str, str]
    timeout: float


@section
class Generate(Section):
    chunks: list[int]
    signals: list[str]
    jets_per_chunk: dict[str, int]
    ecm: float
    pthat_min: float | dict[str, float]
    pthat_max: float | dict[str, float | None] | None
    jet_r: float
    jet_pt_min: float
    jet_pt_max: float
    jet_abs_eta_max: float
    match_dr: float


@section
class Pixelize(Section):
    npix: int
    deta: float
    dphi: float
    batch: int


@section
class Split(Section):
    test_fraction: float
    val_fraction: float
    background: str


@section
class Capacity(Section):
    gamma: float
    cont_max: float
    disc_max: float
    epochs: int


@section
class Train(Section):
    nested: ClassVar[dict[str, type[Section]]] = {"capacity": Capacity}

    latent_cont: int
    latent_disc: int
    beta: float
    objective: str
    capacity: Capacity | None
    tau: float
    kl_eps: float
    encoder_filters: list[int]
    encoder_down_groups: int
    encoder_res_groups: int
    decoder_expand: int
    decoder_filters: list[int]
    decoder_groups: int
    width: float
    learning_rate: float
    weight_decay: float
    lr_factor: float
    lr_patience: int
    early_stopping_patience: int
    batch_size: int
    epochs: int
    max_train_jets: int | None
    max_val_jets: int | None


@section
class Score(Section):
    sample: bool
    batch_size: int


@section
class Evaluate(Section):
    pca_max_points: int
    embedding_max_points: int
    umap: bool


@section
class Baseline(Section):
    filters: list[int]
    latent: int
    learning_rate: float
    weight_decay: float
    batch_size: int
    epochs: int
    early_stopping_patience: int
    max_train_jets: int | None
    max_val_jets: int | None


@section
class Supervised(Section):
    filters: list[int]
    dense: int
    folds: int
    learning_rate: float
    batch_size: int
    epochs: int
    max_train_jets: int | None


@section
class Scan(Section):
    points: dict[str, dict | None]
    seeds: list[int]


@section
class Qat(Section):
    groups: int
    bits: int
    integer: int
    negative_slope: float
    max_conv_weights: int
    qtools_float: str
    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    beta: float
    max_images: int | None
    train_decoder: bool


@section
class Hls(Section):
    backend: str
    io_type: str
    strategy: str
    reuse_factor: int
    part: str
    clock_period: float
    parts: list[str]
    n_images: int | None
    part_images: int | None
    batch: int
    processes: int | None
    norm_precision: dict[str, str]
    per_group: bool
    only: list[str] | None
    cflags: str | None
    cxx: str | None
    csim: str


@section
class Resources(Section):
    frac_bits: int
    dsp_min_bits: int
    da4ml: bool
    rho_stride: int
    synthesis: bool | str
    logic_synthesis: bool
    reports: list[str]
    yosys: bool
    yosys_max_weights: int


@section
class Dse(Section):
    precisions: list[list[int]]
    io_types: list[str]
    strategies: list[str]
    reuse_factors: list[int]
    n_images: int | None
    pareto_signal: str


# params.yaml section -> its class; the top-level scalars `seed` and `preset` are plain values
@section
class Distill(Section):
    pool: int
    conv: list[int]
    conv_stride: int
    dense: list[int]
    bits: int | list[int]
    integer: int
    act_integer: int
    input_bits: int
    output_bits: int
    output_integer: int
    epochs: int
    batch_size: int
    learning_rate: float
    sparsity_scan: list[float]
    prune_epochs: int
    prune_tolerance: float
    bits_scan: list[int]
    max_train_jets: int | None
    synthesize: bool
    no_norm_lever: bool


SECTIONS: dict[str, type[Section]] = {
    "data": Data, "download": Download, "generate": Generate, "pixelize": Pixelize,
    "split": Split, "train": Train, "score": Score, "evaluate": Evaluate,
    "baseline": Baseline, "supervised": Supervised, "qat": Qat, "distill": Distill, "hls": Hls,
    "resources": Resources, "scan": Scan, "dse": Dse,
}
