"""`jetad sparse`: the sparse particle autoencoder of [McDermott et al.] on the JetNet
arrays of the jet files (jetad.data.particle_split: the parts of the image split): search,
train and prune on background jets (jetad.models.sparse_study) with the particle features
standardized by the training background (the scaler is stored with the model), then the masked
reconstruction MSE of every test jet. Then quantization-aware training of the pruned network
(jetad.quant.sparse_qat) and its RTL route (jetad.trigger.sparse_fpga: da4ml, Verilator against
QKeras, yosys) into --rtl, the netlist's rows in --fpga, and --summary: AUC per signal with 68%
intervals of the sparse, dense and QAT networks, the conv AE of `jetad baseline` on the images of
the same test jets (--conv-ae), jet mass and N-subjettiness. The AUCs in the metrics file and
the summary are for information only: no choice was made with them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from jetad import log
from jetad.analysis.metrics import signal_aucs
from jetad.analysis.scores import write_score_file
from jetad.analysis.sparse_summary import Row, document
from jetad.atomic import atomic_dir, file_md5, write_text
from jetad.data import nsubjettiness
from jetad.data.images import subsample
from jetad.data.jetnet import to_jets
from jetad.data.particle_split import image_jet_mass, read_particle_files, split_particles
from jetad.data.pixelize import input_processes
from jetad.errors import DataError
from jetad.fpga.estimate import design as dz

LOG = log.get("jetad.sparse")
ARCHITECTURE = "sparse_particle_ae"


def run(args, params) -> None:
    sp, cfg, seed = params.sparse, params.split, params.seed
    inputs = input_processes(args.inputs)
    unnamed = [path for path, process in inputs if process is None]
    if unnamed:
        raise DataError(f"{unnamed[0]}: no process in its name (PROCESS=PATH or "
                        "data/jets/<process>.h5)")
    data, process = read_particle_files(inputs)
    parts = split_particles(data, process, cfg.background, cfg.test_fraction,
                            cfg.val_fraction, seed, origin=", ".join(args.inputs))
    conv_ae = _conv_ae(args.conv_ae, parts["test"]) if args.conv_ae else None
    for path, _ in inputs:
        LOG.info("read %s (JetNet arrays), md5 %s", path, file_md5(path))
    # heavy: the models import TensorFlow; they load after the inputs are checked
    from jetad.models import particle_ae
    from jetad.models.sparse_study import run_study

    train_raw = _inputs(particle_ae, parts["train"], sp.max_train_jets, seed, sp.particle_order)
    val_raw = _inputs(particle_ae, parts["val"], sp.max_val_jets, seed + 1, sp.particle_order)
    # the training part holds background jets only: the scaler never sees a signal jet
    scaler = (particle_ae.Scaler.fit(*train_raw) if sp.standardize
              else particle_ae.Scaler.identity())
    train, val = ((scaler(*part), part[1]) for part in (train_raw, val_raw))
    LOG.info("train %d, val %d, test %d jets; feature means %s, standard deviations %s",
             len(train[0]), len(val[0]), len(parts["test"]), _fmt(scaler.mean),
             _fmt(scaler.std))
    study = run_study(train, val, sp, seed, LOG)
    test = parts["test"]
    x_raw, mask = particle_ae.inputs(test.particles.particles, sp.particle_order)
    x = scaler(x_raw, mask)
    scores = {"mse": particle_ae.scores(study.model, x, mask),
              "mse_dense": _dense_scores(particle_ae, study, x, mask)}
    qat = _quantize(study, train, val, (x, mask), sp, seed, args.rtl)
    if qat is not None:
        scores["mse_qat"] = qat["score"]
    baselines = _baselines(test)
    write_score_file(args.out, scores, test.label, baselines["jet mass"],
                     extra={"process": test.process.astype(np.int8)},
                     attrs={"model": ARCHITECTURE})
    _write_model(args.model, study, scaler, qat, sp.particle_order)
    write_text(args.fpga, pd.DataFrame(qat["rows"] if qat else [], columns=list(dz.COLUMNS))
               .to_csv(index=False, lineterminator="\n"))
    write_text(args.summary, _summary(study, qat, scores, baselines, test, seed, conv_ae,
                                      sp.particle_order))
    write_text(args.metrics, json.dumps(_metrics(study, test, scores["mse"], scaler, qat),
                                        indent=1) + "\n")
    LOG.info("wrote %s, %s, %s, %s, %s", args.out, args.model, args.metrics, args.summary,
             args.fpga)


def _fmt(values) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in values) + ")"


def _dense_scores(particle_ae, study, x, mask) -> np.ndarray:
    """The scores of the searched network before pruning (the trained dense round)."""
    pruned = study.model.get_weights()
    study.model.set_weights(study.pruned.dense)
    try:
        return particle_ae.scores(study.model, x, mask)
    finally:
        study.model.set_weights(pruned)


def _quantize(study, train, val, test, sp, seed: int, rtl_dir) -> dict | None:
    """QAT and, with sparse.rtl, the RTL route into `rtl_dir` (a note file without it)."""
    # heavy: QKeras and da4ml load only once the float study is done
    from jetad.trigger.sparse_fpga import quantize_and_route

    with atomic_dir(rtl_dir) as tmp:
        if sp.qat_epochs == 0:
            (tmp / "README").write_text("not built: sparse.qat_epochs is 0\n")
            return None
        if not sp.rtl:
            (tmp / "README").write_text("not built: sparse.rtl is false\n")
        return quantize_and_route(study, train, val, test, sp, seed + 2, tmp, LOG)


def _baselines(test) -> dict[str, np.ndarray]:
    """Jet mass and N-subjettiness of the test jets' 30 particles (1 - tau: the prongy jets
    score high)."""
    p4 = to_jets(test.particles, "gluon").p4
    ratios = nsubjettiness.ratios(p4)
    return {"jet mass": image_jet_mass(test.particles).astype(np.float64),
            "1 - tau21": 1.0 - ratios["tau21"], "1 - tau32": 1.0 - ratios["tau32"]}


def _conv_ae(path: str, test) -> Row:
    """The row of `jetad baseline`'s score file: the image split's test part, the same jets as
    the particles' test part when pixelize read these jet files (checked: the labels and the
    jet masses pixelize recorded, jet by jet)."""
    # deferred: read only with --conv-ae
    from jetad.analysis.scores import read_score_file

    got = read_score_file(path)
    if "mse" not in got["scores"] or got["attrs"].get("model") != "conv_ae":
        raise DataError(f"{path}: not a score file of jetad baseline (model "
                        f"{got['attrs'].get('model')!r}, scores {sorted(got['scores'])})")
    same = (len(got["label"]) == len(test)
            and np.array_equal(got["label"], test.label)
            and np.array_equal(got["jet_mass"].astype(np.float32), image_jet_mass(test.particles)))
    if not same:
        raise DataError(f"{path}: not the {len(test)} test jets of these jet files (its "
                        f"{len(got['label'])} jets differ in label or jet mass; jetad baseline "
                        f"on the split of the images pixelize made of them)")
    params = got["attrs"].get("params")
    return Row("CNN AE (jetad baseline, jet images)", got["scores"]["mse"],
               None if params is None else int(params))


def _summary(study, qat, scores, baselines, test, seed: int, conv_ae: Row | None,
             order: str) -> str:
    kept = study.pruned.table[study.pruned.round]
    dense = study.pruned.table[0]
    rows = [Row(f"sparse AE (searched {study.architecture.label()}, pruned, sparsity "
                f"{kept['sparsity']:.3f})", scores["mse"], kept["nonzero"]),
            Row("dense AE (searched, unpruned)", scores["mse_dense"], dense["nonzero"])]
    slots = {"dr": "by angular distance from the jet axis", "pt": "by pT_rel"}[order]
    notes = [f"Scores: the masked reconstruction MSE of the standardized particle features, "
             f"the particles in the input slots {slots} (AE rows); the jet mass and 1 - tau_N "
             f"of the jet's 30 particles (baselines)."]
    if qat is not None:
        flow = qat["flow"] or {}
        rows.append(Row(f"sparse AE, QAT {qat['bits'].label()} (QKeras)", qat["score"],
                        qat["nonzero"], {k: flow.get(k) for k in
                                         ("LUT", "FF", "DSP", "latency_cycles", "latency_ns")}
                        if flow else {}))
        if flow:
            notes.append(
                f"FPGA row: da4ml {flow['latency_cycles']} pipeline stages at 5 ns, one jet per "
                f"clock; LUT/FF of yosys synth_xilinx -family xcup (none: not synthesized); no "
                f"DSP (shift-and-add). The netlist outputs the 90-word reconstruction, the MSE "
                f"is computed from those words outside it. Verilator vs QKeras on "
                f"{flow['n_compared'] // 90} test jets: {flow['mismatches']} output words and "
                f"{flow['score_mismatches']} scores differ.")
    if conv_ae is not None:
        rows.append(conv_ae)
        notes.append("CNN AE: the conv autoencoder of jetad baseline, trained on the jet images "
                     "of the same training jets, scored by its summed squared error on the "
                     "images of the same test jets; its parameters are all non-zero (dense).")
    rows.append(Row("JointVAE (KL total)", None))
    notes.append("JointVAE: not run on these jets (it scores the jet images of the image "
                 "pipeline, a different test part unless the same JetNet files feed it).")
    rows += [Row(name, score) for name, score in baselines.items()]
    return document(rows, test.label, test.process, seed, notes)


def _inputs(particle_ae, part, limit: int | None, seed: int, order: str) -> tuple:
    idx = subsample(len(part), limit, seed)
    x, mask = particle_ae.inputs(part.particles.particles[idx], order)
    return x, mask


def _write_model(path, study, scaler, qat, order: str) -> None:
    # heavy: the JointVAE module (its model directory format) imports TensorFlow
    from jetad.models.jointvae import save_model

    arch = study.architecture
    models = {"model": study.model}
    extra = {"pruning_round": study.pruned.round, "scaler": scaler.to_dict(),
             "particle_order": order}
    if qat is not None:
        models["qat"] = qat["model"]
        extra["qat_bits"] = qat["bits"].label()
    save_model(path, ARCHITECTURE,
               {"first_width": arch.first_width, "widths": list(arch.widths),
                "latent": arch.latent, "batch_norm": arch.batch_norm, "slope": arch.slope},
               models, extra=extra)


def _metrics(study, test, score, scaler, qat) -> dict:
    # heavy: sparse_study imports TensorFlow's models (loaded already by run)
    from jetad.models.sparse_study import SEARCH_RULE

    kept = study.pruned.table[study.pruned.round]
    return {
        "architecture": study.architecture.label(),
        "params_dense": study.architecture.n_params(),
        "nonzero_params": kept["nonzero"], "kernel_nonzero": kept["kernel_nonzero"],
        "sparsity": kept["sparsity"], "pruning_round": study.pruned.round,
        "search_rule": SEARCH_RULE, "search_chosen": study.chosen, "search": study.search,
        "supernet_train_loss": study.supernet_history, "pruning": study.pruned.table,
        "test_jets": len(test),
        "auc_for_information_only": signal_aucs(test.label, test.process, score),
        "scaler": scaler.to_dict(),
        "qat": None if qat is None else {
            "bits": qat["bits"].label(), "val_loss": qat["history"],
            "nonzero_weights": qat["nonzero"],
            "auc_for_information_only": signal_aucs(test.label, test.process, qat["score"]),
            "rtl": None if qat["flow"] is None else {
                k: v for k, v in qat["flow"].items() if not isinstance(v, np.ndarray)}},
    }
