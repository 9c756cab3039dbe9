"""Fixtures shared by the test modules: the project's root, scratch copies of the project,
the CLI run in-process, small jets and jet images, and Snakemake's plan of jobs. Helpers that
build things are fixtures returning a function (tests call them with their own arguments);
no test module imports another one or this file."""

import contextlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest

import jetad as _package  # noqa: F401  (sets TF_USE_LEGACY_KERAS before any TensorFlow import)

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

# a JointVAE small enough to train in seconds (params.yaml's train section)
TINY_TRAIN = {
    "latent_cont": 8, "latent_disc": 5, "objective": "beta", "beta": 1.0, "tau": 1.0,
    "kl_eps": 1e-7,
    "encoder_filters": [32, 64, 128, 128], "encoder_down_groups": 1, "encoder_res_groups": 2,
    "decoder_expand": 256, "decoder_filters": [32, 128, 128, 64], "decoder_groups": 2,
    "width": 0.125, "learning_rate": 3e-3, "weight_decay": 1e-3, "lr_factor": 0.5,
    "lr_patience": 3, "early_stopping_patience": 4, "batch_size": 32, "epochs": 2,
    "max_train_jets": 96, "max_val_jets": 32,
}


# What .ci/run installs: under CI a test skipped for want of one of these is a failure, so a
# failed or partial apt-get cannot turn the RTL, distillation and cluster tests into skips.
# (clang++ before g++: a reason naming clang++ also holds "g++")
CI_TOOLS = ("clang++", "g++", "verilator", "yosys", "slurm", "munge")


def ci_tool_skip(reason: str) -> str | None:
    """The CI tool a skip reason blames, if any."""
    return next((tool for tool in CI_TOOLS if tool in reason), None)


# The files whose module fixtures build whole projects, longest first: started first, so that
# with `--dist loadfile` they run beside the many short files instead of after them.
FIRST = ("tests/test_every_stage.py", "tests/test_integration.py", "tests/test_inputs.py",
         "tests/stages/test_dse_stage.py", "tests/stages/test_hls.py",
         "tests/cluster/test_profiles.py")


def pytest_collection_modifyitems(items):
    """Stable reorder: the files of FIRST in its order, then the rest as collected."""
    def rank(item):
        path = item.nodeid.split("::")[0]
        return FIRST.index(path) if path in FIRST else len(FIRST)

    items.sort(key=rank)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and os.environ.get("CI")) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    tool = ci_tool_skip(reason)
    if tool is not None:
        report.outcome = "failed"
        report.longrepr = (f"skipped under CI, but .ci/run installs {tool}: {reason} "
                           "(did its apt-get fail?)")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture
def env_path(monkeypatch):
    """Make `jetad`, `snakemake` and `dvc` of this environment the ones on PATH."""
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    return VENV_BIN


def _copy_project(dest: Path) -> Path:
    for name in ("Snakefile", "dvc.yaml", "params.yaml", ".dvcignore"):
        shutil.copy(ROOT / name, dest / name)
    # workflow/dse holds the on-demand DVC file of the design-space scan: a fresh project has none
    shutil.copytree(ROOT / "workflow", dest / "workflow", ignore=shutil.ignore_patterns("dse"))
    shutil.copytree(ROOT / "profiles", dest / "profiles")
    # __pycache__ is copied (with the sources' time stamps) for Numba's on-disk cache: without
    # it, every stage process of a copy compiled the pixelization and kT kernels again (~1 min)
    shutil.copytree(ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    return dest


def _compile_kernels() -> None:
    """Fill Numba's on-disk cache of this source tree, for the copies to take along."""
    from jetad.data.nsubjettiness import taus
    from jetad.data.pixelize import pixelize

    jets = np.zeros((1, 2, 4), dtype=np.float32)
    jets[0, :, 0], jets[0, :, 1], jets[0, 1, 2] = 10.0, (9.0, 2.0), 1.0
    pixelize(jets, 40, 0.029, 0.035)
    taus(jets)


@pytest.fixture(scope="session")
def copy_project():
    """copy_project(dest): a scratch copy of the workflow files and the source (not data,
    results or the venv) in dest, returned.

    The source is there because stages depend on it (dvc.yaml deps, rule inputs); to run the
    copy's code rather than the installed one, put `dest/src` first on PYTHONPATH."""
    _compile_kernels()
    return _copy_project


def _jets_from_ptetaphi(pt, eta, phi) -> np.ndarray:
    pt, eta, phi = (np.asarray(a, dtype=np.float64) for a in (pt, eta, phi))
    p4 = np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)],
                  axis=-1)
    p4[pt <= 0] = 0
    return p4.astype(np.float32)


