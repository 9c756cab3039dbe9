"""Every `jetad` command, declared once. A pipeline stage's entry gives its arguments, inputs,
outputs, what it reads of params.yaml (sections, or keys of a section), threads and
resources; from it come `jetad <stage>`'s argparse (jetad.cli), what jetad.params lets it
read, the Snakemake rules (workflow/rules/stages.smk; scan.smk and dse.smk for the two scans
below) and dvc.yaml (workflow/dse/dvc.yaml for the design-space scan), all written by

    python -m jetad.pipeline --write

Adding a stage: a module with run(args, params), one Stage below, then that command.
The order here is the order of `jetad --help` and of the generated files.
"""

from __future__ import annotations

import shutil
from dataclasses import replace

from jetad.data.processes import PROCESSES
from jetad.errors import UndeclaredSection
from jetad.pipeline import values
from jetad.pipeline.spec import (
    ALL_SECTIONS,
    METRICS,
    PLOTS,
    Action,
    Arg,
    Command,
    FromParams,
    Out,
    Report,
    Stage,
    Wildcard,
    action_stage,
)

MEM = 8000  # MB: the training and image stages hold the image files in memory
# the one key of `data` the stages after jets read: the data caveat on their figures
SOURCE = "data.source"


def _keys(section: str, *keys: str) -> tuple[str, ...]:
    """Keys of a section declared one by one: the stage reads these only (see Stage)."""
    return tuple(f"{section}.{k}" for k in keys)


def _fpga(path: str, caption: str) -> Out:
    return Out(path, report=Report(f"../report/{caption}.rst", "FPGA"))


def _figures(path: str) -> Out:
    return Out(path, directory=True,
               report=Report("../report/figures.rst", "Figures", patterns=("{name}.pdf",)))


# arguments shared by the actions of `jetad dse`
_DSE_PRECISION = Arg("--precision", required=True, help="p<width>_<integer>, e.g. p8_3")
_DSE_MODEL = Arg("--model", required=True, help="QKeras encoder of jetad dse qat")


