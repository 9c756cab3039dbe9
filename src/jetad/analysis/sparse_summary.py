"""The table of `jetad sparse` (results/sparse/summary.md): every score of the same test jets,
its AUC per signal with a 68% stratified bootstrap interval (jetad.analysis.bootstrap), its
non-zero parameters, and the netlist figures of the FPGA row; the published numbers of
[McDermott et al.] beside them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from jetad.analysis import bootstrap
from jetad.analysis.metrics import auc
from jetad.data.processes import PROCESSES
from jetad.tables import markdown

SIGNALS = ("top", "w", "z")

# [McDermott et al.], "Comparison to Complex Models on JetNet Dataset" (top / W / Z AUC)
PUBLISHED = {
    "Sparse AE": (0.9061, 0.7508, 0.7852),
    "CNN AE": (0.8962, 0.6886, 0.7700),
    "GNN AE-PL": (0.8917, 0.7558, 0.7805),
    "GNN AE-JL": (0.8530, 0.5937, 0.6545),
    "LG AE-Mix": (0.8669, 0.7489, 0.7909),
    "LG AE-Min-Max": (0.8539, 0.6938, 0.7400),
}


@dataclass
class Row:
    """One score of the test jets; `score` None: not run on these jets (`why` says so)."""

    name: str
    score: np.ndarray | None
    nonzero: int | None = None
    fpga: dict = field(default_factory=dict)  # LUT, FF, DSP, latency_cycles, latency_ns
    why: str = ""


def aucs(label, process, score, seed: int) -> dict[str, tuple[float, list[float]]]:
    """Signal -> (AUC, 68% interval) of background vs that signal, for the signals present."""
    label = np.asarray(label).astype(int)
    out = {}
    for name in SIGNALS:
        sel = (label == 0) | (process == PROCESSES.index(name))
        if not np.any(label[sel] == 1):
            continue
        out[name] = (float(auc(label[sel], score[sel])),
                     bootstrap.intervals(label[sel], score[sel], seed)["auc"])
    return out


def _cell(got: dict, signal: str) -> str:
    if signal not in got:
        return "-"
    value, (lo, hi) = got[signal]
    return f"{value:.3f} [{lo:.3f}, {hi:.3f}]"


def _fpga_cells(fpga: dict) -> list[str]:
    if not fpga:
        return ["-"] * 4
    lat = f"{fpga['latency_cycles']} ({fpga['latency_ns']:g} ns)"
    return [str(fpga.get(k, "-") if fpga.get(k) is not None else "-")
            for k in ("LUT", "FF", "DSP")] + [lat]


def table(rows: list[Row], label, process, seed: int) -> str:
    """The markdown table of `rows`: AUC [68% interval] per signal, non-zero parameters, LUT,
    FF, DSP, latency."""
    columns = ("score", "top AUC", "W AUC", "Z AUC", "non-zero params", "LUT", "FF", "DSP",
               "latency (cycles, ns)")
    cells = []
    for row in rows:
        if row.score is None:
            cells.append([row.name, *(["not run on these jets"] + ["-"] * 2), "-",
                          *["-"] * 4])
            continue
        got = aucs(label, process, np.asarray(row.score, np.float64), seed)
        cells.append([row.name, *(_cell(got, s) for s in SIGNALS),
                      "-" if row.nonzero is None else str(row.nonzero),
                      *_fpga_cells(row.fpga)])
    return markdown(cells, columns)


def published_table() -> str:
    return markdown([[name, *(f"{v:.4f}" for v in values)]
                     for name, values in PUBLISHED.items()],
                    ("model ([McDermott et al.], JetNet)", "top AUC", "W AUC", "Z AUC"))


def document(rows: list[Row], label, process, seed: int, notes: list[str]) -> str:
    """results/sparse/summary.md."""
    label = np.asarray(label).astype(int)
    counts = ", ".join(f"{int(np.sum(process == PROCESSES.index(s)))} {s}" for s in SIGNALS
                       if np.any(process == PROCESSES.index(s)))
    head = (f"# The sparse particle autoencoder on the test jets\n\n"
            f"{int(np.sum(label == 0))} background and {counts} test jets. AUC of background "
            f"against each signal, [68% interval] over {bootstrap.N_REPLICAS} stratified "
            f"bootstrap replicas (seed {seed}). Nothing was chosen by these AUCs: the search, "
            "the pruning and the quantization read background jets only.\n\n")
    pub = ("\n\nPublished ([McDermott et al.], on JetNet's own jets, its full training set; "
           "not the jets above, so not directly comparable):\n\n")
    return (head + table(rows, label, process, seed) + "\n\n"
            + "\n".join(f"- {n}" for n in notes) + pub + published_table() + "\n")
