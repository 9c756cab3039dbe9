"""`jetad distill`: a trigger-grade student distilled from the JointVAE, its levers and its netlist.

Trains, on sum-pooled images of the background training jets (`jetad.trigger.levers`), a float
student and a QKeras student that regress the JointVAE's KL total, scans magnitude pruning
(tensorflow-model-optimization) on the validation jets, and takes the chosen student through
da4ml -> Verilog -> Verilator (bit for bit against QKeras on the test jets) -> yosys
(`synth_xilinx -family xcup`). Writes the students and the Verilog (`--out`), the scores of the
test jets (`--scores`), the AUC per signal of every lever next to the teacher's and the float
reduced encoder's, the scan, the netlist figures and the target check (`--metrics`, `--table`),
and the student's whole-design rows in the columns of results/fpga/design.csv (`--design`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from jetad.analysis.scores import write_score_file
from jetad.atomic import atomic_dir, write_text
from jetad.fpga.estimate import design as dz
from jetad.models.determinism import setup_tf
from jetad.trigger import levers as dl


def run(args, params) -> None:
    seed = int(params.seed)
    # every input is checked before TensorFlow is imported and anything is trained
    train, val, test, reduced = dl.check_inputs(args.train, args.val, args.test, args.vae,
                                                args.reduced)

    setup_tf(seed)
    r = dl.train_levers(train, val, test, args.vae, reduced, params, seed)
    out = Path(args.out)
    with atomic_dir(out) as tmp:
        flow = dl.export_student(r, tmp, synthesize=bool(params.distill.synthesize))
    rows, check = dl.check_target(r, flow)

    write_score_file(
        args.scores,
        {"student": r.student_score, "student_rtl": flow.pop("rtl_scores"),
         "float_student": r.float_score, "teacher_kl_total": r.kl_test},
        r.label, test.jet_mass, {"process": r.process.astype(np.int8)},
        attrs={"student": r.student_name, "test": str(args.test), "pool": r.cfg.pool})
    doc = dl.metrics(r, flow, rows, check)
    write_text(args.metrics, json.dumps(doc, indent=2) + "\n")
    dl.logger.info("wrote %s", args.metrics)
    if args.table:
        write_text(args.table, dl.markdown(doc))
    if args.design:
        write_text(args.design, pd.DataFrame(rows, columns=list(dz.COLUMNS))
                   .to_csv(index=False, lineterminator="\n"))
    dl.logger.info("wrote the student to %s and its scores to %s", out, args.scores)