COMMANDS: tuple[Command, ...] = (
    Command(
        "preset", "jetad.stages.preset",
        "rewrite params.yaml from a preset (quick, default, thesis, jetnet)",
        args=(Arg("name", help="preset name: a file workflow/presets/<name>.yaml"),),
        needs_params=False,
    ),
    Command(
        "check-params", "jetad.stages.check_params",
        "validate params.yaml against the schema; exit non-zero naming every bad key",
    ),
    Command(
        "params", "jetad.stages.params",
        "list the keys of params.yaml with their types, defaults and descriptions",
        args=(Arg("--explain", nargs="*", help="list every key (names given: those keys and the "
                  "keys under them)"),),
        needs_params=False,
    ),
    Stage(
        "generate", "jetad.stages.generate",
        "generate one seeded chunk of QCD (or gluon, quark), top, W or Z jets with Pythia8 + "
        "FastJet",
        args=(
            # checked in run() rather than by argparse choices, for the one-line error
            Arg("--process", required=True, help="one of " + ", ".join(PROCESSES)),
            # the wildcard, not the output of the same name
            Arg("--chunk", type=int, required=True, help="chunk id (seeds the chunk)",
                value="{wildcards.chunk}"),
            Arg("--out", required=True, help="output HDF5 file", value="{output.chunk}"),
            Arg("--n-jets", type=int, help="override jets_per_chunk"),
        ),
        outputs={"chunk": "data/chunks/{process}_{chunk}.h5"},
        log="logs/generate/{process}_{chunk}.log",
        # not chunks and signals, which choose the jobs: a new chunk leaves the others be
        params=("seed", *_keys("generate", "jets_per_chunk", "ecm", "pthat_min", "pthat_max",
                               "jet_r", "jet_pt_min", "jet_pt_max", "jet_abs_eta_max",
                               "match_dr", "layout")),
        wildcards={
            # qcd and generate.signals (DVC: as params.yaml has them when dvc.yaml is written)
            "process": Wildcard("|".join(PROCESSES), FromParams(values.generated_processes)),
            "chunk": Wildcard(r"\d+", "${generate.chunks}"),
        },
        threads=1,
        resources={"mem_mb": 2000, "runtime": 120},
    ),
    Stage(
        "download", "jetad.stages.download",
        "download the top-tagging HDF5 files (checksummed, resumable)",
        args=(
            Arg("--name", required=True, help="file of the record, e.g. val.h5"),
            Arg("--out", required=True, help="where to put it", value="{output.file}"),
        ),
        outputs={"file": "data/download/{name}"},
        log="logs/download/{name}.log",
        # not files, which chooses the jobs
        params=_keys("download", "record", "url", "api", "md5", "timeout"),
        wildcards={"name": Wildcard()},
        resources={"mem_mb": 1000, "runtime": 240},
        # DVC runs the offline source (data.source: generate) only
        engines=("snakemake",),
    ),
    Stage(
        "jets", "jetad.stages.jets",
        "merge generated chunks / downloaded or user files into one file per process",
        args=(
            Arg("--source", choices=("generate", "download", "file", "jetnet"), required=True,
                value=FromParams(values.source)),
            Arg("--in", dest="input", required=True,
                help="folder of generated chunks, downloaded files or JetNet files "
                     "(<class>.hdf5), or the own file",
                value=FromParams(values.jets_in)),
            Arg("--out-dir", required=True,
                help="folder of the outputs, one <process>.h5 per process (source generate: "
                     "generate.backgrounds and generate.signals; jetnet: the processes of "
                     "data.jetnet_classes; else qcd and top)",
                value="data/jets"),
        ),
        # DVC: the folder, whose files are the generate stages' outs
        inputs={"sources": FromParams(values.jets_source_files, dvc=["data/chunks"])},
        outputs={"jets": FromParams(values.jet_files)},
        # data.source, data.file and data.jetnet_dir come as --source and --in
        params=(*_keys("generate", "chunks", "backgrounds", "signals", "layout"),
                "download.files", "data.jetnet_classes", "data.chunk"),
        resources={"mem_mb": MEM, "runtime": 60},
    ),
    Stage(
        "pixelize", "jetad.stages.pixelize",
        "turn jet constituents into centred, rotated, flipped, normalized jet images",
        args=(
            # not required: --gather writes the file from parts instead
            Arg("--in", dest="inputs", nargs="+",
                help="files in the top-tagging layout, each [PROCESS=]PATH: the jets' process "
                     "is PROCESS, else the file's name when it is one of qcd, top, w, z, gluon, "
                     "quark (data/jets/w.h5), else is_signal_new (0 QCD, 1 top)",
                value="{input.jets}"),
            Arg("--out", required=True, help="output image file (HDF5)",
                value="{output.images}"),
            Arg("--threads", type=int,
                help="threads (default: all cores available to this process)",
                value="{threads}"),
            Arg("--part", type=int, help="with --parts: part PART (0 to PARTS - 1) of the "
                "jets' rows only (the inputs one after another), for --gather"),
            Arg("--parts", type=int, help="the number of parts (pixelize.parts)"),
            Arg("--gather", nargs="+", help="the part files written with --part, in order: "
                "write --out from them, the bytes one job writes (no --in)"),
        ),
        inputs={"jets": FromParams(values.jet_files)},
        outputs={"images": "data/images/images.h5"},
        params=("pixelize",),
        threads=2,
        resources={"mem_mb": MEM, "runtime": 60},
        # else the part jobs and their gather (_pixelize_parts)
        when=values.pixelize_whole,
    ),
    Stage(
        "split", "jetad.stages.split",
        "split jet images: the background into train/val/test, every other class into test",
        args=(
            Arg("--in", dest="input", required=True, help="image file from pixelize",
                value="{input.images}"),
            Arg("--train", required=True),
            Arg("--val", required=True),
            Arg("--test", required=True),
        ),
        inputs={"images": "data/images/images.h5"},
        outputs={"train": "data/split/train.h5", "val": "data/split/val.h5",
                 "test": "data/split/test.h5"},
        params=("seed", "split", "data.chunk"),
        resources={"mem_mb": MEM, "runtime": 30},
    ),
    Stage(
        "train", "jetad.stages.train",
        "train the JointVAE on QCD jet images (checkpoints every epoch; resumes when killed)",
        args=(
            Arg("--train", required=True, help="QCD training images (jetad split)"),
            Arg("--val", required=True, help="QCD validation images"),
            Arg("--model", required=True, help="output model directory"),
            Arg("--metrics", required=True, help="output JSON: final/best-epoch metrics"),
            Arg("--history", help="output CSV, one row per epoch (default: metrics path with .csv)"),
            Arg("--plot", help="output PDF of the training curves"),
            # not an output: kept between runs so that a killed training resumes
            Arg("--checkpoint-dir", help="per-epoch checkpoints (default: <model>.ckpt)",
                value="data/checkpoints/jointvae"),
        ),
        inputs={"train": "data/split/train.h5", "val": "data/split/val.h5"},
        outputs={
            "model": Out("results/model/jointvae", directory=True),
            "metrics": Out("results/training_metrics.json", dvc=METRICS, cache=False),
            "history": Out("results/training_history.csv", dvc=PLOTS, cache=False, x="epoch"),
            "plot": Out("results/training.pdf",
                        report=Report("../report/training.rst", "Training")),
        },
        params=("seed", SOURCE, "train"),
        threads=2,
        # the thesis preset is a day of CPU: ask the cluster for a GPU there
        resources={"mem_mb": MEM, "runtime": 600, "gpu": FromParams(values.gpu)},
    ),
    Stage(
        "score", "jetad.stages.score",
        "score test jets with a trained JointVAE: 9 anomaly scores per jet, with label and mass",
        args=(
            Arg("--model", required=True, help="model directory from `jetad train`"),
            Arg("--test", required=True, help="test images (background and anomalies)"),
            Arg("--val", required=True,
                help="validation images (background only): the latent density is fitted to them"),
            Arg("--out", required=True, help="output score file (HDF5)",
                value="{output.scores}"),
            Arg("--figures", help="directory for reconstruction, interpolation and weight figures"),
        ),
        inputs={"model": "results/model/jointvae", "test": "data/split/test.h5",
                 "val": "data/split/val.h5"},
        outputs={"scores": "results/scores.h5",
                 "figures": _figures("results/figures/score")},
        params=("seed", SOURCE, "score", "data.chunk"),
        threads=2,
        resources={"mem_mb": MEM, "runtime": 120},
    ),
    Stage(
        "evaluate", "jetad.stages.evaluate",
        "ROC curves, AUC, TPR at fixed FPR and 1/eps_B at eps_S=0.3 for all scores and "
        "baselines",
        args=(
            Arg("--scores", required=True, help="JointVAE score file (jetad score)"),
            Arg("--baseline-scores", help="conv-autoencoder score file (jetad baseline)"),
            Arg("--roc", required=True, help="output PDF of the ROC curves"),
            Arg("--metrics", required=True, help="output metrics JSON"),
            Arg("--figures", help="directory for score distributions and the latent PCA"),
            Arg("--supervised-scores",
                help="supervised classifier score file (jetad supervised): the ceiling"),
            Arg("--nae-scores", help="normalized-autoencoder score file (jetad nae)"),
            Arg("--summary", help="output markdown table: signal x score, AUC and 1/eps_B"),
            Arg("--summary-csv", help="the same table as CSV"),
            Arg("--headline", help="output JSON: the declared score (evaluate.headline) per "
                "signal, its worst case, jet-mass windows, mass sculpting, trigger view"),
            Arg("--mass-windows", help="output CSV: the declared score's AUC per jet-mass "
                "window and signal"),
            Arg("--trigger", help="output CSV: the declared score's thresholds at fixed "
                "background acceptance and each signal's efficiency there"),
        ),
        inputs={"scores": "results/scores.h5", "baseline_scores": "results/baseline_scores.h5",
                "supervised_scores": "results/supervised_scores.h5"},
        outputs={
            "roc": Out("results/roc.pdf", report=Report("../report/roc.rst", "Evaluation")),
            "metrics": Out("results/metrics.json", dvc=METRICS, cache=False),
            "figures": _figures("results/figures/evaluate"),
            "summary": Out("results/summary.md",
                           report=Report("../report/summary.rst", "Evaluation")),
            "summary_csv": "results/summary.csv",
            "headline": Out("results/headline.json", dvc=METRICS, cache=False),
            "mass_windows": "results/mass_windows.csv",
            "trigger": "results/trigger_view.csv",
        },
        params=("seed", SOURCE, "evaluate"),
        resources={"mem_mb": 4000, "runtime": 30},
    ),
    # its pipeline stages are SCAN_STAGES below, Snakemake's only
    Command(
        "scan", "jetad.stages.scan",
        "beta / capacity scan and seed repeats: write a run's params, gather the runs' tables",
        actions=(
            Action("params", "write the parameter file of one run", args=(
                Arg("--group", required=True, choices=("scan", "seeds", "inverse"),
                    help="scan: a point of scan.points; seeds: a seed of scan.seeds; "
                         "inverse: the inverse task, trained on the background --run"),
                Arg("--run", required=True, help="the point's name, the seed or the inverse "
                    "task's background (top)"),
                Arg("--out", required=True, help="output parameter file (YAML)",
                    value="{output.params}"))),
            *(Action(name, f"gather run folders into {what}", args=(
                Arg("--runs", nargs="+", required=True,
                    help="run folders, each with params.yaml, training_metrics.json and "
                         "metrics.json", value=FromParams(runs)),
                Arg("--csv", required=True, help="output CSV"),
                Arg("--md", required=True, help="output Markdown table"),
                *((Arg("--json", required=True, help="output JSON: mean and std per column, "
                       "and the seed ensemble's figures of merit"),
                   Arg("--ensemble", required=True,
                       help="output HDF5: the seed ensemble's score per test jet (each run "
                            "folder's scores.h5 read)"))
                  if name == "seeds" else ())))
              for name, what, runs in (("table", "the scan table", values.scan_runs),
                                       ("seeds", "the spread over seeds", values.seed_runs))),
            Action("inverse", "gather the inverse task beside the main run, with the worst "
                   "case over both", args=(
                       Arg("--main", required=True, help="the main run's metrics.json"),
                       Arg("--runs", nargs="+", required=True,
                           help="inverse run folders, each with params.yaml, "
                                "training_metrics.json and metrics.json",
                           value=FromParams(values.inverse_runs)),
                       Arg("--csv", required=True, help="output CSV"),
                       Arg("--md", required=True, help="output Markdown table"))),
        ),
    ),
    # the FPGA design-space scan: its pipeline stages are DSE_STAGES below, one per action
    Command(
        "dse", "jetad.stages.dse",
        "FPGA design-space scan: per-precision QAT and emulation, one point per "
        "configuration, the table and Pareto figure",
        actions=(
            Action("qat", "QAT of the reduced encoder at one precision", args=(
                _DSE_PRECISION,
                Arg("--train", required=True, help="background training images (jetad split)"),
                Arg("--vae", required=True, help="trained JointVAE model directory (decoder)"),
                Arg("--out", required=True, help="output QKeras encoder (.h5)",
                    value="{output.model}"))),
            Action("emulate", "bit-exact emulation of the whole encoder on test jets", args=(
                _DSE_PRECISION,
                _DSE_MODEL,
                Arg("--test", required=True, help="test images (jetad split)"),
                Arg("--out", required=True, help="output JSON: KL AUC per signal",
                    value="{output.emulation}"))),
            Action("point", "hls4ml project and analytic whole-design row of one point",
                   args=(
                _DSE_PRECISION,
                Arg("--io-type", required=True, help="io_parallel or io_stream"),
                Arg("--strategy", required=True, help="Latency or Resource"),
                Arg("--reuse-factor", type=int, required=True, help="hls4ml reuse factor",
                    value="{wildcards.reuse}"),
                _DSE_MODEL,
                Arg("--emulation", required=True, help="its jetad dse emulate JSON"),
                Arg("--project-dir", required=True, help="output hls4ml project directory",
                    value="{output.project}"),
                Arg("--out", required=True, help="output JSON: the point's row",
                    value="{output.point}"))),
            Action("table", "gather the points: CSV, Markdown and Pareto figure", args=(
                Arg("--points", nargs="+", required=True,
                    help="point JSON files: the `dse:` grid of params.yaml, each once"),
                Arg("--csv", required=True, help="output CSV"),
                Arg("--md", required=True, help="output Markdown table"),
                Arg("--figure", required=True, help="output PDF: AUC against LUT % and "
                                                    "latency, the Pareto front marked"))),
        ),
    ),
    Stage(
        "baseline", "jetad.stages.baseline",
        "train a plain conv autoencoder on QCD and score the test jets with its MSE (baseline)",
        args=(
            Arg("--train", required=True, help="QCD training images"),
            Arg("--val", required=True, help="QCD validation images"),
            Arg("--test", required=True, help="test images (QCD and top)"),
            Arg("--out", required=True, help="output score file (HDF5, score 'mse')",
                value="{output.scores}"),
            Arg("--model", help="also save the autoencoder here (dir)"),
        ),
        inputs={"train": "data/split/train.h5", "val": "data/split/val.h5",
                "test": "data/split/test.h5"},
        outputs={"scores": "results/baseline_scores.h5"},
        params=("seed", "baseline", "data.chunk"),
        threads=2,
        resources={"mem_mb": MEM, "runtime": 240},
    ),
    # A method beside `all`, not in it (and not in dvc.yaml, whose `dvc repro` is `all`): it
    # trains for minutes on top of what `all` built. `snakemake --cores 2 nae_evaluate`.
    Stage(
        "nae", "jetad.stages.nae",
        "normalized autoencoder: the conv AE pre-trained on the background jets, then trained "
        "by maximum likelihood with Langevin negative samples; scores the test jets with its "
        "energy",
        args=(
            Arg("--train", required=True, help="QCD training images"),
            Arg("--val", required=True, help="QCD validation images"),
            Arg("--test", required=True, help="test images (QCD and anomalies)"),
            Arg("--out", required=True,
                help="output score file (HDF5, scores 'energy' and 'ae_mse')",
                value="{output.scores}"),
            Arg("--history", help="output CSV, one row per epoch of the NAE training"),
            Arg("--model", help="also save the NAE's autoencoder here (dir)"),
        ),
        inputs={"train": "data/split/train.h5", "val": "data/split/val.h5",
                "test": "data/split/test.h5"},
        outputs={"scores": "results/nae/scores.h5", "history": "results/nae/history.csv"},
        params=("seed", "baseline", "nae"),
        threads=2,
        resources={"mem_mb": MEM, "runtime": 240},
        engines=("snakemake",),
    ),
    Stage(
        "supervised", "jetad.stages.supervised",
        "supervised ceiling (not anomaly detection): a CNN trained with labels, cross-fitted "
        "over the test jets",
        args=(
            Arg("--train", required=True, help="background training images (jetad split)"),
            Arg("--test", required=True, help="test images (background and anomalies)"),
            Arg("--out", required=True,
                help="output score file (HDF5: 'classifier' and one 'classifier_<signal>' "
                     "per signal, log-likelihood ratios)",
                value="{output.scores}"),
        ),
        inputs={"train": "data/split/train.h5", "test": "data/split/test.h5"},
        outputs={"scores": "results/supervised_scores.h5"},
        params=("seed", "supervised"),
        threads=2,
        resources={"mem_mb": MEM, "runtime": 120},
    ),
    Stage(
        "sparse", "jetad.stages.sparse",
        "the sparse particle autoencoder (McDermott et al.): one-shot architecture "
        "search, then iterative magnitude pruning with rewinding, on the JetNet arrays of the "
        "background jets; scores the test jets",
        args=(
            Arg("--in", dest="inputs", nargs="+", required=True,
                help="jet files with JetNet arrays (group jetnet), each [PROCESS=]PATH, in "
                     "pixelize's order, so that the split is the image split's",
                value="{input.jets}"),
            Arg("--conv-ae", help="score file of jetad baseline (the conv AE) on the images "
                                  "of the same jets: its row in the summary"),
            Arg("--out", required=True, help="output score file (HDF5, score 'mse')",
                value="{output.scores}"),
            Arg("--model", required=True, help="output model directory"),
            Arg("--metrics", required=True,
                help="output JSON: search table, pruning rounds, non-zero parameters, AUC "
                     "per signal (for information only)"),
            Arg("--rtl", required=True,
                help="output directory: the QAT network's da4ml Verilog and Verilator build"),
            Arg("--fpga", required=True,
                help="output CSV: the netlist's rows in results/fpga/design.csv's columns"),
            Arg("--summary", required=True,
                help="output markdown: AUC per signal with 68%% intervals of the sparse, dense "
                     "and QAT networks and the baselines, non-zero parameters, LUT/FF/latency"),
        ),
        inputs={"jets": FromParams(values.jet_files), "conv_ae": "results/baseline_scores.h5"},
        outputs={"scores": "results/sparse_scores.h5",
                 "model": Out("results/model/sparse", directory=True),
                 "metrics": Out("results/sparse_metrics.json", dvc=METRICS, cache=False),
                 "rtl": Out("results/sparse/rtl", directory=True),
                 "fpga": Out("results/sparse/fpga.csv", dvc=METRICS, cache=False),
                 "summary": Out("results/sparse/summary.md", cache=False)},
        params=("seed", "split", "sparse"),
        threads=2,
        resources={"mem_mb": MEM, "runtime": 240},
        # only jets that came in the JetNet layout keep the particle arrays: both engines
        # have the stage where they do (dvc.yaml as params.yaml has it when written)
        when=values.particle_level,
    ),
    Stage(
        "qat", "jetad.stages.qat",
        "quantization-aware training of the reduced encoder with the trained float decoder",
        args=(
            Arg("--train", required=True, help="QCD training images (jetad split)"),
            Arg("--vae", required=True, help="trained JointVAE model directory (decoder)"),
            Arg("--test", required=True, help="test images (QCD and top)"),
            Arg("--scores", help="large JointVAE score file (jetad score) for the comparison"),
            Arg("--out", required=True, help="output directory for the encoders",
                value="{output.model}"),
            Arg("--metrics", required=True, help="output JSON: losses, KL AUC, TPR"),
            Arg("--table", help="output markdown table of the metrics"),
            Arg("--roc", help="output PDF of the KL ROC curves"),
            Arg("--energy", help="output CSV of the QTools energy"),
            Arg("--energy-table", help="output markdown energy table"),
            Arg("--weights-figure",
                help="output PDF: weight histograms and per-layer whiskers of the large, "
                     "float reduced and quantized encoders",
                value="{output.weights}"),
        ),
        inputs={"train": "data/split/train.h5", "test": "data/split/test.h5",
                "vae": "results/model/jointvae", "scores": "results/scores.h5"},
        outputs={
            "model": Out("results/quantized/model", directory=True),
            "metrics": Out("results/quantized/metrics.json", dvc=METRICS, cache=False),
            "table": _fpga("results/quantized/metrics.md", "quantized"),
            "roc": _fpga("results/quantized/roc.pdf", "quantized_roc"),
            "energy": "results/quantized/energy.csv",
            "energy_table": _fpga("results/quantized/energy.md", "energy"),
            "weights": Out("results/quantized/weights.pdf",
                           report=Report("../report/figures.rst", "Figures")),
        },
        params=("seed", SOURCE, "qat"),
        threads=2,
        resources={"mem_mb": MEM, "runtime": 240},
    ),
    Stage(
        "distill", "jetad.stages.distill",
        "distil the JointVAE's KL score into a small pruned QKeras student and build its "
        "netlist",
        args=(
            Arg("--train", required=True, help="background training images (jetad split)"),
            Arg("--val", required=True, help="background validation images"),
            Arg("--test", required=True, help="test images (background and signals)"),
            Arg("--vae", required=True, help="trained JointVAE model directory (teacher)"),
            Arg("--reduced",
                help="jetad qat output directory: its float reduced encoder is the reference of the target"),
            Arg("--out", required=True, help="output directory: students and Verilog",
                value="{output.model}"),
            Arg("--scores", required=True, help="output HDF5: scores of the test jets"),
            Arg("--metrics", required=True, help="output JSON: AUC per lever and signal"),
            Arg("--table", help="output markdown table"),
            Arg("--design", help="output CSV: the student's whole-design rows (design.csv columns)"),
        ),
        inputs={"train": "data/split/train.h5", "val": "data/split/val.h5",
                "test": "data/split/test.h5", "vae": "results/model/jointvae",
                "reduced": "results/quantized/model"},
        outputs={
            "model": Out("results/trigger/student", directory=True),
            "scores": "results/trigger/scores.h5",
            "metrics": Out("results/trigger/metrics.json", dvc=METRICS, cache=False),
            "table": _fpga("results/trigger/metrics.md", "trigger"),
            "design": "results/trigger/design.csv",
        },
        params=("seed", "qat", "distill"),
        tools=values.distill_tools,
        threads=2,
        resources={"mem_mb": MEM, "runtime": 120},
    ),
    Stage(
        "hls", "jetad.stages.hls",
        "hls4ml conversion + g++ emulation of the quantized encoder (whole, per layer, "
        "per block)",
        args=(
            Arg("--model", required=True, help="QKeras encoder (jetad qat: qencoder.h5)",
                value="{input.model}/qencoder.h5"),
            Arg("--test", help="test images to emulate (default: random images, no KL AUC)"),
            Arg("--out-dir", required=True, help="hls4ml project directories go here",
                value="{output.projects}"),
            Arg("--report", required=True,
                help="output JSON: per part max diff and timings, KL AUC hls vs qkeras"),
            Arg("--table", help="output markdown table of the report"),
        ),
        inputs={"model": "results/quantized/model", "test": "data/split/test.h5"},
        outputs={
            "projects": Out("results/hls", directory=True),
            "report": Out("results/fpga/emulation.json", dvc=METRICS, cache=False),
            "table": _fpga("results/fpga/emulation.md", "emulation"),
        },
        # the JointVAE's KL epsilon, for the KL scores of the emulated encoder
        params=("seed", "train.kl_eps", "hls"),
        tools=values.hls_tools,
        threads=2,
        resources={"mem_mb": MEM, "runtime": 240},
    ),
    Stage(
        "synth", "jetad.stages.synth",
        "HLS C synthesis of one hls4ml layer project (needs vivado_hls or vitis-run on PATH)",
        args=(
            Arg("--project", required=True, help="hls4ml project directory written by jetad hls",
                value="{input.projects}/{wildcards.mode}/{wildcards.part}"),
            Arg("--out", required=True,
                help="output directory: the synthesized copy with its reports",
                value="{output.project}"),
            Arg("--logic-synthesis", choices=("on", "off"), default="off",
                help="on: Vivado's logic synthesis follows (resources.logic_synthesis)",
                value=FromParams(values.logic_synthesis)),
        ),
        inputs={"projects": "results/hls"},
        outputs={"project": Out("results/synth/{mode}/{part}", directory=True)},
        log="logs/synth/{mode}/{part}.log",
        snakemake_params={"logic_synthesis": FromParams(values.logic_synthesis)},
        wildcards={"mode": Wildcard("layer|block"), "part": Wildcard()},
        threads=1,
        # generous: Vivado HLS time and memory grow with the unrolled multipliers of a layer
        resources={"mem_mb": 16000, "runtime": 720},
        # one job per layer project ('<mode>/<part>') when resources.synthesis is on (or auto
        # with the tool on PATH); DVC cannot add stages by a parameter
        engines=("snakemake",),
        when=values.synth_projects,
    ),
    Stage(
        "resources", "jetad.stages.resources",
        "per-layer FPGA resource estimates (analytic, da4ml, Vivado reports, rho "
        "extrapolation)",
        args=(
            Arg("--model", required=True, help="QKeras encoder (jetad qat)",
                value="{input.model}/qencoder.h5"),
            Arg("--out", required=True, help="output CSV, one number per row",
                value="{output.csv}"),
            Arg("--json", help="output JSON of the same rows"),
            Arg("--table", help="output markdown table (thesis Table 3.5)"),
            Arg("--design",
                help="output CSV of whole-design figures (resources, latency, interval), one "
                     "row per configuration x source (jetad.fpga.estimate.design)"),
            Arg("--design-json",
                help="output JSON of the design rows and the analytic per-layer rows"),
            Arg("--design-table", help="output markdown design table"),
            Arg("--reports", nargs="*", default=[],
                help="synthesized hls4ml project dirs, named after the layer (added to "
                     "resources.reports)",
                value="{input.synthesized}", when=values.synth_projects),
            Arg("--extra-design", nargs="*", default=[],
                help="design CSVs of other designs to add to the design outputs (jetad "
                     "distill --design: the trigger student)", value="{input.student}"),
        ),
        inputs={
            "model": "results/quantized/model",
            "student": "results/trigger/design.csv",
            "synthesized": FromParams(values.synth_outputs, dvc=[]),
            # projects synthesized elsewhere and copied back (Snakemake checks they exist)
            "copied_back": FromParams(values.copied_back, dvc=[]),
        },
        outputs={
            "csv": "results/fpga/resources.csv",
            "json": "results/fpga/resources.json",
            "table": _fpga("results/fpga/resources.md", "resources"),
            "design": "results/fpga/design.csv",
            "design_json": "results/fpga/design.json",
            "design_table": _fpga("results/fpga/design.md", "design"),
        },
        # the configuration of the whole-design figures (not the emulation's settings)
        params=(*_keys("hls", "io_type", "strategy", "reuse_factor", "clock_period",
                       "processes"), "resources"),
        tools=values.resources_tools,
        resources={"mem_mb": 4000, "runtime": 30},
    ),
    Stage(
        "provenance", "jetad.stages.provenance",
        "record parameters, data checksums, package versions and git revision",
        args=(
            Arg("--in", dest="inputs", nargs="+", required=True,
                help="data files whose checksums to record", value="{input.jets}"),
            Arg("--json", required=True, help="output JSON"),
            Arg("--html", required=True, help="output HTML table for the report"),
        ),
        inputs={"jets": FromParams(values.jet_files)},
        outputs={
            "json": Out("results/provenance.json", cache=False),
            "html": Out("results/provenance.html", cache=False,
                        report=Report("../report/provenance.rst", "Provenance")),
        },
        params=ALL_SECTIONS,
        resources={"mem_mb": 1000, "runtime": 10},
    ),
)



