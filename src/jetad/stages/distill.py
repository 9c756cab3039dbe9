"""`jetad distill`: a trigger-grade student distilled from the JointVAE, its levers and its netlist.

Trains, on sum-pooled images of the background training jets (`jetad.quant.distill`), a float
student and a QKeras student that regress the JointVAE's KL total, scans magnitude pruning
(tensorflow-model-optimization) on the validation jets, and takes the chosen student through
da4ml -> Verilog -> Verilator (bit for bit against QKeras on the test jets) -> yosys
(`synth_xilinx -family xcup`). Writes the students and the Verilog (`--out`), the scores of the
test jets (`--scores`), the AUC per signal of every lever next to the teacher's and the float
reduced encoder's, the scan, the netlist figures and the target check (`--metrics`, `--table`),
and the student's whole-design rows in the columns of results/fpga/design.csv (`--design`).
"""

from __future__ import annotations


def run(args, params) -> None:
    import json
    import shutil
    import tempfile
    from pathlib import Path

    import numpy as np

    from jetad import log
    from jetad.atomic import atomic_dir, write_text
    from jetad.data.images import read_background_images, read_images, subsample
    from jetad.errors import DataError
    from jetad.inputs import check_quantized_encoder, keras_model_config, read_model_meta

    logger = log.get("jetad.distill")
    params = params.for_stage(args.command)
    dp = params.distill
    seed = int(params.seed)
    # every input is checked before TensorFlow is imported and anything is trained
    train = read_background_images(args.train)
    npix = int(train.images.shape[1])
    val = read_background_images(args.val, npix=npix, what="validation",
                                 expected_by=f"the training images {args.train} have")
    test = read_images(args.test, npix=npix, expected_by=f"the training images {args.train} have")
    read_model_meta(args.vae, "jointvae")
    reduced = None
    if args.reduced:
        reduced = Path(args.reduced) / "encoder_float.h5"
        if not reduced.is_file():
            raise DataError(f"{args.reduced}: no encoder_float.h5 (run jetad qat)")
        keras_model_config(reduced, "float reduced encoder file (jetad qat: encoder_float.h5)")
        if reduced.with_name("qencoder.h5").exists():
            check_quantized_encoder(reduced.with_name("qencoder.h5"))

    from jetad.models.determinism import setup_tf

    setup_tf(seed)

    def reseed():
        # each model starts from the seed, whatever ran before it (loading the reference
        # encoders, other levers): a lever's result does not depend on which others are on
        import tf_keras

        tf_keras.utils.set_random_seed(seed)

    from jetad.analysis.scores import write_score_file
    from jetad.fpga import design as dz
    from jetad.models import jointvae
    from jetad.quant import distill as ds

    cfg = ds.StudentConfig.from_params(dp)
    bits = cfg.layer_bits()
    idx = subsample(len(train), dp.max_train_jets, seed)
    x, xv, xt = (ds.pool_images(np.asarray(d.images[i] if i is not None else d.images,
                                           np.float32), cfg.pool)
                 for d, i in ((train, idx), (val, None), (test, None)))
    label, process = test.label.astype(int), test.process
    logger.info("pooled %d training, %d validation, %d test jets to %s", len(x), len(xv),
                len(xt), "x".join(map(str, x.shape[1:3])))

    vae = jointvae.load(args.vae)
    kl_train = ds.teacher_kl(vae, np.asarray(train.images[idx], np.float32))
    kl_val = ds.teacher_kl(vae, np.asarray(val.images, np.float32))
    kl_test = ds.teacher_kl(vae, np.asarray(test.images, np.float32))
    target = ds.Target.fit(kl_train)
    y, yv = target(kl_train), target(kl_val)
    logger.info("teacher KL total on the training jets: median %.4g (log mean %.3f, std %.3f)",
                float(np.median(kl_train)), target.mean, target.std)

    aucs: dict[str, dict] = {"teacher (JointVAE)": ds.signal_aucs(label, process, kl_test)}
    ref_scores = {"teacher (JointVAE)": kl_test}
    if reduced is not None:
        from jetad.quant.encoder import load_qmodel
        from jetad.quant.report import kl_scores

        # the qat stage's two encoders: float (the target's reference) and QKeras <16,6>
        for fname, what in ((reduced, "float reduced encoder"),
                            (reduced.with_name("qencoder.h5"), "QKeras reduced encoder")):
            if not fname.is_file():
                continue
            enc = load_qmodel(fname, what)
            outs = enc.predict(np.asarray(test.images, np.float32)[..., None], batch_size=1000,
                               verbose=0)
            red = kl_scores([np.asarray(a).reshape(len(xt), -1) for a in outs], vae.cfg.kl_eps)
            aucs[what] = ds.signal_aucs(label, process, red["kl_total"])
            ref_scores[what] = red["kl_total"]
    levers = []
    if reduced is not None and dp.no_norm_lever:
        import dataclasses

        from jetad.quant.qat import encoder_config, train_encoder

        qp = params.qat
        # jetad qat's training of its float reduced encoder, without the instance norms
        vae.decoder.trainable = False
        ecfg = dataclasses.replace(encoder_config(qp, vae, npix), norm="none")
        ix = subsample(len(train), qp.max_images, seed)
        reseed()
        enc, terms = train_encoder(ecfg, False, vae, np.asarray(train.images[ix], np.float32),
                                   qp, seed)
        loss = float(terms["loss"])
        outs = enc.predict(np.asarray(test.images, np.float32)[..., None], batch_size=1000,
                           verbose=0)
        nn = kl_scores([np.asarray(a).reshape(len(xt), -1) for a in outs], vae.cfg.kl_eps)
        name = "float reduced encoder, no norm"
        aucs[name] = ds.signal_aucs(label, process, nn["kl_total"])
        levers.append({"model": name, "lever": "no instance norm (qat's training)",
                       "loss": loss, "val_loss": None, "kernel_sparsity": None,
                       "auc": aucs[name]})
        logger.info("%-28s loss %.4g, AUC %s", name, loss,
                    ", ".join(f"{k} {v:.4f}" for k, v in aucs[name].items()))

    def record(model_name, lever, model, fit_summary, extra=None):
        score = ds.predict(model, xt)
        aucs[model_name] = ds.signal_aucs(label, process, score)
        quantized = model_name != "float student"
        hw = {}
        if quantized:  # da4ml's cost of every scan point: the frontier, not only the choice
            with tempfile.TemporaryDirectory(prefix="jetad-distill-scan-") as tmp:
                hw = ds.da4ml_figures(model, Path(tmp) / "rtl")
        levers.append({"model": model_name, "lever": lever, **fit_summary,
                       "kernel_sparsity": ds.kernel_sparsity(model) if quantized else None,
                       **hw, "auc": aucs[model_name], **(extra or {})})
        logger.info("%-24s val loss %.4f, AUC %s%s", model_name, fit_summary["val_loss"],
                    ", ".join(f"{k} {v:.4f}" for k, v in aucs[model_name].items()),
                    f"; da4ml {hw['da4ml_LUT']:.0f} LUT, {hw['latency_cycles']} cycles"
                    if hw else "")
        return score

    reseed()
    fstudent = ds.build(cfg, x.shape[1:], quantized=False)
    got = ds.fit(fstudent, x, y, xv, yv, cfg, cfg.epochs)
    float_score = record("float student", "distillation + pooling (float)", fstudent, got)
    prec = "/".join(map(str, bits)) if len(set(bits)) > 1 else str(bits[0])
    reseed()
    qstudent = ds.build(cfg, x.shape[1:], quantized=True, bits=bits)
    got = ds.fit(qstudent, x, y, xv, yv, cfg, cfg.epochs)
    record(f"QKeras student <{prec}>", "precision (QAT)", qstudent, got, {"bits": bits})
    for b in cfg.bits_scan:
        reseed()
        other = ds.build(cfg, x.shape[1:], quantized=True, bits=[int(b)] * len(bits),
                         name=f"student_{b}b")
        got = ds.fit(other, x, y, xv, yv, cfg, cfg.epochs)
        record(f"QKeras student <{b}>", "precision (QAT)", other, got, {"bits": [int(b)] * len(bits)})

    scan, pruned = [], {}
    for s in sorted(float(v) for v in cfg.sparsity_scan):
        reseed()
        model, got = ds.prune(qstudent, x, y, xv, yv, cfg, s)
        pruned[s] = model
        scan.append({"sparsity": s, **got, "kernel_sparsity": ds.kernel_sparsity(model)})
        record(f"pruned {s:g} <{prec}>", "pruning (tfmot, fine-tuned)", model, got,
               {"sparsity": s})
    chosen = ds.choose_sparsity(scan, cfg.prune_tolerance)
    student = pruned[chosen["sparsity"]]
    logger.info("chosen sparsity %g (validation loss %.4f, unpruned %.4f, tolerance %g)",
                chosen["sparsity"], chosen["val_loss"], min(scan, key=lambda r: r["sparsity"])
                ["val_loss"], cfg.prune_tolerance)
    student_score = ds.predict(student, xt)
    student_name = f"pruned {chosen['sparsity']:g} <{prec}>"

    out = Path(args.out)
    with atomic_dir(out) as tmp, tempfile.TemporaryDirectory(prefix="jetad-distill-") as build:
        flow = ds.rtl_flow(student, xt, Path(build) / "rtl",
                           synthesize=bool(dp.synthesize), logger=logger)
        shutil.copytree(Path(build) / "rtl" / "src", tmp / "verilog")
        student.save(str(tmp / "student.h5"))
        fstudent.save(str(tmp / "student_float.h5"))
        (tmp / "target.json").write_text(json.dumps(
            {"log_kl_mean": target.mean, "log_kl_std": target.std, "kl_floor": ds.KL_FLOOR,
             "pool": cfg.pool}, indent=2) + "\n")
    if flow["mismatches"]:
        logger.warning("verilator differs from QKeras on %d of %d jets", flow["mismatches"],
                       flow["n_compared"])
    rows = ds.design_rows(flow, bits, chosen["sparsity"])
    best = rows[-1]
    ref_name = "float reduced encoder" if reduced is not None else "teacher (JointVAE)"
    on = "top" if "top" in aucs[student_name] else "all"
    check = ds.target_check(best, aucs[student_name][on], aucs[ref_name][on],
                           mismatches=flow["mismatches"])
    check.update(reference=ref_name, signal=on, source=best["source"],
                 auc_drop_interval_68=ds.paired_drop_interval(
                     label, process, on, ref_scores[ref_name], student_score, seed))
    logger.info("target (every resource < 30%%, <= 200 ns, II <= 5, AUC %s within 0.02 of the "
                "%s): %s %s", on, ref_name, "MET" if check["met"] else "NOT met",
                check["checks"])

    write_score_file(
        args.scores,
        {"student": student_score, "student_rtl": flow.pop("rtl_scores"),
         "float_student": float_score, "teacher_kl_total": kl_test},
        label, test.jet_mass, {"process": process.astype(np.int8)},
        attrs={"student": student_name, "test": str(args.test), "pool": cfg.pool})
    doc = {"config": cfg.to_dict(), "n_train": int(len(x)), "n_val": int(len(xv)),
           "n_test": int(len(xt)), "pooled_shape": list(x.shape[1:3]),
           "pooling": "sum-pooled before the FPGA (not in the netlist)",
           "teacher": "JointVAE KL total (analytic), on the background training jets",
           "auc": aucs, "levers": levers, "sparsity_scan": scan,
           "chosen_sparsity": chosen["sparsity"], "student": student_name,
           "rtl": flow, "design": rows, "target": check}
    write_text(args.metrics, json.dumps(doc, indent=2) + "\n")
    logger.info("wrote %s", args.metrics)
    if args.table:
        write_text(args.table, markdown(doc))
    if args.design:
        import pandas as pd

        write_text(args.design, pd.DataFrame(rows, columns=list(dz.COLUMNS))
                   .to_csv(index=False, lineterminator="\n"))
    logger.info("wrote the student to %s and its scores to %s", out, args.scores)


