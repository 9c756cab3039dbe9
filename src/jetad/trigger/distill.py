"""A trigger-grade student distilled from the JointVAE (CICADA's route), and what each lever costs.

The student is a compact QKeras network on a sum-pooled jet image: the 40x40 image is summed in
`pool` x `pool` blocks (10x10 by default) *before the FPGA*, a cheap adder tree in the detector's
readout (not in the student's netlist), then

    input_quant (quantized_bits) -> [QConv2D 3x3, stride s -> quantized_relu] x len(conv)
    -> Flatten -> [QDense -> quantized_relu] x len(dense) -> QDense(1) -> output_quant

with no normalization at all (no per-image instance norm: it needs a division and a square root
per image; no batch norm to fold either). The student regresses the teacher's KL total, the
JointVAE's anomaly score, standardized on log scale (a monotone map: the AUC is the teacher
score's, the regression well-conditioned over the orders of magnitude KL spans). The teacher's
scores come from the trained JointVAE on background (training) jets only; the test jets are
scored, never trained on.

Levers, each measured on its own (`jetad distill` writes their AUC per signal):
- distillation and pooling: a float student (same layout, Keras layers, no quantizers);
- precision: the QKeras student at `bits` (weights, biases, activations; a list gives per-layer
  widths), trained quantization-aware from scratch, and optionally other widths (`bits_scan`);
- pruning: tensorflow-model-optimization's `prune_low_magnitude` wraps the QKeras layers
  (QConv2D and QDense are prunable layers), a polynomial sparsity ramp over `prune_epochs` of
  fine-tuning from the QAT student, stripped afterwards; the sparsity is chosen by a scan on the
  validation jets (the largest one whose validation loss stays within `prune_tolerance` of the
  unpruned student's), never on the test jets.

The chosen student goes through `jetad.fpga.rtl.flow` (da4ml -> pipelined Verilog -> Verilator and
yosys): a fully unrolled design, one jet per clock (initiation interval 1), latency = pipeline
stages x 5 ns.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np

import jetad  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from jetad.analysis import bootstrap
from jetad.analysis import scores as sc
from jetad.data.processes import PROCESSES
from jetad.errors import JetadError
from jetad.fpga.estimate import design as dz
from jetad.fpga.estimate.resources import kernel_layers, quantized_kernel
from jetad.fpga.rtl import flow as rtl
from jetad.fpga.rtl.quantizers import input_grid
from jetad.params import or_default
from jetad.sections import from_schema

KL_FLOOR = 1e-8     # log(KL) of a jet whose KL underflows to 0


# The `distill` keys of the student, in the order its metrics' `config` lists them
STUDENT_KEYS = ("pool", "conv", "conv_stride", "dense", "bits", "integer", "act_integer",
                "input_bits", "output_bits", "output_integer", "epochs", "batch_size",
                "learning_rate", "sparsity_scan", "prune_epochs", "prune_tolerance", "bits_scan")


@from_schema(*(f"distill.{key}" for key in STUDENT_KEYS), defaults=True)
class StudentConfig:
    """The student and its training: the distill keys of STUDENT_KEYS, typed by the schema and
    at its defaults unless given."""

    @classmethod
    def from_params(cls, p: dict | None) -> StudentConfig:
        return cls(**{k: v for k, v in (p or {}).items() if k in STUDENT_KEYS})

    def layer_bits(self) -> list[int]:
        n = len(self.conv) + len(self.dense) + 1
        if isinstance(self.bits, int):
            return [self.bits] * n
        if len(self.bits) != n:
            raise JetadError(f"distill.bits: {len(self.bits)} widths for {n} kernel layers "
                             f"({len(self.conv)} conv, {len(self.dense)} dense, 1 output)")
        return [int(b) for b in self.bits]

    def to_dict(self) -> dict:
        return asdict(self)


def pool_images(images: np.ndarray, pool: int) -> np.ndarray:
    """(n, npix, npix) -> (n, npix/pool, npix/pool, 1) float32 block sums (float64 adds)."""
    n, h, w = images.shape
    if h % pool or w % pool:
        raise JetadError(f"distill.pool {pool} does not divide the {h}x{w} images")
    x = np.asarray(images, np.float64).reshape(n, h // pool, pool, w // pool, pool).sum((2, 4))
    return x.astype(np.float32)[..., None]


def teacher_kl(vae, images: np.ndarray, batch: int = 512) -> np.ndarray:
    """The JointVAE's KL total of each image (analytic, from the encoder alone)."""
    out = []
    for i in range(0, len(images), batch):
        logits, mean, logvar = (np.asarray(t) for t in
                                vae.encoder(images[i:i + batch, ..., None], training=False))
        out.append(sc.kl_cont(mean, logvar) + sc.kl_disc(logits, vae.cfg.kl_eps))
    return np.concatenate(out)