def _nae_evaluate() -> Stage:
    """`jetad evaluate` with the NAE beside the JointVAE and the conv AE, into results/nae/:
    the target of the NAE, outside `all` as its rule `nae` is."""
    evaluate = next(c for c in COMMANDS if c.name == "evaluate")
    return replace(
        evaluate, name="nae_evaluate", command="evaluate",
        help="evaluate with the normalized autoencoder beside the JointVAE and the conv AE",
        inputs={"scores": "results/scores.h5", "baseline_scores": "results/baseline_scores.h5",
                "nae_scores": "results/nae/scores.h5"},
        outputs={"roc": "results/nae/roc.pdf", "metrics": "results/nae/metrics.json",
                 "summary": "results/nae/summary.md", "summary_csv": "results/nae/summary.csv"},
        log="logs/nae/evaluate.log", engines=("snakemake",))


def _pixelize_parts() -> tuple[Stage, Stage]:
    """pixelize as pixelize.parts jobs over the jets' rows and one job that gathers their files,
    when pixelize.parts > 1: a large input spread over a cluster's nodes, each part its
    memory's worth; the gathered file is the bytes of one job's (jetad.data.image_parts)."""
    pixelize = next(c for c in COMMANDS if c.name == "pixelize")

    def args(changed: dict) -> tuple[Arg, ...]:
        return tuple(replace(a, value=changed.get(a.flag, a.value)) for a in pixelize.args)

    common = {"command": "pixelize", "when": values.pixelize_scattered}
    return (
        replace(pixelize, name="pixelize_part",
                help="jet images of one part of the jets' rows (pixelize.parts > 1)",
                args=args({"--parts": FromParams(values.pixelize_parts)}),
                outputs={"images": "data/images/parts/{part}.h5"},
                log="logs/pixelize/{part}.log",
                wildcards={"part": Wildcard(r"\d+", FromParams(values.pixelize_part_ids))},
                **common),
        # an argument whose value is None is not passed
        replace(pixelize, name="pixelize_gather",
                help="gather the parts of pixelize_part into the one image file",
                args=args({"--in": None, "--threads": None, "--gather": "{input.part_files}"}),
                inputs={"part_files": FromParams(values.pixelize_part_files)},
                log="logs/pixelize/gather.log", params=("pixelize.parts",), threads=None,
                resources={"mem_mb": 2000, "runtime": 60}, **common),
    )


