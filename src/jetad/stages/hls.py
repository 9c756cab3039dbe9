"""`jetad hls`: convert the QAT encoder with hls4ml, compile with g++ and emulate it on test jets:
whole, per layer and per block, one project directory each (`<out-dir>/<mode>/<part>`).

Every part is compared with the QKeras model it comes from (max |hls - qkeras| per output); the
whole encoder's emulated outputs also give the KL scores, whose AUC and TPR@FPR10% are reported
next to QKeras' on the same jets. With `hls.per_group` (default) grouped convs reach hls4ml as
one conv per group (`jetad.fpga.grouped`): same fixed-point result, no multiplications by the
zero blocks. Compiles of several parts run in parallel (`hls.processes`), g++ flags from
`hls.cflags` (hls4ml's own are "-O3 -fPIC"). The C simulation runs jetad's integer kernels for
the conv and instance-norm loops (`hls.csim: integer`, the same bits as hls4ml's ap_fixed C++,
which `hls.csim: ap_fixed` runs instead; see jetad.fpga.csim).
"""

from __future__ import annotations

TARGET_IMAGES = 50_000  # the thesis' C simulation: ~50,000 test images in 31 h 53 min
RANDOM_IMAGES = 200  # without --test and hls.n_images null


def _images(args, params, input_shape, n, data=None):
    """(x (n, h, w, 1), labels or None): a seeded random subset of the test jets `data` (both
    classes; n None: every test jet), or random images without them."""
    import numpy as np

    rng = np.random.default_rng(params.seed)
    if data is None:
        x = rng.random((n or RANDOM_IMAGES, *input_shape), dtype=np.float32)
        return x / x.sum(axis=(1, 2, 3), keepdims=True), None
    idx = np.sort(rng.permutation(len(data.images))[:n]) if n else np.arange(len(data.images))
    return np.asarray(data.images[idx], np.float32)[..., None], data.label[idx].astype(int)