@dataclass
class Target:
    """Standardized log KL: the student's regression target."""

    mean: float
    std: float

    @classmethod
    def fit(cls, kl: np.ndarray) -> Target:
        t = np.log(np.maximum(kl, KL_FLOOR))
        return cls(float(t.mean()), float(t.std() or 1.0))

    def __call__(self, kl: np.ndarray) -> np.ndarray:
        return ((np.log(np.maximum(kl, KL_FLOOR)) - self.mean) / self.std).astype(np.float32)


def build(cfg: StudentConfig, input_shape: tuple[int, int, int], quantized: bool = True,
          bits: list[int] | None = None, name: str | None = None):
    """The student; `quantized=False` gives the float twin (Keras Conv2D/Dense/ReLU)."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tf_keras as keras

    L = keras.layers
    bits = bits or cfg.layer_bits()
    init = keras.initializers.HeNormal
    seq = iter(range(len(bits)))
    inp = keras.Input(input_shape, name="pooled_image")
    x = inp
    if quantized:
        # heavy: QKeras imports TensorFlow
        from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu

        # inputs are fractions of the jet pT: no integer bit, all but the sign bit fractional
        x = QActivation(quantized_bits(cfg.input_bits, 0, alpha=1), name="input_quant")(x)

        def kq(b):
            return dict(kernel_quantizer=quantized_bits(b, cfg.integer, alpha=1),
                        bias_quantizer=quantized_bits(b, cfg.integer, alpha=1))

        def act(b, lname):
            return QActivation(quantized_relu(b, cfg.act_integer), name=lname)
    for j, f in enumerate(cfg.conv):
        b = bits[next(seq)]
        kw = dict(strides=cfg.conv_stride, padding="same", name=f"conv{j}",
                  kernel_initializer=init(seed=j))
        if quantized:
            x = act(b, f"conv{j}_act")(QConv2D(int(f), 3, **kq(b), **kw)(x))
        else:
            x = L.ReLU(name=f"conv{j}_act")(L.Conv2D(int(f), 3, **kw)(x))
    x = L.Flatten(name="flatten")(x)
    for j, n in enumerate(cfg.dense):
        b = bits[next(seq)]
        kw = dict(name=f"dense{j}", kernel_initializer=init(seed=100 + j))
        if quantized:
            x = act(b, f"dense{j}_act")(QDense(int(n), **kq(b), **kw)(x))
        else:
            x = L.ReLU(name=f"dense{j}_act")(L.Dense(int(n), **kw)(x))
    b = bits[next(seq)]
    kw = dict(name="score", kernel_initializer=init(seed=200))
    if quantized:
        x = QDense(1, **kq(b), **kw)(x)
        x = QActivation(quantized_bits(cfg.output_bits, cfg.output_integer, alpha=1),
                        name="output_quant")(x)
    else:
        x = L.Dense(1, **kw)(x)
    return keras.Model(inp, x, name=name or ("student" if quantized else "student_float"))


def fit(model, x, y, xv, yv, cfg: StudentConfig, epochs: int, callbacks=()) -> dict:
    """Adam on the mean squared error; returns {'loss', 'val_loss'} of the last epoch."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tf_keras as keras

    model.compile(keras.optimizers.Adam(cfg.learning_rate), "mse")
    hist = model.fit(x, y, validation_data=(xv, yv), epochs=epochs, batch_size=cfg.batch_size,
                     shuffle=True, verbose=0, callbacks=list(callbacks))
    return {"loss": float(hist.history["loss"][-1]),
            "val_loss": float(hist.history["val_loss"][-1])}