def markdown(doc: dict) -> str:
    """AUC per signal of every model, then the netlist and the target check."""
    import pandas as pd

    signals = list(next(iter(doc["auc"].values())))
    rows = [{"model": m, **{s: f"{a.get(s, float('nan')):.4f}" for s in signals}}
            for m, a in doc["auc"].items()]
    r = doc["rtl"]
    t = doc["target"]
    lines = [f"# Distilled trigger student ({doc['n_test']} test jets; input "
             f"{'x'.join(map(str, doc['pooled_shape']))} sum-pooled before the FPGA)", "",
             "KL-total AUC per signal (background vs that signal; `all`: every anomaly)", "",
             pd.DataFrame(rows).to_markdown(index=False), "",
             "Levers: validation loss (MSE on the standardized log KL of background jets) and "
             "da4ml's whole-design cost (LUT estimate, pipeline stages at 5 ns)", "",
             pd.DataFrame([{
                 "model": v["model"], "lever": v["lever"],
                 "val loss": f"{v['val_loss']:.4f}" if v.get("val_loss") is not None else "",
                 "zero weights": (f"{v['kernel_sparsity']:.2f}"
                                  if v.get("kernel_sparsity") is not None else ""),
                 "da4ml LUT": f"{v['da4ml_LUT']:,.0f}" if "da4ml_LUT" in v else "",
                 "cycles": v.get("latency_cycles", "")} for v in doc["levers"]])
             .to_markdown(index=False), "",
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
