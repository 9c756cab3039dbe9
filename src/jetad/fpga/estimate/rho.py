"""The rho factor: resources of an unsynthesized conv layer from a synthesized reference ([Valente 2022]
ch. 3; [hls4ml]).

    rho(a, b) = [(h_a/s)(w_a/s) d_in,a d_out,a] / [(h_b/s)(w_b/s) d_in,b d_out,b]

for conv layers a and b with input height h, width w, input depth d_in, output depth d_out and
stride s; resources(a) ~ rho(a, b) * resources(b). The thesis prints d_in,b twice in the
denominator (a typo; the talk has d_in,b d_out,b). Between conv2_b0_0 (20, 20, 16, 10) and
conv2_b1_1 (10, 10, 20, 5) at stride 2 the formula gives 6.4, whereas the thesis' Table 3.5 row of
conv2_b0_0 is exactly 16 times the conv2_b1_1 row in DSP, LUT, FF and BRAM: this module
reproduces the formula (6.4), not the table's factor 16.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from jetad.errors import JetadError

RESOURCE_KEYS = ("DSP", "LUT", "FF", "BRAM")


@dataclass(frozen=True)
class ConvShape:
    """(h, w, d_in, d_out) as in the thesis' tuples, e.g. (20, 20, 16, 10)."""

    h: int
    w: int
    d_in: int
    d_out: int

    @classmethod
    def of(cls, t) -> ConvShape:
        if isinstance(t, ConvShape):
            return t
        if len(t) != 4:
            raise JetadError(f"a conv shape is (h, w, d_in, d_out), got {t!r}")
        return cls(*(int(v) for v in t))

    def volume(self, stride: int) -> float:
        return (self.h / stride) * (self.w / stride) * self.d_in * self.d_out


def rho(a, b, stride: int = 1) -> float:
    """rho(a, b) for conv shapes (h, w, d_in, d_out) at the given stride."""
    if stride < 1:
        raise JetadError(f"stride must be >= 1, got {stride}")
    a, b = ConvShape.of(a), ConvShape.of(b)
    den = b.volume(stride)
    if den <= 0:
        raise JetadError(f"reference layer shape {b} has zero volume")
    return a.volume(stride) / den


def extrapolate(layers: dict[str, tuple], measured: dict[str, dict], stride: int = 1) -> list[dict]:
    """Rows of resources for every layer in `layers` (name -> (h, w, d_in, d_out)).

    A layer in `measured` (name -> {DSP, LUT, FF, BRAM, ...}) keeps its numbers
    (extrapolated=False); any other gets rho * the numbers of the measured layer nearest to it in
    log-volume, tagged extrapolated=True with `reference` and `rho` named.
    """
    if not measured:
        raise JetadError("no measured reference layer to extrapolate from")
    missing = [n for n in measured if n not in layers]
    if missing:
        raise JetadError(f"measured layers without a shape: {', '.join(missing)}")
    rows = []
    for name, shape in layers.items():
        if name in measured:
            rows.append({"layer": name, **measured[name], "extrapolated": False,
                         "reference": None, "rho": 1.0})
            continue
        vol = ConvShape.of(shape).volume(stride)
        ref = min(measured, key=lambda r: abs(math.log(ConvShape.of(layers[r]).volume(stride))
                                              - math.log(vol)))
        r = rho(shape, layers[ref], stride)
        est = {k: v * r for k, v in measured[ref].items() if k in RESOURCE_KEYS}
        rows.append({"layer": name, **est, "extrapolated": True, "reference": ref, "rho": r})
    return rows
