"""What `jetad distill` measures: the students of every lever, the chosen student's netlist, and
the metrics document (`jetad.trigger.distill` holds the student itself and its pieces).

`train_levers` pools the jets, scores them with the teacher, trains the float student, the QKeras
students and the pruning scan, and chooses the sparsity on the validation jets; `export_student`
takes the chosen student through the RTL flow into a directory; `metrics` checks the target and
assembles the document that `markdown` renders. Each model starts from the seed, whatever ran
before it, so a lever's result does not depend on which others are on.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from jetad import log, tables
from jetad.analysis.encoder_metrics import kl_scores
from jetad.analysis.metrics import signal_aucs
from jetad.data.images import read_background_images, read_images, subsample
from jetad.errors import DataError
from jetad.inputs import check_quantized_encoder, keras_model_config, read_model_meta
from jetad.models.reduced_encoder import load_qmodel
from jetad.quant.qat import encoder_config, train_encoder
from jetad.trigger import distill as ds

logger = log.get("jetad.distill")


def check_inputs(train_path, val_path, test_path, vae_path, reduced_dir):
    """Every input of `jetad distill`, checked before TensorFlow is imported and anything is
    trained. Returns (train, val, test, reduced), `reduced` the float reduced encoder's file or
    None."""
    train = read_background_images(train_path)
    npix = int(train.images.shape[1])
    val = read_background_images(val_path, npix=npix, what="validation",
                                 expected_by=f"the training images {train_path} have")
    test = read_images(test_path, npix=npix, expected_by=f"the training images {train_path} have")
    read_model_meta(vae_path, "jointvae")
    reduced = None
    if reduced_dir:
        reduced = Path(reduced_dir) / "encoder_float.h5"
        if not reduced.is_file():
            raise DataError(f"{reduced_dir}: no encoder_float.h5 (run jetad qat)")
        keras_model_config(reduced, "float reduced encoder file (jetad qat: encoder_float.h5)")
        if reduced.with_name("qencoder.h5").exists():
            check_quantized_encoder(reduced.with_name("qencoder.h5"))
    return train, val, test, reduced


@dataclass
class Levers:
    """The students of every lever and what they scored (see `train_levers`)."""

    cfg: ds.StudentConfig
    bits: list
    seed: int
    x: np.ndarray
    xv: np.ndarray
    xt: np.ndarray
    y: np.ndarray
    yv: np.ndarray
    label: np.ndarray
    process: np.ndarray
    target: ds.Target
    kl_test: np.ndarray
    reduced: Path | None
    aucs: dict = field(default_factory=dict)
    ref_scores: dict = field(default_factory=dict)
    levers: list = field(default_factory=list)
    scan: list = field(default_factory=list)
    prec: str = ""
    fstudent: object = None
    float_score: np.ndarray | None = None
    student: object = None
    student_score: np.ndarray | None = None
    student_name: str = ""
    chosen: dict | None = None

    def reseed(self):
        # heavy: TensorFlow starts only in the stages that build or run a model
        import tf_keras

        tf_keras.utils.set_random_seed(self.seed)

    def record(self, model_name, lever, model, fit_summary, extra=None):
        score = ds.predict(model, self.xt)
        self.aucs[model_name] = signal_aucs(self.label, self.process, score)
        quantized = model_name != "float student"
        hw = {}
        if quantized:  # da4ml's cost of every scan point: the frontier, not only the choice
            with tempfile.TemporaryDirectory(prefix="jetad-distill-scan-") as tmp:
                hw = ds.da4ml_figures(model, Path(tmp) / "rtl")
        self.levers.append({"model": model_name, "lever": lever, **fit_summary,
                            "kernel_sparsity": ds.kernel_sparsity(model) if quantized else None,
                            **hw, "auc": self.aucs[model_name], **(extra or {})})
        logger.info("%-24s val loss %.4f, AUC %s%s", model_name, fit_summary["val_loss"],
                    ", ".join(f"{k} {v:.4f}" for k, v in self.aucs[model_name].items()),
                    f"; da4ml {hw['da4ml_LUT']:.0f} LUT, {hw['latency_cycles']} cycles"
                    if hw else "")
        return score


def train_levers(train, val, test, vae_path, reduced, params, seed: int) -> Levers:
    """Pools the jets, scores them with the teacher (the JointVAE in `vae_path`) and the qat
    stage's reduced encoders (`reduced`, or None), then trains every lever's student and chooses
    the sparsity.
    TensorFlow must be set up (`jetad.models.determinism.setup_tf`)."""
    dp = params.distill
    cfg = ds.StudentConfig.from_params(dp)
    bits = cfg.layer_bits()
    idx = subsample(len(train), dp.max_train_jets, seed)
    x, xv, xt = (ds.pool_images(np.asarray(d.images[i] if i is not None else d.images,
                                           np.float32), cfg.pool)
                 for d, i in ((train, idx), (val, None), (test, None)))
    logger.info("pooled %d training, %d validation, %d test jets to %s", len(x), len(xv),
                len(xt), "x".join(map(str, x.shape[1:3])))

    # heavy: the JointVAE module imports TensorFlow
    from jetad.models import jointvae

    vae = jointvae.load(vae_path)
    kl_train = ds.teacher_kl(vae, np.asarray(train.images[idx], np.float32))
    kl_val = ds.teacher_kl(vae, np.asarray(val.images, np.float32))
    kl_test = ds.teacher_kl(vae, np.asarray(test.images, np.float32))
    target = ds.Target.fit(kl_train)
    logger.info("teacher KL total on the training jets: median %.4g (log mean %.3f, std %.3f)",
                float(np.median(kl_train)), target.mean, target.std)
    r = Levers(cfg=cfg, bits=bits, seed=seed, x=x, xv=xv, xt=xt, y=target(kl_train),
               yv=target(kl_val), label=test.label.astype(int), process=test.process,
               target=target, kl_test=kl_test, reduced=reduced)
    r.aucs["teacher (JointVAE)"] = signal_aucs(r.label, r.process, kl_test)
    r.ref_scores["teacher (JointVAE)"] = kl_test
    if reduced is not None:
        _reduced_encoders(r, vae, test)
        if dp.no_norm_lever:
            _no_norm_lever(r, vae, train, test, params.qat)
    _students(r)
    return r


def _encoder_kl(enc, vae, test, n):
    outs = enc.predict(np.asarray(test.images, np.float32)[..., None], batch_size=1000, verbose=0)
    return kl_scores([np.asarray(a).reshape(n, -1) for a in outs], vae.cfg.kl_eps)["kl_total"]


def _reduced_encoders(r: Levers, vae, test):
    # the qat stage's two encoders: float (the target's reference) and QKeras <16,6>
    for fname, what in ((r.reduced, "float reduced encoder"),
                        (r.reduced.with_name("qencoder.h5"), "QKeras reduced encoder")):
        if not fname.is_file():
            continue
        kl = _encoder_kl(load_qmodel(fname, what), vae, test, len(r.xt))
        r.aucs[what] = signal_aucs(r.label, r.process, kl)
        r.ref_scores[what] = kl


def _no_norm_lever(r: Levers, vae, train, test, qp):
    # jetad qat's training of its float reduced encoder, without the instance norms
    vae.decoder.trainable = False
    ecfg = replace(encoder_config(qp, vae, int(train.images.shape[1])), norm="none")
    ix = subsample(len(train), qp.max_images, r.seed)
    r.reseed()
    enc, terms = train_encoder(ecfg, False, vae, np.asarray(train.images[ix], np.float32),
                               qp, r.seed)
    loss = float(terms["loss"])
    kl = _encoder_kl(enc, vae, test, len(r.xt))
    name = "float reduced encoder, no norm"
    r.aucs[name] = signal_aucs(r.label, r.process, kl)
    r.levers.append({"model": name, "lever": "no instance norm (qat's training)",
                     "loss": loss, "val_loss": None, "kernel_sparsity": None,
                     "auc": r.aucs[name]})
    logger.info("%-28s loss %.4g, AUC %s", name, loss,
                ", ".join(f"{k} {v:.4f}" for k, v in r.aucs[name].items()))


def _students(r: Levers):
    cfg, bits, shape = r.cfg, r.bits, r.x.shape[1:]
    data = (r.x, r.y, r.xv, r.yv, cfg)
    r.reseed()
    r.fstudent = ds.build(cfg, shape, quantized=False)
    got = ds.fit(r.fstudent, *data, cfg.epochs)
    r.float_score = r.record("float student", "distillation + pooling (float)", r.fstudent, got)
    r.prec = prec = "/".join(map(str, bits)) if len(set(bits)) > 1 else str(bits[0])
    r.reseed()
    qstudent = ds.build(cfg, shape, quantized=True, bits=bits)
    got = ds.fit(qstudent, *data, cfg.epochs)
    r.record(f"QKeras student <{prec}>", "precision (QAT)", qstudent, got, {"bits": bits})
    for b in cfg.bits_scan:
        r.reseed()
        other = ds.build(cfg, shape, quantized=True, bits=[int(b)] * len(bits),
                         name=f"student_{b}b")
        got = ds.fit(other, *data, cfg.epochs)
        r.record(f"QKeras student <{b}>", "precision (QAT)", other, got,
                 {"bits": [int(b)] * len(bits)})

    pruned = {}
    for s in sorted(float(v) for v in cfg.sparsity_scan):
        r.reseed()
        model, got = ds.prune(qstudent, *data, s)
        pruned[s] = model
        r.scan.append({"sparsity": s, **got, "kernel_sparsity": ds.kernel_sparsity(model)})
        r.record(f"pruned {s:g} <{prec}>", "pruning (tfmot, fine-tuned)", model, got,
                 {"sparsity": s})
    r.chosen = ds.choose_sparsity(r.scan, cfg.prune_tolerance)
    r.student = pruned[r.chosen["sparsity"]]
    logger.info("chosen sparsity %g (validation loss %.4f, unpruned %.4f, tolerance %g)",
                r.chosen["sparsity"], r.chosen["val_loss"],
                min(r.scan, key=lambda v: v["sparsity"])["val_loss"], cfg.prune_tolerance)
    r.student_score = ds.predict(r.student, r.xt)
    r.student_name = f"pruned {r.chosen['sparsity']:g} <{prec}>"


def export_student(r: Levers, out: Path, synthesize: bool) -> dict:
    """The chosen student through da4ml -> Verilog -> Verilator (-> yosys if `synthesize`) into
    the directory `out` (Verilog, both students, the target's standardization). Returns the
    flow's figures (`jetad.trigger.distill.rtl_flow`)."""
    with tempfile.TemporaryDirectory(prefix="jetad-distill-") as build:
        flow = ds.rtl_flow(r.student, r.xt, Path(build) / "rtl", synthesize=synthesize,
                           logger=logger)
        shutil.copytree(Path(build) / "rtl" / "src", out / "verilog")
        r.student.save(str(out / "student.h5"))
        r.fstudent.save(str(out / "student_float.h5"))
        (out / "target.json").write_text(json.dumps(
            {"log_kl_mean": r.target.mean, "log_kl_std": r.target.std, "kl_floor": ds.KL_FLOOR,
             "pool": r.cfg.pool}, indent=2) + "\n")
    return flow


def check_target(r: Levers, flow: dict) -> tuple[list[dict], dict]:
    """The student's design.csv rows and the target check against the float reduced encoder
    (the teacher without one)."""
    if flow["mismatches"]:
        logger.warning("verilator differs from QKeras on %d of %d jets", flow["mismatches"],
                       flow["n_compared"])
    rows = ds.design_rows(flow, r.bits, r.chosen["sparsity"])
    best = rows[-1]
    ref_name = "float reduced encoder" if r.reduced is not None else "teacher (JointVAE)"
    on = "top" if "top" in r.aucs[r.student_name] else "all"
    check = ds.target_check(best, r.aucs[r.student_name][on], r.aucs[ref_name][on],
                            mismatches=flow["mismatches"])
    check.update(reference=ref_name, signal=on, source=best["source"],
                 auc_drop_interval_68=ds.paired_drop_interval(
                     r.label, r.process, on, r.ref_scores[ref_name], r.student_score, r.seed))
    logger.info("target (every resource < 30%%, <= 200 ns, II <= 5, AUC %s within 0.02 of the "
                "%s): %s %s", on, ref_name, "MET" if check["met"] else "NOT met",
                check["checks"])
    return rows, check


def metrics(r: Levers, flow: dict, rows: list[dict], check: dict) -> dict:
    """The metrics document (`--metrics`); `flow` without its `rtl_scores`."""
    return {"config": r.cfg.to_dict(), "n_train": int(len(r.x)), "n_val": int(len(r.xv)),
            "n_test": int(len(r.xt)), "pooled_shape": list(r.x.shape[1:3]),
            "pooling": "sum-pooled before the FPGA (not in the netlist)",
            "teacher": "JointVAE KL total (analytic), on the background training jets",
            "auc": r.aucs, "levers": r.levers, "sparsity_scan": r.scan,
            "chosen_sparsity": r.chosen["sparsity"], "student": r.student_name,
            "rtl": flow, "design": rows, "target": check}


def markdown(doc: dict) -> str:
    """AUC per signal of every model, then the netlist and the target check."""
    signals = list(next(iter(doc["auc"].values())))
    rows = [{"model": m, **{s: f"{a.get(s, float('nan')):.4f}" for s in signals}}
            for m, a in doc["auc"].items()]
    r = doc["rtl"]
    t = doc["target"]
    lines = [f"# Distilled trigger student ({doc['n_test']} test jets; input "
             f"{'x'.join(map(str, doc['pooled_shape']))} sum-pooled before the FPGA)", "",
             "KL-total AUC per signal (background vs that signal; `all`: every anomaly)", "",
             tables.aligned(pd.DataFrame(rows)), "",
             "Levers: validation loss (MSE on the standardized log KL of background jets) and "
             "da4ml's whole-design cost (LUT estimate, pipeline stages at 5 ns)", "",
             tables.aligned(pd.DataFrame([{
                 "model": v["model"], "lever": v["lever"],
                 "val loss": f"{v['val_loss']:.4f}" if v.get("val_loss") is not None else "",
                 "zero weights": (f"{v['kernel_sparsity']:.2f}"
                                  if v.get("kernel_sparsity") is not None else ""),
                 "da4ml LUT": f"{v['da4ml_LUT']:,.0f}" if "da4ml_LUT" in v else "",
                 "cycles": v.get("latency_cycles", "")} for v in doc["levers"]])), "",
             f"Chosen: {doc['student']} (sparsity by validation loss). Netlist (da4ml -> "
             f"yosys synth_xilinx -family xcup, whole design): LUT {r.get('LUT')}, FF "
             f"{r.get('FF')}, DSP {r.get('DSP', 0)}, latency {r['latency_cycles']} cycles "
             f"({r['latency_ns']:g} ns), interval {r['interval_cycles']} cycle; Verilator vs "
             f"QKeras: {r['mismatches']} of {r['n_compared']} jets differ.", "",
             f"Target vs the {t['reference']} on {t['signal']}: "
             f"{'MET' if t['met'] else 'NOT met'} "
             + ", ".join(f"{k} {'ok' if v else 'FAIL'}" for k, v in t["checks"].items())
             + f" (AUC drop {t['auc_drop']:+.4f}, paired-bootstrap 68% interval "
             f"[{t['auc_drop_interval_68'][0]:+.4f}, {t['auc_drop_interval_68'][1]:+.4f}])", ""]
    return "\n".join(lines)