@pytest.fixture(scope="session")
def jets_from_ptetaphi():
    """jets_from_ptetaphi(pt, eta, phi): massless constituents (N, M, 4) as (E, px, py, pz)
    from (pt, eta, phi) arrays (N, M)."""
    return _jets_from_ptetaphi


def _make_jets(n=5, seed=0):
    from jetad.data.layout import Jets

    rng = np.random.default_rng(seed)
    p4 = np.zeros((n, 200, 4), dtype=np.float32)
    k = 30
    pt = rng.uniform(1, 50, (n, k))
    phi = rng.uniform(-0.3, 0.3, (n, k))
    eta = rng.uniform(-0.3, 0.3, (n, k))
    p4[:, :k] = np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi),
                          pt * np.sinh(eta)], axis=-1)
    return Jets(p4, np.zeros((n, 4), np.float32), np.zeros(n, np.int8),
                (np.arange(n) % 2).astype(np.int8))


@pytest.fixture(scope="session")
def make_jets():
    """make_jets(n=5, seed=0): n jets of 30 constituents in the top-tagging layout (Jets),
    labels alternating 0, 1."""
    return _make_jets


def _make_jetnet(n=6, seed=0):
    from jetad.data.jetnet import N_PARTICLES, Particles

    rng = np.random.default_rng(seed)
    count = rng.integers(5, N_PARTICLES + 1, n)
    count[0] = N_PARTICLES  # one jet with every slot filled
    mask = np.arange(N_PARTICLES)[None, :] < count[:, None]
    ptrel = -np.sort(-rng.dirichlet(np.ones(N_PARTICLES), n), axis=1)
    feats = np.stack([rng.uniform(-0.5, 0.5, (n, N_PARTICLES)),
                      rng.uniform(-0.5, 0.5, (n, N_PARTICLES)), ptrel,
                      np.ones((n, N_PARTICLES))], axis=-1)
    feats[~mask] = 0.0
    jet = np.stack([rng.uniform(900, 1100, n), rng.uniform(-2, 2, n), rng.uniform(10, 200, n),
                    count + rng.integers(0, 40, n)], axis=1)
    return Particles(feats.astype(np.float32), jet.astype(np.float32))


@pytest.fixture(scope="session")
def make_jetnet():
    """make_jetnet(n=6, seed=0): n jets in the JetNet layout (Particles): 5 to 30 particles
    sorted by pT_rel, zero padded, pT around 1 TeV."""
    return _make_jetnet


def _fake_jets(n_qcd: int, n_top: int, seed: int, npix: int = 40):
    from jetad.data.images import ImageSet

    rng = np.random.default_rng(seed)
    n = n_qcd + n_top
    label = np.array([0] * n_qcd + [1] * n_top, np.int8)
    images = rng.random((n, npix, npix)).astype(np.float32) ** 12 * 0.01
    c = npix // 2
    images[:, c, c] += 1.0
    for i in np.flatnonzero(label):
        for _ in range(2):
            y, x = rng.integers(c - 8, c + 8, 2)
            images[i, y, x] += rng.uniform(0.3, 0.8)
    images /= images.sum(axis=(1, 2), keepdims=True)
    mass = np.where(label == 1, rng.normal(175, 15, n), rng.normal(80, 30, n))
    pt, eta = rng.normal(600, 20, n), rng.normal(0, 1, n)
    n_const = rng.integers(20, 80, n)
    # drawn last, so the other fields keep their values: three-prong tops have a small tau32,
    # tau21 is the same for both classes
    tau21 = rng.uniform(0.3, 0.8, n)
    tau32 = np.where(label == 1, rng.uniform(0.2, 0.6, n), rng.uniform(0.5, 0.9, n))
    return ImageSet(images, label, pt.astype(np.float32), eta.astype(np.float32),
                    mass.astype(np.float32), n_const.astype(np.int16),
                    tau21.astype(np.float32), tau32.astype(np.float32))


