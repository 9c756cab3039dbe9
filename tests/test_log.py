"""What a user sees in the terminal: each stage's own lines, not the libraries' start-up chatter
(TensorFlow's CUDA probing and absl lines, FastJet's banner, Python warnings of tf_keras), which
go to the stage's log file (jetad.log)."""

import contextlib
import io
import logging
import os
import re
import subprocess
import sys

import pytest
import yaml

from jetad import log

JETAD = [sys.executable, "-m", "jetad.cli"]
# what TensorFlow, absl, FastJet and Pythia print by themselves (C++ log lines start "I0000 ...")
NOISE = re.compile(
    r"absl::InitializeLog|cuda drivers|cuInit|NodeDef mentions|oneDNN|cpu_feature_guard"
    r"|^[IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\]|FastJet release|Please cite|PYTHIA|UserWarning"
    r"|tensorflow WARNING|absl INFO|Sharding callback", re.M)


def _user_env():
    """The environment of a fresh shell: no TF_CPP_MIN_LOG_LEVEL (jetad sets its own)."""
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return env


def _run(workdir, *args):
    run = subprocess.run([*JETAD, *args], cwd=workdir, capture_output=True, text=True,
                         env=_user_env(), timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def test_a_tensorflow_stage_shows_its_own_lines_only(tiny_workdir):
    params = yaml.safe_load((tiny_workdir / "params.yaml").read_text())
    params["train"].update(epochs=1, max_train_jets=32, max_val_jets=32)
    (tiny_workdir / "log_params.yaml").write_text(yaml.safe_dump(params))
    run = _run(tiny_workdir, "train", "--params", "log_params.yaml", "--train", "train.h5",
               "--val", "val.h5", "--model", "log_model", "--metrics", "log_metrics.json",
               "--log", "logs/train.log")
    assert not NOISE.search(run.stderr), run.stderr
    assert not run.stdout
    assert re.search(r"jetad\.train INFO epoch 1/1: ", run.stderr)
    assert "jetad.train INFO wrote model" in run.stderr
    logged = (tiny_workdir / "logs" / "train.log").read_text()
    # the log file has every line of the terminal, and what was kept off it
    assert all(line in logged for line in run.stderr.splitlines())


def test_generate_shows_its_own_lines_and_logs_fastjets_banner_once(tmp_path, root):
    params = yaml.safe_load((root / "params.yaml").read_text())
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    run = _run(tmp_path, "generate", "--process", "top", "--chunk", "0", "--out", "top_0.h5",
               "--n-jets", "3", "--log", "logs/top_0.log")
    assert not NOISE.search(run.stderr), run.stderr
    assert not run.stdout  # FastJet printed its banner on stdout
    assert "jetad.generate INFO wrote top_0.h5: 3 top jets" in run.stderr
    logged = (tmp_path / "logs" / "top_0.log").read_text()
    assert logged.count("FastJet release") == 1 and "jetad.generate INFO wrote" in logged


_ROUTES = """
import logging, os, subprocess, sys, warnings
from jetad import log
log.setup(logfile=sys.argv[1])
os.write(2, b"native line\\n")
subprocess.run(["sh", "-c", "echo child line >&2"], check=True)
logging.getLogger("tensorflow").warning("library chatter")
warnings.warn("a library warning")
logging.getLogger("jetad.x").info("own line")
logging.getLogger("somelib").error("library error")
print("python stderr line", file=sys.stderr)
"""


def test_routes_of_each_kind_of_output(tmp_path):
    logfile = tmp_path / "logs" / "x.log"
    run = subprocess.run([sys.executable, "-c", _ROUTES, str(logfile)], capture_output=True,
                         text=True, check=True)
    terminal = run.stderr.splitlines()
    assert [t.split(" ", 2)[-1] for t in terminal[:2]] == ["jetad.x INFO own line",
                                                           "somelib ERROR library error"]
    assert terminal[2:] == ["python stderr line"]
    logged = logfile.read_text()
    for text in ("native line", "child line", "tensorflow WARNING library chatter",
                 "UserWarning: a library warning", "jetad.x INFO own line",
                 "somelib ERROR library error"):
        assert text in logged
    assert "python stderr line" not in logged


def test_without_a_log_file_everything_stays_on_stderr(tmp_path):
    script = _ROUTES.replace("log.setup(logfile=sys.argv[1])", "log.setup()")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, cwd=tmp_path)
    for text in ("native line", "child line", "library chatter", "a library warning",
                 "own line", "library error", "python stderr line"):
        assert text in run.stderr
    assert not list(tmp_path.iterdir())


def test_a_caller_that_redirected_stderr_keeps_it(tmp_path):
    """In-process runs (the tests' `jetad` fixture) capture sys.stderr: setup must not move
    descriptor 2 under them, and the captured stream gets the stage's lines."""
    from jetad import log

    before = os.fstat(2)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            log.setup(logfile=str(tmp_path / "in.log"))
            assert os.fstat(2) == before and sys.stderr is err
            log.get("jetad.x").info("own line")
    finally:
        for handler in logging.getLogger().handlers:
            handler.close()
        logging.getLogger().handlers.clear()
        logging.captureWarnings(False)
    assert "jetad.x INFO own line" in err.getvalue()
    assert "own line" in (tmp_path / "in.log").read_text()


@pytest.mark.parametrize("calls", [1, 2])
def test_setup_again_starts_from_the_original_stderr(tmp_path, calls):
    script = ("import os, sys\nfrom jetad import log\n"
              + "".join(f"log.setup(logfile=sys.argv[1] + '{i}')\n" for i in range(calls))
              + "log.setup()\nos.write(2, b'native line\\n')\nlog.get('jetad.x').info('own')\n")
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path / "x.log")],
                         capture_output=True, text=True, check=True)
    assert "native line" in run.stderr and "jetad.x INFO own" in run.stderr
    for i in range(calls):
        assert "native line" not in (tmp_path / f"x.log{i}").read_text()


def test_progress_logs_at_the_interval_with_count_share_and_rate(caplog):
    clock = iter([0.0, 10.0, 31.0, 40.0, 70.0, 80.0])
    logger = log.get("jetad.test")
    with caplog.at_level("INFO", logger="jetad.test"):
        with log.Progress(logger, 1000, "jets", every=30.0, clock=lambda: next(clock)) as bar:
            bar.update(100)   # t=10: quiet
            bar.update(200)   # t=31: a line, 300 jets in 31 s
            bar.update(100)   # t=40: quiet, 9 s after the last line
            bar.update(600)   # t=70: a line
        # close at t=80
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["300/1,000 jets (30%), 10 jets/s",
                     "1,000/1,000 jets (100%), 14 jets/s",
                     "1,000/1,000 jets (100%), 12 jets/s done"]
