"""Every bad input refused in one line at every door (jetad.inputs and the format readers).

Each bad file is made for real (pandas, h5py, PyTables, cut bytes; tiny real models from the
package's own builders with the quick preset's sizes) and given to each command that reads
that kind of file, through the command line in a subprocess. Each run must exit with status 2
and print exactly one line, `jetad <stage>: error: <file>: <what is wrong>`, with no
traceback, and must leave the folder as it was: no output, no temporary file.

Set JETAD_BAD_INPUT_TABLE=<file> to append the (case, command, message) table to <file>.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

from jetad.analysis.scores import NAMES, write_score_file
from jetad.data.images import FIELDS, ImageSet, write_images
from jetad.data.layout import KEY, to_frame, write_jets
from jetad.params import merge

# every case is a jetad subprocess (about a hundred of them)
pytestmark = pytest.mark.slow

JETAD = [sys.executable, "-m", "jetad.cli"]

# -- the bad files ----------------------------------------------------------------------------
# Every input kind shares the first five cases; the rest depend on what the file holds.
COMMON = {
    "does not exist": "no such",
    "a directory": "is a directory",
    "0-byte file": "empty file (0 bytes)",
    "truncated HDF5": "truncated or damaged HDF5 file",
    "text file named .h5": "not an HDF5 file",
}
# the layout is intact, the compressed data is not: found only when the rows are read
CORRUPT = "damaged HDF5 file, reading failed (filter returned failure during read"
JET_CASES = {
    **COMMON,
    "corrupt data chunk": CORRUPT,
    "wrong key": "no key 'table' (found jets)",
    "pandas fixed format": "pandas 'fixed' format",
    "table with no rows": "no jets (the table has no rows)",
    "missing column": "805 columns, expected 806",
    "reordered columns": "column 30 is 'PZ_7', expected 'PY_7'",
    "NaN": "NaN or inf in rows 2",
    "inf": "NaN or inf in rows 4",
    "negative energy": "negative constituent energy in rows 1",
    "jet with no constituent": "jet with no constituent in rows 3",
}
# a folder of JetNet files (data.jetnet_classes: g, q, t, w, z) whose g.hdf5 is the bad one
JETNET_CASES = {
    **COMMON,
    "corrupt data chunk": CORRUPT,
    "missing dataset": "no dataset 'jet_features' (found particle_features)",
    "particles of the wrong shape": "particle_features has shape (6, 20, 4), expected (N, 30, 4)",
    "datasets of different lengths": "particle_features holds 6 jets, jet_features 5",
    "empty datasets": "no jets (particle_features and jet_features are empty)",
    "mask not 0 or 1": "mask must be 0 or 1, not in rows 2",
    "NaN": "NaN or inf in rows 2",
    "inf": "NaN or inf in rows 4",
    "jet with no particle": "jet with no particle (mask all 0) in rows 3",
    "negative pT_rel": "negative pT_rel in rows 1",
}
# a jet file whose JetNet arrays (group jetnet, written by jetad jets) are the bad part
PARTICLE_CASES = {
    **COMMON,
    "corrupt data chunk": CORRUPT,
    "jet file without JetNet arrays": "no group 'jetnet' of JetNet arrays",
    "particles of the wrong shape": "particle_features has shape (6, 20, 4), expected (N, 30, 4)",
    "NaN": "NaN or inf in rows 2",
    "negative pT_rel": "negative pT_rel in rows 1",
}
IMAGE_CASES = {
    **COMMON,
    "corrupt data chunk": CORRUPT,
    "wrong key": "not a jet-image file, missing datasets ['images']",
    "pandas fixed format": "a jet file in the top-tagging layout (pandas), not a jet-image file",
    "table with no rows": "holds no jets",
    "missing column": "not a jet-image file, missing datasets ['jet_mass']",
    "NaN": "NaN or inf in images rows 2",
    "inf": "NaN or inf in images rows 4",
    "negative energy": "negative pixel values in images rows 1",
    "jet with no constituent": "images with no energy (all pixels zero) rows 3",
    "images of the wrong shape": "images have shape",
    "older file without N-subjettiness": "no N-subjettiness (tau21, tau32), written by an older "
                                         "jetad pixelize; rerun jetad pixelize",
}
SCORE_CASES = {
    **COMMON,
    "wrong key": "not a score file (missing scores;",
    "pandas fixed format": "not a score file (missing scores, label, jet_mass; found table)",
    "table with no rows": "holds no jets",
    "missing column": "not a score file (missing jet_mass;",
    "NaN": "NaN or inf in kl_total, rows 2",
    "inf": "NaN or inf in kl_total, rows 4",
    "score of the wrong length": "kl_total has shape (7,), expected (8,)",
}
MODEL_DIR_CASES = {
    "does not exist": "no such model directory",
    "a file, not a directory": "not a directory",
    "directory without a model": "not a jetad model directory (no config.json)",
    "model folder of another architecture": "holds a 'conv_ae' model, expected 'jointvae'",
    "truncated HDF5 weights": "truncated or damaged HDF5 file",
}
QMODEL_CASES = {
    **COMMON,
    "model folder of another architecture": "a jetad 'jointvae' model directory, expected a "
                                            "QKeras encoder file",
    "wrong key": "not a Keras model file (no model_config)",
    "float model, quantized needed": "a float model, not quantized",
}
CHECKPOINT_CASES = {
    "a file, not a directory": "not a directory",
    "model folder of another architecture": "holds a 'conv_ae' model, not training checkpoints",
    "folder of other files": "not a training checkpoint directory (holds notes.txt)",
}
# the float reduced encoder folder of jetad qat that distill compares with (--reduced)
REDUCED_CASES = {
    "does not exist": "no encoder_float.h5 (run jetad qat)",
    "model folder of another architecture": "no encoder_float.h5 (run jetad qat)",
    "truncated encoder_float.h5": "truncated or damaged HDF5 file",
    "images named encoder_float.h5": "not a Keras model file (no model_config)",
    "float qencoder.h5 beside it": "a float model, not quantized",
}
# the JSON files the design-space scan's jobs pass on (jetad dse point --emulation, jetad dse
# table --points)
JSON_CASES = {
    "does not exist": "no such file",
    "a directory": "is a directory, expected",
    "0-byte file": "empty file (0 bytes)",
    "truncated JSON": "not valid JSON (",
    "JSON holding a list": "not a JSON object",
}
EMULATION_CASES = {
    **JSON_CASES,
    "emulation of another precision": "not the emulation of p16_6 (jetad dse emulate)",
}
POINT_CASES = {
    **JSON_CASES,
    "row without its configuration": "not a point file of jetad dse point (no io_type, "
                                     "reuse_factor)",
}
# a run folder of the beta / capacity scan or the seed repeats (jetad scan table|seeds --runs)
RUN_CASES = {
    "does not exist": "no such run folder",
    "a file, not a directory": "not a directory; a run folder holds params.yaml",
    "folder without params.yaml": "no such file",
    "params.yaml that is not YAML": "not valid YAML",
    "params.yaml of no run": "no seed or train section, not a run's parameter file",
    "train section without beta": "train section without its objective's values",
    "metrics of an older jetad train": "no collapse measures (written by an older jetad train)",
    "training metrics without validation losses": "no val.bce, val.kl_cont, val.kl_disc",
    "0-byte metrics.json": "empty file (0 bytes)",
    "truncated metrics.json": "not valid JSON (",
    "metrics.json holding a list": "not a JSON object",
    "metrics without jointvae scores": "no jointvae scores",
    "score without its AUC": "no AUC for top/jointvae/kl_total",
    "NaN AUC written as null": "no AUC for top/jointvae/kl_total",
    "no kl_total of a signal": "no top/jointvae/kl_total",
}
# the file of a run folder that is wrong (the error names it); the others name the folder
RUN_FILE = {
    "folder without params.yaml": "params.yaml", "params.yaml that is not YAML": "params.yaml",
    "params.yaml of no run": "params.yaml", "train section without beta": "params.yaml",
    "metrics of an older jetad train": "training_metrics.json",
    "training metrics without validation losses": "training_metrics.json",
}


def _text(path: Path) -> None:
    path.write_text("E_0,PX_0,PY_0,PZ_0\n1.0,0.5,0.5,0.1\n")


def _common(bad: Path, kind: str, good: Path) -> dict[str, Path]:
    """The five cases every input kind shares, made from a good file of that kind."""
    paths = {name: bad / f"{kind}_{slug}.h5" for name, slug in (
        ("does not exist", "missing"), ("a directory", "dir"), ("0-byte file", "empty"),
        ("truncated HDF5", "truncated"), ("text file named .h5", "text"))}
    paths["a directory"].mkdir()
    paths["0-byte file"].touch()
    data = good.read_bytes()
    paths["truncated HDF5"].write_bytes(data[: len(data) // 2])
    _text(paths["text file named .h5"])
    return paths


def _corrupt(good: Path, path: Path, dataset: str) -> Path:
    """A copy of `good` with garbage inside the first compressed chunk of `dataset`."""
    shutil.copy(good, path)
    with h5py.File(path, "r") as f:
        offset = f[dataset].id.get_chunk_info(0).byte_offset
    with open(path, "r+b") as f:
        f.seek(offset + 16)
        f.write(b"\xff" * 64)
    return path


def _pandas(path: Path, frame: pd.DataFrame, key: str = KEY, fmt: str = "table") -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns about many columns in a table
        frame.to_hdf(path, key=key, mode="w", format=fmt)
    return path


def jet_files(d: Path, make_jets) -> dict[str, Path]:
    bad = d / "bad"
    good = d / "good" / "jets.h5"
    write_jets(good, make_jets(6))
    paths = _common(bad, "jets", good)
    paths["corrupt data chunk"] = _corrupt(good, bad / "jets_corrupt.h5", f"{KEY}/table")
    frame = to_frame(make_jets(6))
    paths["wrong key"] = _pandas(bad / "jets_key.h5", frame, key="jets")
    paths["pandas fixed format"] = _pandas(bad / "jets_fixed.h5", frame, fmt="fixed")
    norows = _pandas(bad / "jets_norows.h5", frame)
    import tables

    with tables.open_file(norows, "a") as h5:  # pandas will not write an empty table
        h5.root[KEY].table.truncate(0)
    paths["table with no rows"] = norows
    paths["missing column"] = _pandas(bad / "jets_nocol.h5", frame.drop(columns="is_signal_new"))
    paths["reordered columns"] = _pandas(
        bad / "jets_order.h5", frame.rename(columns={"PY_7": "PZ_7", "PZ_7": "PY_7"}))
    for name, slug, row, column, value in (
            ("NaN", "nan", 2, "PX_3", np.nan), ("inf", "inf", 4, "PZ_0", np.inf),
            ("negative energy", "negative", 1, "E_0", -1.0)):
        f = frame.copy()
        f.loc[row, column] = value
        paths[name] = _pandas(bad / f"jets_{slug}.h5", f)
    f = frame.copy()
    f.iloc[3, :800] = 0.0
    paths["jet with no constituent"] = _pandas(bad / "jets_noconst.h5", f)
    return paths


def jetnet_folders(d: Path, make_jetnet) -> dict[str, Path]:
    """One folder per case, holding the five JetNet files with a bad g.hdf5 (the first read)."""
    from jetad.data.jetnet import write_jetnet

    bad = d / "bad"
    good = d / "good" / "jetnet"
    good.mkdir()
    for i, c in enumerate("gqtwz"):
        write_jetnet(good / f"{c}.hdf5", make_jetnet(6, seed=i))
    flat = _common(bad, "jetnet", good / "g.hdf5")
    flat["corrupt data chunk"] = _corrupt(good / "g.hdf5", bad / "jetnet_corrupt.h5",
                                          "particle_features")
    data = make_jetnet(6)
    p, j = data.particles, data.jet
    made = {"missing dataset": (p, None), "particles of the wrong shape": (p[:, :20], j),
            "datasets of different lengths": (p, j[:5]),
            "empty datasets": (p[:0], j[:0])}
    for name, row, index, value in (("mask not 0 or 1", 2, (0, 3), 0.5),
                                    ("NaN", 2, (4, 0), np.nan), ("inf", 4, (0, 1), np.inf),
                                    ("jet with no particle", 3, (slice(None), 3), 0.0),
                                    ("negative pT_rel", 1, (0, 2), -0.1)):
        changed = p.copy()
        changed[(row, *index)] = value
        made[name] = (changed, j)
    for name, (particles, jet) in made.items():
        path = bad / f"jetnet_{'_'.join(name.split())}.h5"
        with h5py.File(path, "w") as f:
            f["particle_features"] = particles
            if jet is not None:
                f["jet_features"] = jet
        flat[name] = path
    paths = {}
    for name, source in flat.items():
        folder = bad / f"jetnet_dir_{'_'.join(name.split())}"
        folder.mkdir()
        for c in "qtwz":
            shutil.copy(good / f"{c}.hdf5", folder)
        if source.exists():
            shutil.move(source, folder / "g.hdf5")
        paths[name] = folder
    return paths


def particle_jet_files(d: Path, make_jets, make_jetnet) -> dict[str, Path]:
    """Jet files as jetad jets writes them for JetNet-layout jets (good/particles.h5, the
    top's), and bad ones whose group jetnet is wrong."""
    from jetad.data.jetnet import GROUP, add_to_jet_file

    bad = d / "bad"
    good = d / "good" / "particles.h5"
    # enough jets for the split's three parts: jetad sparse --conv-ae reads past it
    write_jets(good, make_jets(40))
    add_to_jet_file(good, make_jetnet(40, seed=7))
    paths = _common(bad, "particles", good)
    paths["corrupt data chunk"] = _corrupt(good, bad / "particles_corrupt.h5",
                                           f"{GROUP}/particle_features")
    paths["jet file without JetNet arrays"] = bad / "particles_no_group.h5"
    write_jets(paths["jet file without JetNet arrays"], make_jets(6))
    data = make_jetnet(6)
    p, j = data.particles, data.jet
    made = {"particles of the wrong shape": p[:, :20]}
    for name, row, index, value in (("NaN", 2, (4, 0), np.nan), ("negative pT_rel", 1, (0, 2),
                                                                  -0.1)):
        made[name] = p.copy()
        made[name][(row, *index)] = value
    for name, particles in made.items():
        path = paths[name] = bad / f"particles_{'_'.join(name.split())}.h5"
        write_jets(path, make_jets(6))
        with h5py.File(path, "a") as f:
            f[f"{GROUP}/particle_features"] = particles
            f[f"{GROUP}/jet_features"] = j
    return paths


def _raw_images(path: Path, data: ImageSet, drop: tuple[str, ...] = (),
                rename: dict | None = None) -> Path:
    """An image file written with h5py directly, with datasets left out or renamed."""
    with h5py.File(path, "w") as f:
        for name in ("images", "label") + FIELDS:
            if name not in drop:
                f.create_dataset((rename or {}).get(name, name), data=getattr(data, name))
    return path


def image_files(d: Path, fake_jets) -> dict[str, Path]:
    bad = d / "bad"
    good = fake_jets(8, 0, 7)
    paths = _common(bad, "images", d / "good" / "train.h5")
    paths["corrupt data chunk"] = _corrupt(d / "good" / "train.h5", bad / "images_corrupt.h5",
                                           "images")
    paths["wrong key"] = _raw_images(bad / "images_key.h5", good, rename={"images": "imgs"})
    paths["pandas fixed format"] = d / "bad" / "jets_fixed.h5"
    write_images(bad / "images_norows.h5", fake_jets(0, 0, 7))
    paths["table with no rows"] = bad / "images_norows.h5"
    paths["missing column"] = _raw_images(bad / "images_nocol.h5", good, drop=("jet_mass",))
    # as pixelize wrote them before tau21 / tau32 were carried
    paths["older file without N-subjettiness"] = _raw_images(bad / "images_notau.h5", good,
                                                             drop=("tau21", "tau32"))
    for name, slug, row, value in (("NaN", "nan", 2, np.nan), ("inf", "inf", 4, np.inf),
                                   ("negative energy", "negative", 1, -0.1)):
        data = good.take(np.arange(len(good)))
        data.images[row, 3, 5] = value
        paths[name] = bad / f"images_{slug}.h5"
        write_images(paths[name], data)
    data = good.take(np.arange(len(good)))
    data.images[3] = 0.0
    paths["jet with no constituent"] = bad / "images_noconst.h5"
    write_images(paths["jet with no constituent"], data)
    # 32x32: a size no model or training set here has; 40x32: not even square
    paths["images of the wrong shape"] = bad / "images_32.h5"
    write_images(paths["images of the wrong shape"], fake_jets(8, 0, 7, npix=32))
    skew = good.take(np.arange(len(good)))
    skew.images = np.ascontiguousarray(skew.images[:, :, :32])
    paths["images not square"] = bad / "images_40x32.h5"
    write_images(paths["images not square"], skew)
    # good files in the wrong place: anomalies where only background may be, none where needed
    paths["anomalies in a background set"] = d / "good" / "test.h5"
    paths["no anomaly in the test set"] = d / "good" / "val.h5"
    return paths


def reduced_folders(d: Path) -> dict[str, Path]:
    """Bad --reduced folders of distill (jetad qat's output), once BUILD_MODELS has run."""
    bad, models = d / "bad", d / "models"
    paths = {"does not exist": bad / "qat_missing",
             "model folder of another architecture": models / "jointvae"}
    for case, slug in (("truncated encoder_float.h5", "truncated"),
                       ("images named encoder_float.h5", "images"),
                       ("float qencoder.h5 beside it", "float_q")):
        paths[case] = bad / f"qat_{slug}"
        paths[case].mkdir()
    good = (models / "encoder_float.h5").read_bytes()
    (paths["truncated encoder_float.h5"] / "encoder_float.h5").write_bytes(good[: len(good) // 2])
    shutil.copy(d / "good" / "test.h5", paths["images named encoder_float.h5"] / "encoder_float.h5")
    for name in ("encoder_float.h5", "qencoder.h5"):  # the float encoder in both places
        shutil.copy(models / "encoder_float.h5", paths["float qencoder.h5 beside it"] / name)
    return paths


def run_folders(d: Path, fake_run) -> dict[str, Path]:
    """A good run folder (good/run) and the bad ones, each a copy of it with one thing wrong."""
    good = d / "good" / "run"
    run = fake_run("run", {"top": {"kl_total": 0.9, "kl_cont": 0.8}})
    good.mkdir()
    (good / "params.yaml").write_text(yaml.safe_dump(run["params"]))
    (good / "training_metrics.json").write_text(json.dumps(run["training"]))
    (good / "metrics.json").write_text(json.dumps(run["metrics"]))
    bad = d / "bad"
    paths = {"does not exist": bad / "run_missing", "a file, not a directory": bad / "run_file"}
    _text(paths["a file, not a directory"])

    def copy(case: str, file: str, text) -> None:
        folder = bad / ("run_" + "_".join(case.split()).replace(".", "_"))
        shutil.copytree(good, folder)
        if text is None:
            (folder / file).unlink()
        else:
            (folder / file).write_text(text)
        paths[case] = folder

    metrics = run["metrics"]
    training = run["training"]
    copy("folder without params.yaml", "params.yaml", None)
    copy("params.yaml that is not YAML", "params.yaml", "train: {beta: [1, 2\nseed: 1\n")
    copy("params.yaml of no run", "params.yaml", "- seed\n- train\n")
    copy("train section without beta", "params.yaml", yaml.safe_dump({"seed": 1, "train": {}}))
    copy("metrics of an older jetad train", "training_metrics.json",
         json.dumps({k: v for k, v in training.items() if k != "collapse"}))
    copy("training metrics without validation losses", "training_metrics.json",
         json.dumps({**training, "val": {}}))
    copy("0-byte metrics.json", "metrics.json", "")
    text = json.dumps(metrics)
    copy("truncated metrics.json", "metrics.json", text[: len(text) // 2])
    copy("metrics.json holding a list", "metrics.json", json.dumps(list(metrics)))
    copy("metrics without jointvae scores", "metrics.json",
         json.dumps({k: v for k, v in metrics.items() if "jointvae/" not in k}))
    copy("score without its AUC", "metrics.json",
         json.dumps({**metrics, "top/jointvae/kl_total": {"auc_68": [0.8, 0.9]}}))
    copy("NaN AUC written as null", "metrics.json",
         json.dumps({**metrics, "top/jointvae/kl_total": {**metrics["top/jointvae/kl_total"],
                                                          "auc": None}}))
    copy("no kl_total of a signal", "metrics.json",
         json.dumps({k: v for k, v in metrics.items() if k != "top/jointvae/kl_total"}))
    return paths


def json_files(d: Path, kind: str, good: dict, wrong: tuple[str, dict]) -> dict[str, Path]:
    """good/<kind>.json and the bad ones: JSON_CASES and `wrong` (case, the good object with
    something changed)."""
    bad = d / "bad"
    (d / "good" / f"{kind}.json").write_text(json.dumps(good))
    paths = {name: bad / f"{kind}_{slug}.json" for name, slug in (
        ("does not exist", "missing"), ("a directory", "dir"), ("0-byte file", "empty"),
        ("truncated JSON", "truncated"), ("JSON holding a list", "list"), (wrong[0], "wrong"))}
    paths["a directory"].mkdir()
    paths["0-byte file"].touch()
    text = json.dumps(good)
    paths["truncated JSON"].write_text(text[: len(text) // 2])
    paths["JSON holding a list"].write_text(json.dumps(list(good)))
    paths[wrong[0]].write_text(json.dumps(wrong[1]))
    return paths


EMULATION = {"precision": "p16_6", "n_images": 8,
             "configuration": "io_parallel_Latency_rf1_16_6",
             "hls_emulation": {"kl_total": {"top": 0.9}}}
POINT = {"config": "io_stream_Latency_rf4_16_6", "precision_name": "p16_6",
         "io_type": "io_stream", "strategy": "Latency", "reuse_factor": 4}


def _scores(n: int = 8) -> tuple[dict, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    return ({k: rng.random(n) for k in NAMES}, (np.arange(n) % 2).astype(np.int8),
            rng.normal(100, 30, n))


def score_files(d: Path) -> dict[str, Path]:
    bad = d / "bad"
    good = d / "good" / "scores.h5"
    paths = _common(bad, "scores", good)
    scores, label, mass = _scores()
    with h5py.File(bad / "scores_key.h5", "w") as f:
        f.create_group("score")
        f["label"], f["jet_mass"] = label, mass
    paths["wrong key"] = bad / "scores_key.h5"
    paths["pandas fixed format"] = bad / "jets_fixed.h5"
    e_scores, e_label, e_mass = _scores(0)
    write_score_file(bad / "scores_norows.h5", e_scores, e_label, e_mass)
    paths["table with no rows"] = bad / "scores_norows.h5"
    with h5py.File(bad / "scores_nocol.h5", "w") as f:
        g = f.create_group("scores")
        for k, v in scores.items():
            g[k] = v
        f["label"] = label
    paths["missing column"] = bad / "scores_nocol.h5"
    for name, slug, row, value in (("NaN", "nan", 2, np.nan), ("inf", "inf", 4, np.inf)):
        s = {k: v.copy() for k, v in scores.items()}
        s["kl_total"][row] = value
        paths[name] = bad / f"scores_{slug}.h5"
        write_score_file(paths[name], s, label, mass)
    s = dict(scores, kl_total=scores["kl_total"][:7])
    paths["score of the wrong length"] = bad / "scores_short.h5"
    write_score_file(paths["score of the wrong length"], s, label, mass)
    return paths


BUILD_MODELS = """
import json, sys
from pathlib import Path
import jetad
import tensorflow as tf
from jetad.models import baseline_ae, jointvae
from jetad.params import load
from jetad.models import reduced_encoder as encoder
from jetad.models.training import fingerprint

params = load("params.yaml")
tp, bp = params["train"], params["baseline"]
cfg = jointvae.JointVAEConfig.from_params(tp, 40)
jointvae.save(jointvae.JointVAE(cfg), "models/jointvae")
ae = baseline_ae.build(40, tuple(bp["filters"]), int(bp["latent"]))
jointvae.save_model("models/conv_ae", baseline_ae.ARCHITECTURE,
                    {"npix": 40, "filters": list(bp["filters"]), "latent": int(bp["latent"])},
                    {"model": ae})
ecfg = encoder.EncoderConfig.from_params(params["qat"], 40, cfg.latent_cont, cfg.latent_disc)
encoder.build(ecfg, quantized=True).save("models/qencoder.h5")
encoder.build(ecfg, quantized=False).save("models/encoder_float.h5")
# a checkpoint of a JointVAE twice as wide, under the key `jetad train` computes for these
# inputs and parameters: what resuming meets after the model's code changed
other = jointvae.JointVAE(jointvae.JointVAEConfig.from_params({**tp, "width": 2 * tp["width"]}, 40))
ck = Path("ckpt_other")
tf.train.Checkpoint(encoder=other.encoder, decoder=other.decoder).write(str(ck / "epoch-1"))
key = fingerprint("good/train.h5", "good/val.h5", tp, int(params["seed"]))
(ck / "state.json").write_text(json.dumps({"key": key, "epoch": 1, "checkpoint": "epoch-1"}))
"""


def model_inputs(d: Path) -> tuple[dict[str, Path], dict[str, Path], dict[str, Path]]:
    """Bad model directories (score), QKeras encoder files (hls), checkpoint dirs (train),
    once BUILD_MODELS has run."""
    bad, models = d / "bad", d / "models"
    model_dirs = {
        "does not exist": bad / "model_missing",
        "a file, not a directory": bad / "model_text.h5",
        "directory without a model": bad / "model_empty",
        "model folder of another architecture": models / "conv_ae",
        "truncated HDF5 weights": bad / "model_truncated",
    }
    _text(model_dirs["a file, not a directory"])
    model_dirs["directory without a model"].mkdir()
    shutil.copytree(models / "jointvae", model_dirs["truncated HDF5 weights"])
    weights = model_dirs["truncated HDF5 weights"] / "encoder.weights.h5"
    weights.write_bytes(weights.read_bytes()[:4096])

    qmodels = _common(bad, "qencoder", models / "qencoder.h5")
    qmodels["model folder of another architecture"] = models / "jointvae"
    qmodels["wrong key"] = d / "good" / "test.h5"  # an HDF5 file, but images, not a model
    qmodels["float model, quantized needed"] = models / "encoder_float.h5"

    checkpoints = {
        "a file, not a directory": bad / "model_text.h5",
        "model folder of another architecture": models / "conv_ae",
        "folder of other files": bad / "ckpt_other_files",
    }
    checkpoints["folder of other files"].mkdir()
    (checkpoints["folder of other files"] / "notes.txt").write_text("mine\n")
    return model_dirs, qmodels, checkpoints


@pytest.fixture(scope="module")
def bench(tmp_path_factory, fake_jets, make_jets, fake_run, root, make_jetnet):
    d = tmp_path_factory.mktemp("bad_inputs")
    for sub in ("bad", "good", "out"):
        (d / sub).mkdir()
    params = merge(yaml.safe_load((root / "params.yaml").read_text()),
                   yaml.safe_load((root / "workflow" / "presets" / "quick.yaml").read_text()))
    (d / "params.yaml").write_text(yaml.safe_dump(params))
    write_images(d / "good" / "train.h5", fake_jets(16, 0, 1))
    write_images(d / "good" / "val.h5", fake_jets(8, 0, 2))
    write_images(d / "good" / "test.h5", fake_jets(8, 8, 3))
    write_score_file(d / "good" / "scores.h5", *_scores())
    # TensorFlow builds the models in the background while the bad files are made
    build = subprocess.Popen([sys.executable, "-c", BUILD_MODELS], cwd=d, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env=dict(os.environ, PYTHONWARNINGS="ignore"))
    files = {"jets": jet_files(d, make_jets), "jetnet": jetnet_folders(d, make_jetnet),
             "particles": particle_jet_files(d, make_jets, make_jetnet),
             "images": image_files(d, fake_jets),
             "scores": score_files(d), "run": run_folders(d, fake_run),
             "emulation": json_files(d, "emulation", EMULATION, (
                 "emulation of another precision", dict(EMULATION, precision="p8_3"))),
             "point": json_files(d, "point", POINT, (
                 "row without its configuration",
                 {k: v for k, v in POINT.items() if k not in ("io_type", "reuse_factor")}))}
    log, _ = build.communicate(timeout=600)
    assert build.returncode == 0, log[-3000:]
    files["model_dir"], files["qmodel"], files["checkpoint"] = model_inputs(d)
    files["reduced"] = reduced_folders(d)
    return d, files


# -- the doors: command -> (stage, input kind, expected cases, argv for a bad input `p`
# with outputs under `o`). train --val and evaluate --baseline-scores go through the same
# readers as train --train and evaluate --scores: a few cases show that they are checked too.
def _subset(cases: dict, names: tuple[str, ...]) -> dict:
    return {k: cases[k] for k in names}


def _distill(o: str, **bad: str) -> list[str]:
    """jetad distill's arguments: good inputs (the QAT encoders in models/) but for `bad`."""
    inputs = {"train": "good/train.h5", "val": "good/val.h5", "test": "good/test.h5",
              "vae": "models/jointvae", "reduced": "models", **bad}
    return [*(x for k, v in inputs.items() for x in (f"--{k}", v)), "--out", f"{o}/student",
            "--scores", f"{o}/scores.h5", "--metrics", f"{o}/metrics.json", "--table",
            f"{o}/metrics.md", "--design", f"{o}/design.csv"]


def _dse(action: str, o: str, **bad: str) -> list[str]:
    """jetad dse <action>'s arguments: good inputs (quick's <16,6> encoder, the io_stream
    Latency rf4 point of its grid) but for `bad`."""
    inputs = {
        "qat": {"train": "good/train.h5", "vae": "models/jointvae", "out": f"{o}/qencoder.h5"},
        "emulate": {"model": "models/qencoder.h5", "test": "good/test.h5",
                    "out": f"{o}/emulation.json"},
        "point": {"io-type": "io_stream", "strategy": "Latency", "reuse-factor": "4",
                  "model": "models/qencoder.h5", "emulation": "good/emulation.json",
                  "project-dir": f"{o}/project", "out": f"{o}/point.json"},
        "table": {"points": "good/point.json", "csv": f"{o}/dse.csv", "md": f"{o}/dse.md",
                  "figure": f"{o}/pareto.pdf"},
    }[action]
    if action != "table":
        inputs = {"precision": "p16_6", **inputs}
    return [action, *(x for k, v in {**inputs, **bad}.items() for x in (f"--{k}", v))]


DOORS = {
    "pixelize --in": ("pixelize", "jets", JET_CASES,
                      lambda p, o: ["--in", p, "--out", f"{o}/images.h5"]),
    "jets --source file --in": ("jets", "jets", JET_CASES,
                                lambda p, o: ["--source", "file", "--in", p, "--out-dir",
                                              f"{o}/jets"]),
    "jets --source jetnet --in": ("jets", "jetnet", JETNET_CASES,
                                  lambda p, o: ["--source", "jetnet", "--in", p, "--out-dir",
                                                f"{o}/jets"]),
    "sparse --in": ("sparse", "particles", PARTICLE_CASES,
                    lambda p, o: ["--in", f"gluon={p}", "top=good/particles.h5", "--out",
                                  f"{o}/scores.h5", "--model", f"{o}/model", "--metrics",
                                  f"{o}/metrics.json", "--rtl", f"{o}/rtl", "--fpga",
                                  f"{o}/fpga.csv", "--summary", f"{o}/summary.md"]),
    "sparse --conv-ae": ("sparse", "scores",
                         _subset(SCORE_CASES, ("does not exist", "truncated HDF5", "wrong key",
                                               "NaN")),
                         lambda p, o: ["--in", "qcd=good/particles.h5",
                                       "top=good/particles.h5", "--conv-ae", p, "--out",
                                       f"{o}/scores.h5", "--model", f"{o}/model", "--metrics",
                                       f"{o}/metrics.json", "--rtl", f"{o}/rtl", "--fpga",
                                       f"{o}/fpga.csv", "--summary", f"{o}/summary.md"]),
    "split --in": ("split", "images", IMAGE_CASES,
                   lambda p, o: ["--in", p, "--train", f"{o}/train.h5", "--val", f"{o}/val.h5",
                                 "--test", f"{o}/test.h5"]),
    "train --train": ("train", "images", IMAGE_CASES,
                      lambda p, o: ["--train", p, "--val", "good/val.h5", "--model",
                                    f"{o}/model", "--metrics", f"{o}/metrics.json",
                                    "--plot", f"{o}/training.pdf"]),
    "train --val": ("train", "images",
                    _subset(IMAGE_CASES, ("truncated HDF5", "NaN", "images of the wrong shape")),
                    lambda p, o: ["--train", "good/train.h5", "--val", p, "--model",
                                  f"{o}/model", "--metrics", f"{o}/metrics.json"]),
    "train --checkpoint-dir": ("train", "checkpoint", CHECKPOINT_CASES,
                               lambda p, o: ["--train", "good/train.h5", "--val", "good/val.h5",
                                             "--model", f"{o}/model", "--metrics",
                                             f"{o}/metrics.json", "--checkpoint-dir", p]),
    "score --test": ("score", "images", IMAGE_CASES,
                     lambda p, o: ["--model", "models/jointvae", "--test", p, "--val",
                                   "good/val.h5", "--out", f"{o}/scores.h5", "--figures",
                                   f"{o}/figures"]),
    "score --val": ("score", "images",
                    {**_subset(IMAGE_CASES, ("truncated HDF5", "NaN",
                                             "images of the wrong shape")),
                     "anomalies in a background set": "8 anomalous jets (label 1) in the "
                                                      "validation set"},
                    lambda p, o: ["--model", "models/jointvae", "--test", "good/test.h5",
                                  "--val", p, "--out", f"{o}/scores.h5"]),
    "score --model": ("score", "model_dir", MODEL_DIR_CASES,
                      lambda p, o: ["--model", p, "--test", "good/test.h5", "--val",
                                    "good/val.h5", "--out", f"{o}/scores.h5"]),
    "evaluate --scores": ("evaluate", "scores", SCORE_CASES,
                          lambda p, o: ["--scores", p, "--roc", f"{o}/roc.pdf", "--metrics",
                                        f"{o}/metrics.json", "--figures", f"{o}/figures"]),
    "evaluate --baseline-scores": ("evaluate", "scores",
                                   _subset(SCORE_CASES, ("truncated HDF5", "missing column",
                                                         "NaN")),
                                   lambda p, o: ["--scores", "good/scores.h5",
                                                 "--baseline-scores", p, "--roc",
                                                 f"{o}/roc.pdf", "--metrics",
                                                 f"{o}/metrics.json"]),
    "hls --test": ("hls", "images", IMAGE_CASES,
                   lambda p, o: ["--model", "models/qencoder.h5", "--test", p, "--out-dir",
                                 f"{o}/hls", "--report", f"{o}/hls.json", "--table",
                                 f"{o}/hls.md"]),
    "hls --model": ("hls", "qmodel", QMODEL_CASES,
                    lambda p, o: ["--model", p, "--test", "good/test.h5", "--out-dir",
                                  f"{o}/hls", "--report", f"{o}/hls.json"]),
    "supervised --train": ("supervised", "images",
                           {**IMAGE_CASES, "anomalies in a background set":
                            "8 anomalous jets (label 1) in the training set"},
                           lambda p, o: ["--train", p, "--test", "good/test.h5", "--out",
                                         f"{o}/supervised.h5"]),
    "supervised --test": ("supervised", "images",
                          {**_subset(IMAGE_CASES, ("truncated HDF5", "corrupt data chunk",
                                                   "missing column", "NaN",
                                                   "images of the wrong shape")),
                           "no anomaly in the test set": "0 anomalous jets (label 1), the "
                                                         "supervised classifier needs at least "
                                                         "supervised.folds"},
                          lambda p, o: ["--train", "good/train.h5", "--test", p, "--out",
                                        f"{o}/supervised.h5"]),
    "distill --train": ("distill", "images", IMAGE_CASES,
                        lambda p, o: _distill(o, train=p)),
    "distill --val": ("distill", "images",
                      {**_subset(IMAGE_CASES, ("truncated HDF5", "NaN",
                                               "images of the wrong shape")),
                       "anomalies in a background set": "8 anomalous jets (label 1) in the "
                                                        "validation set"},
                      lambda p, o: _distill(o, val=p)),
    "distill --test": ("distill", "images",
                       _subset(IMAGE_CASES, ("0-byte file", "corrupt data chunk", "inf",
                                             "images of the wrong shape")),
                       lambda p, o: _distill(o, test=p)),
    "distill --vae": ("distill", "model_dir", MODEL_DIR_CASES, lambda p, o: _distill(o, vae=p)),
    "distill --reduced": ("distill", "reduced", REDUCED_CASES,
                          lambda p, o: _distill(o, reduced=p)),
    "dse qat --train": ("dse", "images",
                        {**_subset(IMAGE_CASES, ("does not exist", "truncated HDF5",
                                                 "corrupt data chunk", "NaN",
                                                 "images of the wrong shape")),
                         "anomalies in a background set": "8 anomalous jets (label 1)"},
                        lambda p, o: _dse("qat", o, train=p)),
    "dse qat --vae": ("dse", "model_dir", MODEL_DIR_CASES, lambda p, o: _dse("qat", o, vae=p)),
    "dse emulate --test": ("dse", "images",
                           _subset(IMAGE_CASES, ("0-byte file", "truncated HDF5",
                                                 "missing column", "inf",
                                                 "images of the wrong shape")),
                           lambda p, o: _dse("emulate", o, test=p)),
    "dse emulate --model": ("dse", "qmodel", QMODEL_CASES,
                            lambda p, o: _dse("emulate", o, model=p)),
    "dse point --model": ("dse", "qmodel",
                          _subset(QMODEL_CASES, ("a directory", "truncated HDF5",
                                                 "float model, quantized needed")),
                          lambda p, o: _dse("point", o, model=p)),
    "dse point --emulation": ("dse", "emulation", EMULATION_CASES,
                              lambda p, o: _dse("point", o, emulation=p)),
    "dse table --points": ("dse", "point", POINT_CASES,
                           lambda p, o: _dse("table", o, points=p)),
    "scan table --runs": ("scan", "run", RUN_CASES,
                          lambda p, o: ["table", "--runs", "good/run", p, "--csv",
                                        f"{o}/scan.csv", "--md", f"{o}/scan.md"]),
}
# where the file or the expected message differs from the input kind's
SPECIAL = {
    ("split --in", "images of the wrong shape"): ("images not square",
                                                  "images have shape (8, 40, 32), expected "
                                                  "(N, npix, npix)"),
    ("train --train", "images of the wrong shape"): ("images not square",
                                                     "images have shape (8, 40, 32), expected "
                                                     "(N, npix, npix)"),
    ("train --val", "images of the wrong shape"): (None, "images have shape (32, 32), the "
                                                   "training images good/train.h5 have (40, 40)"),
    ("score --test", "images of the wrong shape"): (None, "images have shape (32, 32), the "
                                                    "model models/jointvae expects (40, 40)"),
    **{(door, "images of the wrong shape"): (None, "images have shape (32, 32), the "
                                             "encoder models/qencoder.h5 expects (40, 40)")
       for door in ("hls --test", "dse emulate --test")},
    ("dse qat --train", "images of the wrong shape"): ("images not square",
                                                       "images have shape (8, 40, 32), "
                                                       "expected (N, npix, npix)"),
    **{(door, "images of the wrong shape"): ("images not square", "images have shape "
                                             "(8, 40, 32), expected (N, npix, npix)")
       for door in ("supervised --train", "distill --train")},
    **{(door, "images of the wrong shape"): (None, "images have shape (32, 32), the training "
                                             "images good/train.h5 have (40, 40)")
       for door in ("supervised --test", "distill --val", "distill --test")},
}
CASES = [(door, case) for door, (_, _, cases, _) in DOORS.items() for case in cases]
RESUME = ("train --checkpoint-dir", "checkpoint of another architecture")


def _slug(door: str, case: str) -> str:
    return "_".join((door + " " + case).replace("-", " ").replace(".", " ").split())


def _tree(d: Path) -> dict[str, tuple]:
    return {str(p.relative_to(d)): (p.is_dir(), p.stat().st_size if p.is_file() else 0,
                                    p.stat().st_mtime_ns)
            for p in d.rglob("*")}


def _argv(files: dict, door: str, case: str) -> tuple[list[str], str]:
    """The command line of one case (run in the bench folder) and the file it must name."""
    d = files["root"]
    out = f"out/{_slug(door, case)}"
    if (door, case) == RESUME:
        return ["train", "--params", "params.yaml", "--train", "good/train.h5", "--val",
                "good/val.h5", "--model", f"{out}/model", "--metrics", f"{out}/metrics.json",
                "--checkpoint-dir", "ckpt_other"], "ckpt_other/epoch-1"
    stage, kind, cases, argv = DOORS[door]
    variant = SPECIAL.get((door, case), (None,))[0]
    shown = os.path.relpath(files[kind][variant or case], d)
    # a folder's error names the file inside it that is wrong
    inside = {"truncated HDF5 weights": "encoder.weights.h5",
              "truncated encoder_float.h5": "encoder_float.h5",
              "images named encoder_float.h5": "encoder_float.h5",
              "float qencoder.h5 beside it": "qencoder.h5",
              **(RUN_FILE if kind == "run" else {}),
              **(dict.fromkeys(JETNET_CASES, "g.hdf5") if kind == "jetnet" else {})}.get(case)
    if kind == "run" and inside is None and case not in ("does not exist",
                                                         "a file, not a directory"):
        inside = "metrics.json"
    named = f"{shown}/{inside}" if inside else shown
    return [stage, "--params", "params.yaml", *argv(shown, out)], named


@pytest.fixture(scope="module")
def runs(bench, request):
    """Run the selected cases, two at a time (each is a fresh Python; the TensorFlow one
    first, as it is the longest), each with an empty output folder of its own. Returns the
    folder tree before, and per case the completed process and its output folder."""
    from concurrent.futures import ThreadPoolExecutor

    d, files = bench
    files = {**files, "root": d}
    wanted = {tuple(item.callspec.params[k] for k in ("door", "case"))
              for item in request.session.items
              if getattr(item, "callspec", None) and item.module.__name__ == __name__
              and "door" in item.callspec.params}
    order = sorted(wanted, key=lambda c: c != RESUME)
    for door, case in order:
        (d / "out" / _slug(door, case)).mkdir()
    before = _tree(d)

    def one(key):
        argv, named = _argv(files, *key)
        proc = subprocess.run([*JETAD, *argv], cwd=d, capture_output=True, text=True,
                              timeout=600)
        return key, (proc, named, d / "out" / _slug(*key))

    workers = max(1, min(2, len(os.sched_getaffinity(0))))
    with ThreadPoolExecutor(workers) as pool:
        done = dict(pool.map(one, order))
    return d, before, _tree(d), done


def _record(case: str, door: str, line: str) -> None:
    if os.environ.get("JETAD_BAD_INPUT_TABLE"):
        with open(os.environ["JETAD_BAD_INPUT_TABLE"], "a") as table:
            table.write(f"| {case} | `jetad {door}` | `{line}` |\n")


def _check_nothing_written(d: Path, before: dict, after: dict, out: Path) -> None:
    assert not any(out.iterdir()), f"written: {sorted(p.name for p in out.iterdir())}"
    changed = sorted(k for k in set(before) | set(after)
                     if before.get(k) != after.get(k) and not k.startswith("out/"))
    assert not changed, f"changed outside the output folders: {changed}"


@pytest.mark.parametrize("door,case", CASES, ids=[_slug(d, c) for d, c in CASES])
def test_bad_input_is_refused_in_one_line(runs, door, case):
    d, before, after, done = runs
    proc, named, out = done[door, case]
    stage, _, cases, _ = DOORS[door]
    expected = SPECIAL.get((door, case), (None, cases[case]))[1]
    lines = proc.stderr.splitlines()
    _record(case, door, proc.stderr.strip())
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"jetad {stage}: error: {named}: "), lines[0]
    assert expected in lines[0], lines[0]
    _check_nothing_written(d, before, after, out)


@pytest.mark.parametrize("door,case", [RESUME], ids=["train--checkpoint-dir-resume"])
def test_resuming_a_checkpoint_of_another_architecture_is_refused(runs, door, case):
    """A checkpoint under the right key whose variables do not fit the model (written by other
    code): found only once TensorFlow has built the model, so TensorFlow's own start-up lines
    come first; the error is the last line, and nothing is written or deleted."""
    d, before, after, done = runs
    proc, named, out = done[door, case]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    _record(f"{case} (after TensorFlow's start-up lines)", door, last)
    assert last.startswith(f"jetad train: error: {named}: does not fit this model or is "
                           "damaged"), last
    assert last.endswith("delete ckpt_other to start afresh"), last
    _check_nothing_written(d, before, after, out)
    assert json.loads((d / "ckpt_other" / "state.json").read_text())["epoch"] == 1