@pytest.fixture(scope="session")
def fake_jets():
    """fake_jets(n_qcd, n_top, seed, npix=40): random jet-like images (ImageSet) summing to 1;
    tops get three prongs, QCD one, so a score can separate them."""
    return _fake_jets


@pytest.fixture(scope="session")
def tiny_train():
    """A train section for a JointVAE small enough to train in seconds, read-only (shared by
    the session): `dict(tiny_train)` gives a copy to change or write."""
    return MappingProxyType(TINY_TRAIN)


@pytest.fixture(scope="session")
def default_params():
    """The repository's params.yaml as a stage reads it (jetad.params.load: validated, the
    schema's defaults filled in). The model and HLS configuration classes hold no defaults:
    tests build them from these sections, as the stages do."""
    from jetad.params import load

    return load(ROOT / "params.yaml")


@pytest.fixture(scope="session")
def encoder_config(default_params):
    """The reduced encoder of params.yaml's `qat` section (EncoderConfig), in front of the
    `train` section's latent space; `dataclasses.replace` it for another one."""
    from jetad.models.reduced_encoder import EncoderConfig

    p = default_params
    return EncoderConfig.from_params(p.qat, p.pixelize.npix, p.train.latent_cont,
                                     p.train.latent_disc)


@pytest.fixture(scope="session")
def hls_settings(default_params):
    """hls4ml's settings: params.yaml's `hls` section (jetad.sections.Hls); `dataclasses.replace`
    it for others."""
    return default_params.hls


@dataclass
class Result:
    returncode: int
    stderr: str


def _jetad(workdir, *args, check=True, params="params.yaml"):
    from jetad import cli

    old_cwd, old_env = os.getcwd(), os.environ.get("JETAD_PARAMS")
    err = io.StringIO()
    try:
        os.chdir(workdir)
        os.environ["JETAD_PARAMS"] = str(workdir / params)
        with contextlib.redirect_stderr(err):
            rc = cli.main(list(args))
    finally:
        os.chdir(old_cwd)
        if old_env is None:
            os.environ.pop("JETAD_PARAMS", None)
        else:
            os.environ["JETAD_PARAMS"] = old_env
        logging.getLogger().handlers.clear()
    if check and rc:
        raise AssertionError(f"jetad {args[0]} failed:\n{err.getvalue()[-3000:]}")
    return Result(rc, err.getvalue())


@pytest.fixture(scope="session")
def jetad():
    """jetad(workdir, *args, check=True, params="params.yaml"): run `jetad <args>` in workdir
    in this process (a subprocess would pay TensorFlow's import each time); returns
    (returncode, stderr) and raises when check and it failed."""
    return _jetad


# Snakemake's dry run through its Python API: every job it would run, from the JOB_INFO events
# of its logging interface (the events logger plugins receive), as JSON on stdout.
_SNAKEMAKE_JOBS = """
import json, logging, sys
from pathlib import Path
from types import MappingProxyType
from snakemake.api import SnakemakeApi
from snakemake.settings.types import (ConfigSettings, DAGSettings, OutputSettings,
                                      ResourceSettings, StorageSettings)
from snakemake_interface_logger_plugins.common import LogEvent

jobs = []

class Jobs(logging.Handler):
    def emit(self, record):
        if getattr(record, "event", None) == LogEvent.JOB_INFO and record.rule_name != "all":
            jobs.append({k: getattr(record, k) for k in ("rule_name", "input", "output",
                                                         "shellcmd", "threads")})

logging.getLogger("snakemake").addHandler(Jobs())
with SnakemakeApi(OutputSettings(dryrun=True)) as api:
    workflow = api.workflow(snakefile=Path("Snakefile"), resource_settings=ResourceSettings(cores=2),
                            config_settings=ConfigSettings(), storage_settings=StorageSettings())
    workflow.dag(DAGSettings(targets=set(sys.argv[1:]), forceall=True)).execute_workflow(
        pseudo_executor="dryrun")
json.dump(jobs, sys.stdout)
"""