STAGES: tuple[Stage, ...] = (*(c for c in COMMANDS if isinstance(c, Stage)), _nae_evaluate(),
                             *_pixelize_parts())


def command(name: str) -> Command:
    for c in COMMANDS:
        if c.name == name:
            return c
    raise KeyError(name)


# The FPGA design-space scan: a pipeline of its own over the main pipeline's split
# and JointVAE, outside `all` and the default `dvc repro` (workflow/rules/dse.smk, target
# `dse`; workflow/dse/dvc.yaml). One QAT and one whole-encoder emulation per precision, one
# job per point of the `dse:` grid (precision x io_type x strategy x reuse factor), gathered
# into results/dse/dse.{csv,md} and pareto.pdf. Snakemake reads the grid from params.yaml
# when it builds the graph; DVC's matrices are written into workflow/dse/dvc.yaml (fixed when
# written): `jetad preset` and `python -m jetad.pipeline --write` rewrite it, and
# `jetad dse table` refuses points that are not params.yaml's grid.
_DSE_DIR = "results/dse/{precision}"
_DSE_POINT = _DSE_DIR + "/{io_type}/{strategy}/rf{reuse}"
_PRECISION = {"precision": Wildcard(r"p\d+_\d+", FromParams(values.dse_precisions))}
_DSE = command("dse")

