"""The pruned, quantization-aware sparse autoencoder (jetad.quant.sparse_qat) on an FPGA, by the
distilled student's route (jetad.trigger.distill.rtl_flow): da4ml traces the QKeras network into
shift-and-add logic (pruned weights cost nothing), pipelines it at 5 adder delays per stage and
writes Verilog; Verilator runs it on test jets, compared word for word with QKeras; yosys
synth_xilinx gives LUT and FF. One jet per clock (fully unrolled), latency = stages x 5 ns.

The anomaly score on the FPGA is the reconstruction error of [McDermott et al.], in this form:
the netlist takes the 90 standardized, quantized particle features (the input words) and outputs
the 90 words of the reconstruction; the masked MSE between the two is computed from those words
outside the netlist (here in float64; on a trigger board it is 90 subtractions, squares and an
adder tree, plus a division by 3 x the particle count, not built here). The score of the RTL
words therefore equals the QKeras network's exactly when the words match.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jetad.data.images import subsample
from jetad.fpga.estimate import design as dz
from jetad.fpga.rtl.quantizers import input_grid
from jetad.quant.sparse_qat import masked_mse_np
from jetad.trigger.distill import rtl_clock, rtl_flow

NAME = "sparse_ae"


def run(qmodel, x: np.ndarray, mask: np.ndarray, out_dir, synthesize: bool,
        logger=None) -> dict:
    """The RTL flow of `qmodel` on the jets (x [n, 90] standardized, mask [n, 30]): the flow's
    figures (jetad.trigger.distill.rtl_flow) plus 'rtl_mse' and 'qkeras_mse' (the masked MSE of
    the input words against the RTL's and QKeras' output words) and 'score_mismatches'."""
    flow = rtl_flow(qmodel, x, Path(out_dir), synthesize=synthesize, logger=logger)
    words = input_grid(qmodel, x)
    rtl_out = np.asarray(flow.pop("rtl_scores")).reshape(len(x), -1)
    keras_out = np.asarray(qmodel.predict(x, batch_size=4096, verbose=0), np.float64)
    flow["rtl_mse"] = masked_mse_np(words, rtl_out, mask)
    flow["qkeras_mse"] = masked_mse_np(words, keras_out, mask)
    flow["score_mismatches"] = int(np.count_nonzero(flow["rtl_mse"] != flow["qkeras_mse"]))
    return flow


def design_rows(flow: dict, precision: str, sparsity: float) -> list[dict]:
    """Rows of jetad.fpga.estimate.design.COLUMNS for the sparse autoencoder's netlist."""
    cfg = {"config": f"{NAME}/da4ml/sparsity{sparsity:.3f}/{precision}", "io_type": "io_parallel",
           "strategy": "da4ml", "reuse_factor": 1, "precision": precision,
           "clock_ns": rtl_clock()}
    timing = {"latency_cycles": flow["latency_cycles"], "interval_cycles": flow["interval_cycles"]}
    what = ("pruned QAT particle autoencoder (jetad sparse), 90 standardized inputs -> 90 "
            "reconstructed words; the MSE outside the netlist")
    rows = [dz.resource_row(cfg, "da4ml", "whole design",
                            {"LUT": flow["da4ml_cost"], "FF": flow["reg_bits"], "DSP": 0,
                             "BRAM": 0, **timing},
                            f"{what}: da4ml cost (adder bits) and pipeline register bits; "
                            "interval 1 (checked by Verilator)")]
    if flow.get("LUT") is not None:
        rows.append(dz.resource_row(cfg, "yosys", "whole design",
                                    {"LUT": flow["LUT"], "FF": flow["FF"],
                                     "DSP": flow.get("DSP", 0), "BRAM": flow.get("BRAM", 0),
                                     **timing},
                                    f"{what}: yosys synth_xilinx -family xcup of da4ml's "
                                    "Verilog; latency from da4ml's pipeline"))
    return rows


def quantize_and_route(study, train: tuple, val: tuple, test: tuple, sp, seed: int, rtl_dir,
                       logger=None) -> dict:
    """QAT of the study's pruned network (its masks held) on the background `train`/`val`
    (x, mask), the QKeras score of every `test` jet (x, mask), and with sp.rtl the RTL flow on
    a seeded subset of sp.rtl_jets test jets into `rtl_dir`. Returns {'model', 'bits',
    'score', 'nonzero', 'history', 'flow' (None without RTL), 'rows', 'rtl_index'}."""
    # heavy: QKeras and TensorFlow load only in the stages that train
    from jetad.models.particle_ae import Fit
    from jetad.quant import sparse_qat as sq

    bits = sq.QatBits.from_params(sp)
    qmodel = sq.from_float(study.model, study.architecture, bits)
    got = sq.train(qmodel, train, val, study.pruned.masks,
                   Fit(sp.qat_epochs, sp.batch_size, sp.learning_rate), seed)
    words = input_grid(qmodel, test[0])
    out = np.asarray(qmodel.predict(test[0], batch_size=4096, verbose=0), np.float64)
    result = {"model": qmodel, "bits": bits, "score": masked_mse_np(words, out, test[1]),
              "nonzero": sq.nonzero_weights(qmodel), "history": got.history, "flow": None,
              "rows": [], "rtl_index": None}
    if logger:
        logger.info("QAT %s: %d epochs, validation loss %.4g, %d non-zero quantized weights",
                    bits.label(), sp.qat_epochs, min(got.history), result["nonzero"])
    if sp.rtl:
        # a seeded subset across every process of the test part (its rows are sorted by file)
        idx = subsample(len(test[0]), sp.rtl_jets, seed)
        flow = run(qmodel, test[0][idx], test[1][idx], rtl_dir, sp.synthesize, logger)
        sparsity = study.pruned.table[study.pruned.round]["sparsity"]
        result.update(flow=flow, rtl_index=idx,
                      rows=design_rows(flow, bits.label(), sparsity))
    return result