def _snakemake_jobs(workdir, target="all") -> list[dict]:
    out = subprocess.run([sys.executable, "-c", _SNAKEMAKE_JOBS, target], cwd=workdir,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


@pytest.fixture(scope="session")
def snakemake_jobs():
    """snakemake_jobs(workdir, target="all"): the jobs `snakemake <target>` would run in
    workdir (all of them, as with --forceall), each a dict of rule_name, input, output,
    shellcmd and threads."""
    return _snakemake_jobs


def _score_entry(auc, lo, hi, rej):
    return {"auc": auc, "auc_68": [lo, hi], "rejection_at_eff_s_0p3": rej}


def _fake_run(name, aucs, seed=1, spread=0.5, train=None):
    """A scan run whose JointVAE scores have the given AUCs per signal: {signal: {score: auc}}."""
    metrics = {}
    for sig, scores in aucs.items():
        for s, a in scores.items():
            metrics[f"{sig}/jointvae/{s}"] = _score_entry(a, a - 0.01, a + 0.01, 10 * a)
        metrics[f"{sig}/baseline/jet_mass"] = _score_entry(0.6, 0.59, 0.61, None)
    return {"name": name, "params": {"seed": seed, "train": train or {"beta": 3.0},
                                     "evaluate": {"headline": "kl_total"}},
            "training": {"collapse": {"active_dims": 4, "latent_dims": 32,
                                      "spread_ratio": spread},
                         "val": {"bce": 1.0, "kl_cont": 2.0, "kl_disc": 0.1}},
            "metrics": metrics}


@pytest.fixture(scope="session")
def fake_run():
    """fake_run(name, aucs, seed=1, spread=0.5, train=None): a scan run as jetad.analysis.scan
    reads it, without training."""
    return _fake_run


@pytest.fixture(scope="session")
def tiny_workdir(tmp_path_factory, fake_jets, root, tiny_train):
    """A directory of tiny image files (train.h5: 120 QCD, val.h5: 40 QCD, test.h5: 60 QCD and
    60 tops) and a params.yaml that trains the tiny JointVAE, a baseline and scores in
    seconds; shared by the session, so tests write their own file names in it."""
    import yaml

    from jetad.data.images import write_images

    d = tmp_path_factory.mktemp("tiny")
    write_images(d / "train.h5", fake_jets(120, 0, 1))
    write_images(d / "val.h5", fake_jets(40, 0, 2))
    write_images(d / "test.h5", fake_jets(60, 60, 3))
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"] = dict(tiny_train)
    params["baseline"].update(epochs=2, max_train_jets=96, max_val_jets=32, batch_size=32)
    params["score"]["batch_size"] = 64
    (d / "params.yaml").write_text(yaml.safe_dump(params))
    return d


@pytest.fixture(scope="session")
def tiny_trained(tiny_workdir):
    """tiny_workdir after `jetad train`: model/, training_metrics.json (.csv), training.pdf."""
    _jetad(tiny_workdir, "train", "--train", "train.h5", "--val", "val.h5", "--model", "model",
           "--metrics", "training_metrics.json", "--plot", "training.pdf")
    return tiny_workdir


@pytest.fixture(scope="session")
def tiny_scored(tiny_trained):
    """tiny_trained after `jetad score` of test.h5: scores.h5 and figs/."""
    _jetad(tiny_trained, "score", "--model", "model", "--test", "test.h5", "--val", "val.h5",
           "--out", "scores.h5", "--figures", "figs")
    return tiny_trained
