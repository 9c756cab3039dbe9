"""`jetad generate`: a chunk from the command is the chunk of its seed; a bad process or signal
is one line and writes nothing (the generator's tests are in tests/data/test_generate.py)."""

import numpy as np
import pytest
import yaml

from jetad.data.generate import Cuts, chunk_seed, generate_chunk, pthat_window
from jetad.data.layout import read_jets


def write_params(tmp_path, root, split=None, **generate):
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["generate"].update(generate)
    params["split"].update(split or {})
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_a_chunk_is_the_generator_run_with_its_chunk_seed(tmp_path, root, jetad):
    path = write_params(tmp_path, root)
    result = jetad(tmp_path, "generate", "--process", "w", "--chunk", "3",
                   "--out", "w_3.h5", "--n-jets", "4")
    params = yaml.safe_load(path.read_text())
    gen = params["generate"]
    lo, hi = pthat_window(gen, "w")
    expected, stats = generate_chunk("w", 4, chunk_seed(params["seed"], "w", 3),
                                     Cuts.from_params(gen), ecm=gen["ecm"], pthat_min=lo,
                                     pthat_max=hi, progress=False)
    got = read_jets(tmp_path / "w_3.h5")
    np.testing.assert_array_equal(got.p4, expected.p4)
    np.testing.assert_array_equal(got.truth, expected.truth)
    assert (got.label == 1).all()
    assert f"4 w jets from {stats['events']} events" in result.stderr


@pytest.mark.parametrize("how", ["signals", "process"])
def test_unknown_signal_name_is_refused(tmp_path, root, jetad, how):
    params = write_params(tmp_path, root, signals=["top", "higgs"] if how == "signals" else ["top"])
    out = tmp_path / "higgs_0.h5"
    process = "higgs" if how == "process" else "top"
    run = jetad(tmp_path, "generate", "--params", str(params), "--process", process,
                "--chunk", "0", "--out", str(out), "--n-jets", "3", check=False)
    assert run.returncode == 2
    if how == "signals":
        # the schema's own check, in the house style's one line (no index, no second line)
        assert run.stderr == (f"jetad generate: error: {params}: generate.signals: 'higgs' is not "
                              "one of ['top', 'w', 'z']\n")
    else:
        assert run.stderr.startswith("jetad generate: error: ") and "higgs" in run.stderr
        assert len(run.stderr.strip().splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == [params]


def test_a_jetnet_layout_chunk_is_the_generator_run_in_jetnet_layout(tmp_path, root, jetad):
    """generate.layout jetnet: the same jets, written as JetNet's arrays, the same bytes again."""
    from jetad.data.jetnet import from_jets, read_jetnet

    path = write_params(tmp_path, root, {"background": ["gluon", "quark"]}, layout="jetnet",
                        backgrounds=["gluon", "quark"])
    for name in ("a.h5", "b.h5"):
        jetad(tmp_path, "generate", "--process", "gluon", "--chunk", "1", "--out", name,
              "--n-jets", "3")
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()
    gen = yaml.safe_load(path.read_text())["generate"]
    lo, hi = pthat_window(gen, "gluon")
    jets, _ = generate_chunk("gluon", 3, chunk_seed(2603256, "gluon", 1), Cuts.from_params(gen),
                             ecm=gen["ecm"], pthat_min=lo, pthat_max=hi, progress=False)
    got, want = read_jetnet(tmp_path / "a.h5"), from_jets(jets)
    np.testing.assert_array_equal(got.particles, want.particles)
    np.testing.assert_array_equal(got.jet, want.jet)
    assert (jets.label == 0).all()