def prune(model, x, y, xv, yv, cfg: StudentConfig, sparsity: float):
    """(stripped copy of `model` pruned to `sparsity`, fit summary): magnitude pruning of every
    conv/dense kernel with tensorflow-model-optimization, ramped over cfg.prune_epochs."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tensorflow_model_optimization as tfmot
    import tf_keras as keras

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    if sparsity <= 0.0:
        got = fit(clone, x, y, xv, yv, cfg, cfg.prune_epochs)
        return clone, got
    steps = cfg.prune_epochs * -(-len(x) // cfg.batch_size)
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.0, final_sparsity=float(sparsity), begin_step=0,
        end_step=max(1, int(0.7 * steps)), frequency=max(1, steps // 20))
    try:
        wrapped = tfmot.sparsity.keras.prune_low_magnitude(clone, pruning_schedule=schedule)
    except ValueError as exc:  # a layer tfmot cannot prune
        raise JetadError(f"tensorflow-model-optimization cannot wrap the student: {exc}") from exc
    got = fit(wrapped, x, y, xv, yv, cfg, cfg.prune_epochs,
              callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
    return tfmot.sparsity.keras.strip_pruning(wrapped), got


def kernel_sparsity(model) -> float:
    """Fraction of zero weights over every conv/dense kernel (after quantization)."""
    zeros = total = 0
    for layer in kernel_layers(model):
        k = np.asarray(quantized_kernel(layer))
        zeros += int(np.sum(k == 0))
        total += k.size
    return zeros / max(total, 1)


def choose_sparsity(scan: list[dict], tolerance: float) -> dict:
    """The largest sparsity whose validation loss is within `tolerance` (relative) of the
    unpruned point's (the smallest sparsity scanned)."""
    base = min(scan, key=lambda r: r["sparsity"])
    ok = [r for r in scan if r["val_loss"] <= base["val_loss"] * (1.0 + tolerance)]
    return max(ok, key=lambda r: r["sparsity"])


def predict(model, x, batch: int = 4096) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=batch, verbose=0), np.float64).reshape(-1)




def paired_drop_interval(label, process, signal: str, reference: np.ndarray,
                         score: np.ndarray, seed: int, n: int = 200,
                         level: float = 0.68) -> list[float]:
    """Central `level` interval of AUC(reference) - AUC(score) on background vs `signal`, over
    stratified bootstrap replicas shared by both scores (paired: the same jets each time)."""
    label = np.asarray(label).astype(int)
    sel = (label == 0) | (process == PROCESSES.index(signal)) if signal != "all" \
        else np.ones(len(label), bool)
    w = bootstrap.replicas(label[sel], n, seed)
    drop = (bootstrap.weighted_auc(label[sel], reference[sel], w)
            - bootstrap.weighted_auc(label[sel], score[sel], w))
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    return [float(v) for v in np.percentile(drop, q)]


def target_check(design: dict, auc: float, reference_auc: float, max_pct: float = 30.0,
                 max_latency_ns: float = 200.0, max_interval: int = 5,
                 max_auc_drop: float = 0.02, mismatches: int = 0) -> dict:
    """Each criterion of the trigger target (resources, latency, interval, AUC drop), with the value it
    was judged on; `mismatches` (RTL outputs that differ from QKeras) fails it: such a netlist does not
    compute the score whose AUC is quoted."""
    checks = {f"{k}_pct": (design.get(f"{k}_pct") or 0.0) < max_pct
              for k in ("LUT", "FF", "DSP", "BRAM")}
    checks["latency_ns"] = design["latency_ns"] <= max_latency_ns
    checks["interval_cycles"] = design["interval_cycles"] <= max_interval
    checks["auc_drop"] = reference_auc - auc <= max_auc_drop
    checks["bit_exact"] = mismatches == 0
    return {"met": all(checks.values()), "checks": checks,
            "auc_drop": reference_auc - auc,
            "limits": {"pct": max_pct, "latency_ns": max_latency_ns,
                       "interval_cycles": max_interval, "auc_drop": max_auc_drop}}


def da4ml_figures(model, out_dir) -> dict:
    """{'da4ml_LUT', 'reg_bits', 'latency_cycles'} of da4ml's pipelined trace of the whole
    model (no simulation, no synthesis): a few seconds, for every point of the scans."""
    d = rtl.build(model, out_dir, name=model.name)
    return {"da4ml_LUT": d.cost, "reg_bits": d.reg_bits, "latency_cycles": d.latency_cycles}


