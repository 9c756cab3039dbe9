"""`jetad hls`: convert the QAT encoder with hls4ml, compile with g++ and emulate it on test jets:
whole, per layer and per block, one project directory each (`<out-dir>/<mode>/<part>`).

Every part is compared with the QKeras model it comes from (max |hls - qkeras| per output); the
whole encoder's emulated outputs also give the KL scores, whose AUC and TPR@FPR10% are reported
next to QKeras' on the same jets. With `hls.per_group` (default) grouped convs reach hls4ml as
one conv per group (`jetad.fpga.hls4ml.grouped`): same fixed-point result, no multiplications by the
zero blocks. Compiles of several parts run in parallel (`hls.processes`), g++ flags from
`hls.cflags` (hls4ml's own are "-O3 -fPIC"). The C simulation runs jetad's integer kernels for
the conv and instance-norm loops (`hls.csim: integer`, the same bits as hls4ml's ap_fixed C++,
which `hls.csim: ap_fixed` runs instead; see jetad.fpga.hls4ml.csim). The parts: jetad.fpga.hls4ml.parts; the
check against QKeras: jetad.fpga.hls4ml.verify; the report: jetad.fpga.hls4ml.emulation_report.
"""

from __future__ import annotations

import json

from jetad import atomic, log
from jetad.atomic import write_text
from jetad.data.images import read_images
from jetad.fpga.hls4ml import emulation_report, project, verify
from jetad.fpga.hls4ml import parts as split
from jetad.inputs import check_quantized_encoder
from jetad.models import reduced_encoder as encoder


def run(args, params) -> None:
    logger = log.get("jetad.hls")
    hp = params.hls
    # the encoder file (a float one included) and the test images are checked before
    # TensorFlow is imported: a bad input gives one line and no work
    input_shape = check_quantized_encoder(args.model)
    data = read_images(args.test, npix=input_shape[0],
                       expected_by=f"the encoder {args.model} expects") if args.test else None
    model = encoder.load_qmodel(args.model)
    project.check_quantized(model)
    logger.info("loaded the QKeras encoder %s (%d layers)", args.model, len(model.layers))
    x, label = verify.inputs(data, model.input_shape[1:], hp.n_images, params.seed)
    logger.info("emulating %d images%s", len(x),
                f" from {args.test} ({int(label.sum())} top)" if label is not None else
                " (random, no --test)")
    parts = split.parts(model, x, hp.parts, hp.only, hp.part_images)
    logger.info("%d hls4ml projects: %s", len(parts), ", ".join(f"{p.mode}/{p.name}" for p in parts))
    # built in place: hls4ml's files name their project folder, so a renamed temporary
    # would leave its random name in the outputs' bytes
    atomic.claim(args.out_dir)
    rows, whole = verify.verify(parts, args.out_dir, hp, logger)

    report = emulation_report.report(args.model, args.test, len(x), hp, rows)
    if whole is not None and label is not None:
        report["kl"] = emulation_report.kl(label, whole, params.train.kl_eps)
        for k, v in report["kl"].items():
            logger.info("KL total AUC (%s): %.4f", k, v["kl_total"]["auc"])
    write_text(args.report, json.dumps(report, indent=2) + "\n")
    logger.info("wrote the report of %d parts to %s (max |hls - qkeras| %s)", len(rows),
                args.report, report["max_abs_diff"])
    print(f"max |hls - qkeras| over {len(rows)} parts: {report['max_abs_diff']}")
    if args.table:
        write_text(args.table, emulation_report.markdown(report))