def run(args, params) -> None:
    import json
    import time
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    import numpy as np

    from jetad import log
    from jetad.atomic import write_text
    from jetad.errors import JetadError
    from jetad.fpga import emulate, grouped, project, split
    from jetad.fpga.build import build_library, default_processes
    from jetad.inputs import check_quantized_encoder
    from jetad.quant import encoder
    from jetad.quant import report as rq

    logger = log.get("jetad.hls")
    params = params.for_stage(args.command)
    hp = params.hls
    settings = project.HLSSettings.from_params(hp)
    # the encoder file (a float one included) and the test images are checked before
    # TensorFlow is imported: a bad input gives one line and no work
    input_shape = check_quantized_encoder(args.model)
    data = None
    if args.test:
        from jetad.data.images import read_images

        data = read_images(args.test, npix=input_shape[0],
                           expected_by=f"the encoder {args.model} expects")
    model = encoder.load_qmodel(args.model)
    project.check_quantized(model)
    logger.info("loaded the QKeras encoder %s (%d layers)", args.model, len(model.layers))
    x, label = _images(args, params, model.input_shape[1:], hp.n_images, data)
    logger.info("emulating %d images%s", len(x),
                f" from {args.test} ({int(label.sum())} top)" if label is not None else
                " (random, no --test)")
    out = Path(args.out_dir)
    procs = hp.processes or default_processes()
    only = set(hp.only or [])
    csim_mode = hp.csim
    per_group = hp.per_group

    # 1. the parts: (mode, name, QKeras model, its input)
    parts = []
    for mode in hp.parts:
        if mode == "whole":
            parts.append((mode, "encoder", model, x))
            continue
        for name, sub in split.split(model, mode).items():
            if only and name not in only:
                continue
            # layers and blocks are checked against QKeras on the first part_images images
            # only: the whole encoder already carries every test image through all of them
            xs = x[: hp.part_images or len(x)]
            feed = emulate.keras_outputs(_prefix(model, sub), xs)[0]
            parts.append((mode, name, sub, feed.reshape(len(xs), *sub.input_shape[1:])))
    if only:
        unknown = only - {p[1] for p in parts}
        if unknown:
            raise JetadError(f"hls.only names unknown parts {sorted(unknown)}; parts are "
                             f"{sorted({p[1] for p in parts})}")
    logger.info("%d hls4ml projects: %s", len(parts), ", ".join(f"{m}/{n}" for m, n, *_ in parts))

    # 2. convert and write each project (hls4ml is not thread-safe), then compile in parallel
    t0 = time.time()
    projects = []
    for mode, name, sub, _feed in parts:
        export = grouped.per_group(sub) if per_group else sub
        pdir = out / mode / name
        hm = project.convert(export, pdir, settings, name)
        project.write_project(hm, hp.cflags, hp.cxx, csim_mode)
        projects.append(hm)
    t1 = time.time()
    logger.info("wrote %d projects under %s in %.0f s; compiling with %d parallel g++",
                len(projects), out, t1 - t0, procs)

    def build(hm):
        s = time.time()
        lib = build_library(hm)
        return lib, time.time() - s

    with ThreadPoolExecutor(max_workers=procs) as pool:
        built = list(pool.map(build, projects))
    logger.info("compiled %d projects in %.0f s", len(projects), time.time() - t1)

    # 3. emulate and compare with QKeras
    rows, whole = [], None
    for (mode, name, sub, feed), hm, (lib, secs) in zip(parts, projects, built, strict=True):
        comp = emulate.Compiled.of(hm, lib)
        s = time.time()
        got = emulate.emulate(comp, feed, processes=procs, batch=hp.batch)
        dt = time.time() - s
        ref = emulate.keras_outputs(sub, feed)
        per_out = [float(np.max(np.abs(a - b))) if a.size else 0.0
                   for a, b in zip(got, ref, strict=True)]
        equal = float(np.mean(np.concatenate([(a == b).ravel() for a, b in zip(got, ref,
                                                                                strict=True)])))
        if not all(np.isfinite(g).all() for g in got):
            raise JetadError(f"{hm.config.get_output_dir()}: the emulation gave NaN or inf")
        rate = len(feed) / dt if dt > 0 else float("inf")
        row = {"mode": mode, "part": name, "project_dir": str(hm.config.get_output_dir()),
               "n": len(feed), "max_abs_diff": max(per_out), "max_abs_diff_per_output": per_out,
               "bit_exact": max(per_out) == 0.0, "fraction_equal": round(equal, 6),
               "per_group": per_group,
               # hls4ml has no instance norm: jetad's extension layer computes it in fixed point
               # where QKeras keeps a float GroupNormalization, so these parts may differ
               "extension_layers": [lyr.name for lyr in sub.layers
                                    if lyr.__class__.__name__ == "GroupNormalization"]}
        rows.append(row)
        # timings go to the log only: the report must be the same bytes on every rerun
        logger.info("%s/%s: max |hls - qkeras| = %g on %d inputs (compile %.0f s, %.1f images/s, "
                    "%.0f s per %d)", mode, name, row["max_abs_diff"], len(feed), secs, rate,
                    TARGET_IMAGES / rate, TARGET_IMAGES)
        # the library embeds the project's absolute path (hls4ml's WEIGHTS_DIR), so it would make
        # results/hls differ between checkouts; build_lib.sh in the project rebuilds it
        Path(lib).unlink()
        if mode == "whole":
            whole = (got, ref)

    report = {"model": str(args.model), "test": args.test, "n_images": len(x),
              "settings": {**settings.__dict__, "per_group": per_group,
                           "cflags": hp.cflags, "cxx": hp.cxx or "g++",
                           "csim": csim_mode},
              "parts": rows, "max_abs_diff": max((r["max_abs_diff"] for r in rows), default=None)}
    if whole is not None and label is not None:
        eps = params.train.kl_eps
        report["kl"] = {
            "qkeras": rq.kl_metrics(label, rq.kl_scores(whole[1], eps)),
            "hls_emulation": rq.kl_metrics(label, rq.kl_scores(whole[0], eps)),
        }
        for k, v in report["kl"].items():
            logger.info("KL total AUC (%s): %.4f", k, v["kl_total"]["auc"])
    write_text(args.report, json.dumps(report, indent=2) + "\n")
    logger.info("wrote the report of %d parts to %s (max |hls - qkeras| %s)", len(rows),
                args.report, report["max_abs_diff"])
    print(f"max |hls - qkeras| over {len(rows)} parts: {report['max_abs_diff']}")
    if args.table:
        write_text(args.table, markdown(report))


def markdown(report: dict) -> str:
    from jetad import tables

    lines = ["# hls4ml emulation of the quantized encoder", "",
             f"{report['n_images']} images; settings: "
             + ", ".join(f"{k}={v}" for k, v in report["settings"].items()
                         if k != "norm_precision"), "",
             "Parts marked `norm` hold jetad's instance-norm extension layer (fixed point in "
             "hls4ml, float GroupNormalization in QKeras): they may differ by a step of the "
             "following quantized activation; every other part is expected to be bit-exact.", "",
             "Emulation rates are in the stage's log (logs/hls.log); `python bench/emulate.py` "
             "measures them against hls4ml's own C++.", "",
             tables.markdown([(r["mode"], r["part"] + (" (norm)" if r.get("extension_layers")
                                                        else ""),
                               r["n"], f"{r['max_abs_diff']:.3g}",
                               f"{100 * r['fraction_equal']:.2f}%") for r in report["parts"]],
                             ("mode", "part", "inputs", "max abs diff vs QKeras",
                              "outputs equal"))]
    if "kl" in report:
        from jetad.quant.report import metrics_markdown

        lines += ["", metrics_markdown(report["kl"], "KL scores: emulation vs QKeras")]
    return "\n".join(lines) + "\n"


def _prefix(model, sub):
    """The part of `model` that produces `sub`'s input (so each part sees realistic data)."""
    import tf_keras

    first = sub.layers[2].name  # [Input, input_quant, first real layer, ...]
    if first == "flatten":
        src = model.get_layer("flatten").input
    else:
        src = model.get_layer(first).input
    return tf_keras.Model(model.input, src)