def rtl_flow(model, x_test: np.ndarray, out_dir, synthesize: bool | None = None,
             logger=None) -> dict:
    """The whole student through da4ml -> Verilog -> Verilator (on `x_test`, raw pooled images)
    -> yosys (`synthesize` left out: distill.synthesize's schema default). Returns
    {'latency_cycles', 'interval_cycles', 'da4ml_cost', 'reg_bits', 'LUT', 'FF', 'mismatches',
    'n_compared' (output words), 'jets_differ', 'n_jets', 'rtl_scores'}; LUT/FF None without
    synthesis."""
    synthesize = or_default(synthesize, "distill", "synthesize")
    start = time.time()
    design = rtl.build(model, out_dir, name=model.name)
    if logger:
        logger.info("da4ml: %s traced and pipelined in %.0f s: %d stages, cost %.0f LUT, %d "
                    "register bits", model.name, time.time() - start, design.latency_cycles,
                    design.cost, design.reg_bits)
    # yosys and the Verilator build are separate processes: run them side by side
    pool = ThreadPoolExecutor(max_workers=1)
    synth = pool.submit(design.synthesize) if synthesize else None
    synth_start = time.time()
    design.compile(jobs=2)
    want = predict(model, x_test)
    got = design.predict(input_grid(model, x_test)).reshape(-1)
    mismatches = int(np.count_nonzero(got != want))
    # a network with several outputs per jet (the sparse autoencoder's 90 words) differs on a
    # jet when any of its words does: counted apart from the words
    jets_differ = int(np.count_nonzero(
        (got != want).reshape(len(x_test), -1).any(axis=1)))
    # the binder above is told the latency; the probe clocks the model and counts it
    measured = design.measure_latency()
    if logger:
        logger.info("verilator: %d of %d test jets differ from QKeras (%d of %d output words); "
                    "%d cycles from input to output, clocked (%d pipeline stages)", jets_differ,
                    len(x_test), mismatches, len(want), measured, design.latency_cycles)
    out = {"latency_cycles": design.latency_cycles, "latency_ns": design.latency_ns,
           "measured_latency_cycles": measured,
           # da4ml's binder clocks one jet in per cycle and reads each result `latency` cycles
           # later: the outputs above equal QKeras' only if the design accepts a jet per cycle
           "interval_cycles": 1, "da4ml_cost": design.cost, "reg_bits": design.reg_bits,
           "mismatches": mismatches, "n_compared": int(len(want)),
           "jets_differ": jets_differ, "n_jets": int(len(x_test)), "rtl_scores": got,
           "LUT": None, "FF": None}
    if synth is not None:
        syn = synth.result()
        out.update(LUT=int(syn["LUT"]), FF=int(syn["FF"]),
                   DSP=int(syn["cells"].get("DSP48E2", 0)),
                   BRAM=int(sum(v for k, v in syn["cells"].items() if k.startswith("RAMB"))))
        if logger:
            logger.info("yosys synth_xilinx -family xcup: %d LUT, %d FF (%.0f s after start)",
                        out["LUT"], out["FF"], time.time() - synth_start)
    pool.shutdown()
    return out


def design_rows(flow: dict, bits: list[int], sparsity: float, name: str = "student") -> list[dict]:
    """Rows of results/fpga/design.csv (jetad.fpga.estimate.design.COLUMNS) for the student's netlist."""
    prec = "/".join(f"<{b}>" for b in bits) if len(set(bits)) > 1 else f"<{bits[0]}>"
    cfg = {"config": f"{name}/da4ml/sparsity{sparsity:g}/{prec}", "io_type": "io_parallel",
           "strategy": "da4ml", "reuse_factor": 1, "precision": prec, "clock_ns": rtl_clock()}
    timing = {"latency_cycles": flow["latency_cycles"], "interval_cycles": flow["interval_cycles"]}
    rows = [dz.resource_row(cfg, "da4ml", "whole design",
                    {"LUT": flow["da4ml_cost"], "FF": flow["reg_bits"], "DSP": 0, "BRAM": 0,
                     **timing},
                    "distilled student (jetad distill), pooled input: da4ml 0.6 cost (adder "
                    "bits) and pipeline register bits; latency = pipeline stages at 5 adder "
                    "delays per stage; interval 1 (fully unrolled; checked by Verilator)")]
    if flow.get("LUT") is not None:
        rows.append(dz.resource_row(cfg, "yosys", "whole design",
                            {"LUT": flow["LUT"], "FF": flow["FF"], "DSP": flow.get("DSP", 0),
                             "BRAM": flow.get("BRAM", 0), **timing},
                            "distilled student: yosys synth_xilinx -family xcup of da4ml's whole "
                            "Verilog; latency and interval from da4ml's pipeline"))
    return rows


def rtl_clock() -> float:
    return rtl.CLOCK_NS