DSE_STAGES: tuple[Stage, ...] = (
    action_stage(
        _DSE, "qat", "dse_qat",
        inputs={"train": "data/split/train.h5", "vae": "results/model/jointvae"},
        outputs={"model": _DSE_DIR + "/qencoder.h5"},
        log="logs/dse/{precision}/qat.log",
        params=("seed", "qat"),
        wildcards=_PRECISION,
        threads=2,
        resources={"mem_mb": MEM, "runtime": 240},
    ),
    action_stage(
        _DSE, "emulate", "dse_emulate",
        inputs={"model": _DSE_DIR + "/qencoder.h5", "test": "data/split/test.h5"},
        outputs={"emulation": _DSE_DIR + "/emulation.json"},
        log="logs/dse/{precision}/emulate.log",
        params=("seed", "train.kl_eps", "hls", "dse.n_images"),
        tools=values.hls_tools,
        wildcards=_PRECISION,
        threads=2,
        resources={"mem_mb": MEM, "runtime": 240},
    ),
    action_stage(
        _DSE, "point", "dse_point",
        inputs={"model": _DSE_DIR + "/qencoder.h5", "emulation": _DSE_DIR + "/emulation.json"},
        outputs={"project": Out(_DSE_POINT + "/project", directory=True),
                 "point": _DSE_POINT + "/point.json"},
        log="logs/dse/{precision}/{io_type}/{strategy}/rf{reuse}.log",
        params=("hls", "resources.dsp_min_bits"),
        wildcards={**_PRECISION,
                   "io_type": Wildcard("io_parallel|io_stream", FromParams(values.dse_io_types)),
                   "strategy": Wildcard("Latency|Resource", FromParams(values.dse_strategies)),
                   "reuse": Wildcard(r"\d+", FromParams(values.dse_reuse_factors))},
        resources={"mem_mb": 4000, "runtime": 30},
    ),
    action_stage(
        _DSE, "table", "dse",
        inputs={"points": FromParams(values.dse_point_files)},
        outputs={"csv": "results/dse/dse.csv", "md": "results/dse/dse.md",
                 "figure": "results/dse/pareto.pdf"},
        log="logs/dse/table.log",
        # the whole section: a changed grid reruns it, and it refuses a stale job list
        params=(SOURCE, "dse"),
        resources={"runtime": 5},
    ),
)


