"""`jetad sparse` on a few hundred JetNet-like jets: its outputs, and a choice that does not
move when the test signals change."""

import json
import shutil
from functools import partial

import numpy as np
import pytest
import yaml

from jetad.analysis.scores import read_score_file, write_score_file
from jetad.data.jetnet import add_to_jet_file, to_jets
from jetad.data.layout import write_jets

TINY = {"depths": [1, 2], "first_widths": [16], "widths": [4, 8], "latents": [2],
        "supernet_epochs": 2, "epochs": 2, "batch_size": 64, "calibration_jets": 100,
        "rewind_step": 1, "prune_fraction": 0.5, "prune_tolerance": 10.0, "prune_max_rounds": 2,
        "qat_epochs": 1, "rtl": False}


def _workdir(tmp_path, root, make_jetnet, signal_seed: int, spread: float):
    made = tmp_path / "made"
    made.mkdir(parents=True)
    for i, name in enumerate(("gluon", "quark", "top")):
        data = make_jetnet(160, seed=i if name != "top" else signal_seed)
        if name == "top":  # wider jets (spread > 1): an anomaly the autoencoder misses
            data.particles[:, :, :2] *= spread
        write_jets(made / f"{name}.h5", to_jets(data, name),
                   extend=partial(add_to_jet_file, data=data))
        # copied: jetad.atomic records what this process wrote, and the in-process CLI would
        # remove it after a failed command
        shutil.copy(made / f"{name}.h5", tmp_path / f"{name}.h5")
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["split"]["background"] = ["gluon", "quark"]
    params["generate"].update(backgrounds=["gluon", "quark"], layout="jetnet")
    params["sparse"] = dict(params["sparse"], **TINY)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


def _conv_ae_file(workdir, params_of_model: int = 1234, flip: bool = False):
    """A score file as jetad baseline writes it for the images of the same test jets (their
    labels and pixelize's jet masses), its score the jet mass; `flip`: one label changed."""
    from jetad.data.particle_split import image_jet_mass, read_particle_files, split_particles
    from jetad.params import load

    params = load(workdir / "params.yaml")
    data, process = read_particle_files([(str(workdir / f"{n}.h5"), n)
                                         for n in ("gluon", "quark", "top")])
    test = split_particles(data, process, params.split.background, params.split.test_fraction,
                           params.split.val_fraction, params.seed)["test"]
    mass = image_jet_mass(test.particles)
    label = test.label.copy()
    label[0] ^= flip
    write_score_file(workdir / "conv_ae.h5", {"mse": mass.astype(np.float64)}, label, mass,
                     attrs={"model": "conv_ae", "params": params_of_model})
    return "conv_ae.h5"


def _run(jetad, workdir, *conv_ae, check=True):
    done = jetad(workdir, "sparse", "--in", "gluon.h5", "quark.h5", "top.h5", *conv_ae,
                 "--out", "scores.h5", "--model", "model", "--metrics", "metrics.json", "--rtl",
                 "rtl", "--fpga", "fpga.csv", "--summary", "summary.md", check=check)
    if not check:
        return done
    return json.loads((workdir / "metrics.json").read_text()), read_score_file(
        workdir / "scores.h5")


@pytest.mark.slow
def test_sparse_stage_writes_a_pruned_model_and_its_choice_ignores_the_signals(
        tmp_path, root, make_jetnet, jetad):
    workdir = _workdir(tmp_path / "a", root, make_jetnet, 2, 3.0)
    first, scores = _run(jetad, workdir, "--conv-ae", _conv_ae_file(workdir))
    assert len(first["search"]) == 1 * (1 + 2) * 1
    assert first["pruning_round"] == 2 and [r["round"] for r in first["pruning"]] == [0, 1, 2]
    kernel_total = first["pruning"][0]["kernel_kept"]
    assert abs(first["sparsity"] - 0.75) <= 0.5 * 2 * 2 / kernel_total  # up to 4 layers
    assert first["nonzero_params"] < first["params_dense"]
    # 25% of 320 background jets and all 160 tops
    assert len(scores["label"]) == first["test_jets"] == 80 + 160
    assert set(first["auc_for_information_only"]) == {"all", "top"}
    # other signal jets, the same background: search, choice and pruning are unchanged
    second, _ = _run(jetad, _workdir(tmp_path / "b", root, make_jetnet, 7, 1.0))
    for key in ("search", "search_chosen", "pruning", "architecture", "nonzero_params"):
        assert second[key] == first[key]
    assert first["auc_for_information_only"]["top"] > 0.9
    assert second["auc_for_information_only"]["top"] < 0.8
    np.testing.assert_array_equal(scores["label"][:80], 0)
    # the scaler is the training background's: the same for both sets of signal jets
    assert second["scaler"] == first["scaler"] and first["scaler"]["std"][2] > 0
    # QAT without the RTL route: scores, an empty FPGA table, the summary's rows
    assert set(scores["scores"]) == {"mse", "mse_dense", "mse_qat"}
    assert first["qat"]["rtl"] is None and first["qat"]["nonzero_weights"] > 0
    summary = (tmp_path / "a" / "summary.md").read_text()
    for row in ("sparse AE (searched", "dense AE (searched, unpruned)", "QAT", "not run on these "
                "jets", "jet mass", "1 - tau21", "1 - tau32", "0.9061"):
        assert row in summary
    # the conv AE's row: its parameters, and its score (here the jet mass) gives its AUCs
    conv = next(line for line in summary.splitlines() if line.startswith("| CNN AE"))
    mass = next(line for line in summary.splitlines() if line.startswith("| jet mass"))
    assert conv.split("|")[2:4] == mass.split("|")[2:4] and "| 1234 |" in conv
    assert (tmp_path / "a" / "fpga.csv").read_text().startswith("config,")


def test_a_conv_ae_score_file_of_other_jets_is_one_line_and_exit_2(tmp_path, root, make_jetnet,
                                                                   jetad):
    workdir = _workdir(tmp_path, root, make_jetnet, 2, 3.0)
    result = _run(jetad, workdir, "--conv-ae", _conv_ae_file(workdir, flip=True), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().endswith("conv_ae.h5: not the 240 test jets of these jet files "
                                          "(its 240 jets differ in label or jet mass; jetad "
                                          "baseline on the split of the images pixelize made of "
                                          "them)")
    assert not (workdir / "scores.h5").exists()


def test_jet_files_without_jetnet_arrays_are_one_line_and_exit_2(tmp_path, root, make_jets,
                                                                   jetad):
    made = tmp_path / "made"
    made.mkdir()
    for name in ("gluon", "top"):
        write_jets(made / f"{name}.h5", make_jets(6))
        shutil.copy(made / f"{name}.h5", tmp_path / f"{name}.h5")
    shutil.copy(root / "params.yaml", tmp_path / "params.yaml")
    result = jetad(tmp_path, "sparse", "--in", "gluon.h5", "top.h5", "--out", "s.h5",
                   "--model", "m", "--metrics", "m.json", "--rtl", "r", "--fpga", "f.csv",
                   "--summary", "s.md", check=False)
    assert result.returncode == 2
    assert "gluon.h5: no group 'jetnet' of JetNet arrays" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "s.h5").exists()
