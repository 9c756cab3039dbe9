"""`jetad sparse`: the sparse particle autoencoder of [McDermott et al.] on the JetNet
arrays of the jet files (jetad.data.particle_split: the parts of the image split): search,
train and prune on background jets (jetad.models.sparse_study), then the masked reconstruction
MSE of every test jet. The per-signal AUC in the metrics file is for information only: no
choice was made with it."""

from __future__ import annotations

import json

import numpy as np

from jetad import log
from jetad.analysis.metrics import signal_aucs
from jetad.analysis.scores import write_score_file
from jetad.atomic import file_md5, write_text
from jetad.data.images import subsample
from jetad.data.particle_split import image_jet_mass, read_particle_files, split_particles
from jetad.data.pixelize import input_processes
from jetad.errors import DataError

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
    for path, _ in inputs:
        LOG.info("read %s (JetNet arrays), md5 %s", path, file_md5(path))
    # heavy: the models import TensorFlow; they load after the inputs are checked
    from jetad.models import particle_ae
    from jetad.models.sparse_study import run_study

    train = _inputs(particle_ae, parts["train"], sp.max_train_jets, seed)
    val = _inputs(particle_ae, parts["val"], sp.max_val_jets, seed + 1)
    LOG.info("train %d, val %d, test %d jets", len(train[0]), len(val[0]), len(parts["test"]))
    study = run_study(train, val, sp, seed, LOG)
    test = parts["test"]
    score = particle_ae.scores(study.model, *particle_ae.inputs(test.particles.particles))
    write_score_file(args.out, {"mse": score}, test.label, image_jet_mass(test.particles),
                     extra={"process": test.process.astype(np.int8)},
                     attrs={"model": ARCHITECTURE})
    _write_model(args.model, study)
    write_text(args.metrics, json.dumps(_metrics(study, test, score), indent=1) + "\n")
    LOG.info("wrote %s, %s, %s", args.out, args.model, args.metrics)


def _inputs(particle_ae, part, limit: int | None, seed: int) -> tuple:
    idx = subsample(len(part), limit, seed)
    x, mask = particle_ae.inputs(part.particles.particles[idx])
    return x, mask


def _write_model(path, study) -> None:
    # heavy: the JointVAE module (its model directory format) imports TensorFlow
    from jetad.models.jointvae import save_model

    arch = study.architecture
    save_model(path, ARCHITECTURE,
               {"first_width": arch.first_width, "widths": list(arch.widths),
                "latent": arch.latent, "batch_norm": arch.batch_norm, "slope": arch.slope},
               {"model": study.model}, extra={"pruning_round": study.pruned.round})


def _metrics(study, test, score) -> dict:
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
    }