# The beta / capacity scan and the seed repeats of the default model: Snakemake targets `scan`
# and `seeds`, not in `all`, and Snakemake's only (workflow/rules/scan.smk). A run is the
# pipeline's train -> score -> evaluate with a parameter file of its own
# (results/<group>/<run>/params.yaml, written by `jetad scan params`), on the pipeline's split
# and test jets and against its baselines, so the runs differ in their parameters only.
# Wildcards rather than `dvc exp`: the runs share every upstream output, run side by side (or
# on a cluster) and are gathered by a rule into one table; DVC experiments would each be a
# copy of the workspace, queued one after another, with the table left to a script outside
# the pipeline. A run whose parameters are params.yaml's own (values.pipeline_runs) is the
# pipeline's run, its outputs copied (rule from_pipeline, jetad.pipeline.render).
_RUN = "results/{group}/{run}"
_RUNS = {"wildcards": {"group": Wildcard("scan|seeds"),
                       "run": Wildcard(r"[A-Za-z0-9][A-Za-z0-9_-]*")},
         # the run's parameters that its stages read, not params.yaml's
         "snakemake_params": {"run": FromParams(values.run_sections)},
         "engines": ("snakemake",)}
_SCAN = command("scan")


def _run_of(name: str, inputs: dict, outputs: dict, changed: dict | None = None,
            group: str = "scan", run: str = _RUN, runs: dict = _RUNS) -> Stage:
    """`jetad <name>` in one run: the pipeline stage on the run's parameter file, with the
    `outputs` it writes into the run's folder (an argument of an output left out is not
    passed); `changed`: flag -> value of the arguments whose value differs. `group`: the
    rule's prefix, `run` the run's folder, `runs` the wildcards, params and engines of its
    rules (an inverse run's besides a scan's)."""
    stage = command(name)
    args = tuple(replace(a, value=(changed or {}).get(a.flag, a.value)) for a in stage.args)
    what = "a scan or seed run" if group == "scan" else "an inverse run"
    # an inverse run learns its own background, not QCD
    helps = stage.help if group == "scan" else stage.help.replace("QCD jet", "background jet")
    return replace(stage, name=f"{group}_{name}", help=f"{what}: {helps}",
                   command=name, args=args,
                   inputs={**inputs, "params": run + "/params.yaml"}, outputs=outputs,
                   log=run.replace("results/", "logs/") + f"/{name}.log", params=(), **runs)


