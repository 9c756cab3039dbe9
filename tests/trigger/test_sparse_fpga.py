"""The pruned QAT particle autoencoder through da4ml -> Verilog -> Verilator (jetad.trigger
.sparse_fpga): the RTL's output words equal QKeras' on a few hundred jets, so do the scores."""

import logging

import numpy as np
import pytest

from jetad.fpga.estimate import design as dz
from jetad.models import particle_ae
from jetad.models.determinism import setup_tf
from jetad.models.particle_ae import Architecture, Fit
from jetad.quant import sparse_qat as sq
from jetad.trigger import sparse_fpga


def test_design_rows_carry_the_netlist_figures():
    flow = {"latency_cycles": 6, "interval_cycles": 1, "da4ml_cost": 900.0, "reg_bits": 300,
            "LUT": 800, "FF": 290, "DSP": 0, "BRAM": 0}
    rows = sparse_fpga.design_rows(flow, "w<8,1>", 0.75)
    assert [r["source"] for r in rows] == ["da4ml", "yosys"]
    assert rows[1]["LUT"] == 800 and rows[1]["latency_ns"] == 30.0
    assert set(rows[0]) == set(dz.COLUMNS) and "sparsity0.750" in rows[0]["config"]


@pytest.mark.build
def test_rtl_equals_qkeras_word_for_word_on_300_jets(tmp_path, caplog):
    setup_tf(5)
    arch = Architecture(8, (), 2, True, 0.3)
    model = particle_ae.build(arch)
    rng = np.random.default_rng(0)
    mask = (rng.random((300, 30)) < 0.7).astype(np.float32)
    x = (rng.normal(size=(300, 90)) * np.repeat(mask, 3, axis=1)).astype(np.float32)
    particle_ae.fit(model, (x, mask), (x, mask), Fit(1, 64, 1e-3), 0)
    masks = {n: (rng.random(v.shape) < 0.5).astype(np.float32)
             for n, v in particle_ae.kernels(model).items()}
    qmodel = sq.from_float(model, arch, sq.QatBits())
    sq.train(qmodel, (x, mask), (x, mask), masks, Fit(1, 64, 1e-3), 0)
    logger = logging.getLogger("test_sparse_fpga")
    with caplog.at_level(logging.INFO, logger=logger.name):
        flow = sparse_fpga.run(qmodel, x, mask, tmp_path / "rtl", synthesize=False,
                               logger=logger)
    assert flow["n_compared"] == 300 * 90 and flow["mismatches"] == 0
    assert flow["n_jets"] == 300 and flow["jets_differ"] == 0
    # the log counts jets as jets, the 90 words of each apart
    assert "0 of 300 test jets differ from QKeras (0 of 27000 output words)" in caplog.text
    assert flow["score_mismatches"] == 0
    np.testing.assert_array_equal(flow["rtl_mse"], flow["qkeras_mse"])
    assert flow["measured_latency_cycles"] == flow["latency_cycles"] > 0
    assert flow["LUT"] is None and flow["da4ml_cost"] > 0