SCAN_STAGES: tuple[Stage, ...] = (
    # the parameter file of an inverse run too (group inverse, run its background)
    action_stage(_SCAN, "params", "scan_params", outputs={"params": _RUN + "/params.yaml"},
                 log="logs/{group}/{run}/params.log", resources={"runtime": 5},
                 **{**_RUNS, "wildcards": {**_RUNS["wildcards"],
                                           "group": Wildcard("scan|seeds|inverse")}}),
    _run_of("train", {"train": "data/split/train.h5", "val": "data/split/val.h5"},
            {"model": Out(_RUN + "/model", directory=True),
             "metrics": _RUN + "/training_metrics.json",
             "history": _RUN + "/training_history.csv"},
            {"--checkpoint-dir": "data/checkpoints/{wildcards.group}/{wildcards.run}"}),
    _run_of("score", {"model": _RUN + "/model", "test": "data/split/test.h5",
                      "val": "data/split/val.h5"},
            {"scores": _RUN + "/scores.h5"}),
    _run_of("evaluate", {"scores": _RUN + "/scores.h5",
                         "baseline_scores": "results/baseline_scores.h5"},
            {"roc": _RUN + "/roc.pdf", "metrics": _RUN + "/metrics.json"}),
    *(action_stage(_SCAN, action, name, inputs={"runs": FromParams(files)},
                   outputs={**{k: f"results/{name}/{name}.{k}" for k in kinds}, **more},
                   log=f"logs/{name}/table.log", params=read, resources={"runtime": 5},
                   engines=("snakemake",), when=when)
      for action, name, files, kinds, more, read, when in (
          ("table", "scan", values.scan_run_files, ("csv", "md"), {}, ("scan",), None),
          # the seed: the ensemble's bootstrap
          ("seeds", "seeds", values.seed_run_files, ("csv", "md", "json"),
           {"ensemble": "results/seeds/ensemble.h5"}, ("seed", "scan"), values.seed_repeats))),
)


# The inverse task ([Finke et al. 2021]): the same method trained on top jets (split.background
# top), QCD and the other processes the anomalies. Snakemake target `inverse`, not in `all`
# (workflow/rules/inverse.smk): a split, train, score and evaluate of its own on the pipeline's
# images, its parameter file written by rule scan_params (group inverse, run the background),
# its summary and headline in results/inverse/<background>/, and the table beside the main run
# in results/inverse/inverse.{csv,md}. Snakemake's only, as the scan: a DVC pipeline of it
# would be listed by every plain `dvc status` until run.
_INV = "results/inverse/{run}"
_INV_DATA = "data/inverse/{run}"
_INVERSE = {"wildcards": {"run": Wildcard(FromParams(values.inverse_pattern))},
            "snakemake_params": {"run": FromParams(values.inverse_sections)},
            "engines": ("snakemake",)}
_INV_RUN = {"group": "inverse", "run": _INV, "runs": _INVERSE}
_INV_NAE = {**_INV_RUN, "runs": {
    **_INVERSE, "snakemake_params": {"run": FromParams(values.inverse_nae_sections)}}}

INVERSE_STAGES: tuple[Stage, ...] = (
    _run_of("split", {"images": "data/images/images.h5"},
            {p: f"{_INV_DATA}/{p}.h5" for p in ("train", "val", "test")}, **_INV_RUN),
    _run_of("train", {"train": _INV_DATA + "/train.h5", "val": _INV_DATA + "/val.h5"},
            {"model": Out(_INV + "/model", directory=True),
             "metrics": _INV + "/training_metrics.json",
             "history": _INV + "/training_history.csv"},
            {"--checkpoint-dir": "data/checkpoints/inverse/{wildcards.run}"}, **_INV_RUN),
    _run_of("score", {"model": _INV + "/model", "test": _INV_DATA + "/test.h5",
                      "val": _INV_DATA + "/val.h5"},
            {"scores": _INV + "/scores.h5"}, **_INV_RUN),
    # no conv-AE baseline: it would need a training of its own on top
    _run_of("evaluate", {"scores": _INV + "/scores.h5"},
            {"roc": _INV + "/roc.pdf", "metrics": _INV + "/metrics.json",
             "summary": _INV + "/summary.md", "summary_csv": _INV + "/summary.csv",
             "headline": _INV + "/headline.json"}, **_INV_RUN),
    # the normalized autoencoder on the inverse task, outside the `inverse` target (it
    # trains for minutes): `snakemake --cores 2 results/inverse/top/nae/metrics.json`
    _run_of("nae", {p: f"{_INV_DATA}/{p}.h5" for p in ("train", "val", "test")},
            {"scores": _INV + "/nae/scores.h5", "history": _INV + "/nae/history.csv"},
            **_INV_NAE),
    replace(_run_of("evaluate", {"scores": _INV + "/scores.h5",
                                 "nae_scores": _INV + "/nae/scores.h5"},
                    {"roc": _INV + "/nae/roc.pdf", "metrics": _INV + "/nae/metrics.json",
                     "summary": _INV + "/nae/summary.md",
                     "summary_csv": _INV + "/nae/summary.csv"}, **_INV_RUN),
            name="inverse_nae_evaluate", log="logs/inverse/{run}/nae_evaluate.log",
            help="an inverse run: evaluate with the normalized autoencoder beside the JointVAE"),
    action_stage(_SCAN, "inverse", "inverse",
                 inputs={"main": "results/metrics.json",
                         "runs": FromParams(values.inverse_run_files)},
                 outputs={"csv": "results/inverse/inverse.csv", "md": "results/inverse/inverse.md"},
                 log="logs/inverse/table.log", params=("split",), resources={"runtime": 5},
                 engines=("snakemake",)),
)


def declared(stage: str, action: str | None = None) -> tuple[str, ...]:
    """The params.yaml sections and keys `jetad <stage> [<action>]` declares ("*": all; a
    command that is no pipeline stage, like check-params, reads all, and so do the actions of
    `jetad scan`, whose rules take the run's parameters)."""
    return getattr(command_run(stage, action), "params", ALL_SECTIONS)


def command_run(stage: str, action: str | None = None) -> Command:
    """What `jetad <stage> [<action>]` runs: the design-space scan's action stage, else the
    command itself."""
    try:
        cmd = command(stage)
    except KeyError:
        raise UndeclaredSection(f"jetad {stage} is no command of jetad.pipeline.registry") from None
    if action:
        cmd = next((s for s in DSE_STAGES if (s.command, s.action) == (stage, action)), cmd)
    return cmd


def pipeline_stage(name: str) -> Stage:
    """The stage whose Snakemake rule (and DVC stage) is `name`."""
    for s in (*STAGES, *DSE_STAGES, *SCAN_STAGES, *INVERSE_STAGES):
        if s.name == name:
            return s
    raise KeyError(name)


def missing_tools(stage: Command, params) -> list[str]:
    """The programs `stage` runs for these parameters that are not on PATH."""
    need = stage.tools(params) if getattr(stage, "tools", None) else []
    return [tool for tool in dict.fromkeys(need) if shutil.which(tool) is None]


# how each program comes to a Debian machine, for the one-line error
INSTALL = {"g++": "g++", "clang++": "clang", "verilator": "verilator", "yosys": "yosys"}


def tools_message(missing: list[str], outcome: str = "nothing was read or written") -> str:
    """One line: what is missing, how to install it, and that no work was lost."""
    packages = " ".join(dict.fromkeys(INSTALL.get(t, t) for t in missing))
    return (f"needs {', '.join(missing)} on PATH (Debian: apt-get install {packages}); "
            f"{outcome}")
