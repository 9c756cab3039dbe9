"""`jetad dse` end to end on a tiny model: the QAT at one precision, the bit-exact emulation of the
whole encoder, one point (its hls4ml project and analytic row carrying the emulated AUC) and the
table with its Pareto flags and figure."""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from jetad.data.images import write_images


@pytest.fixture(scope="module")
def dse_workdir(tmp_path_factory, root, tiny_train, fake_jets, jetad):
    d = tmp_path_factory.mktemp("dse")
    write_images(d / "train.h5", fake_jets(96, 0, 1))
    write_images(d / "val.h5", fake_jets(32, 0, 2))
    write_images(d / "test.h5", fake_jets(40, 40, 3))
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"] = {**tiny_train, "epochs": 1, "max_train_jets": 96}
    params["qat"].update(epochs=1, max_images=96, batch_size=32)
    params["dse"] = {"precisions": [[8, 3]], "io_types": ["io_stream"],
                     "strategies": ["Resource"], "reuse_factors": [4], "n_images": 30}
    (d / "params.yaml").write_text(yaml.safe_dump(params))
    jetad(d, "train", "--train", "train.h5", "--val", "val.h5", "--model", "model",
          "--metrics", "training_metrics.json")
    return d


@pytest.mark.build
def test_one_point_end_to_end(dse_workdir, jetad):
    from jetad.fpga.design import COLUMNS, precision_of
    from jetad.quant.encoder import load_qmodel

    d = dse_workdir
    jetad(d, "dse", "qat", "--precision", "p8_3", "--train", "train.h5", "--vae", "model",
          "--out", "p8_3/qencoder.h5")
    assert precision_of(load_qmodel(str(d / "p8_3/qencoder.h5"))) == (8, 3)
    jetad(d, "dse", "emulate", "--precision", "p8_3", "--model", "p8_3/qencoder.h5",
          "--test", "test.h5", "--out", "p8_3/emulation.json")
    emu = json.loads((d / "p8_3/emulation.json").read_text())
    assert emu["n_images"] == 30 and emu["configuration"] == "io_parallel/Latency/rf1/<8,3>"
    assert set(emu["hls_emulation"]["kl_total"]) == {"all", "top"}
    assert all(0.0 <= v <= 1.0 for v in emu["hls_emulation"]["kl_total"].values())
    point = "p8_3/io_stream/Resource/rf4"
    jetad(d, "dse", "point", "--precision", "p8_3", "--io-type", "io_stream", "--strategy",
          "Resource", "--reuse-factor", "4", "--model", "p8_3/qencoder.h5", "--emulation",
          "p8_3/emulation.json", "--project-dir", f"{point}/project", "--out",
          f"{point}/point.json")
    row = json.loads((d / point / "point.json").read_text())
    assert set(COLUMNS) <= set(row)
    assert (row["config"], row["source"]) == ("io_stream/Resource/rf4/<8,3>", "analytic")
    assert row["auc_top"] == emu["hls_emulation"]["kl_total"]["top"]
    assert row["LUT_pct"] > 0 and row["latency_ns"] == 5.0 * row["latency_cycles"] > 0
    # hls4ml's YAML holds its own tags (!keras_model): read as text
    config = (d / point / "project/hls4ml_config.yml").read_text()
    assert "IOType: io_stream" in config and "Strategy: Resource" in config
    assert (d / point / "project/firmware/encoder.cpp").is_file()
    jetad(d, "dse", "table", "--points", f"{point}/point.json", "--csv", "dse.csv", "--md",
          "dse.md", "--figure", "pareto.pdf")
    (rec,) = list(csv.DictReader((d / "dse.csv").open()))
    assert rec["pareto_LUT_pct"] == rec["pareto_latency_ns"] == "True"  # alone: on the front
    assert "io_stream/Resource/rf4/<8,3>" in (d / "dse.md").read_text()
    assert (d / "pareto.pdf").read_bytes()[:4] == b"%PDF"


def test_a_point_of_another_precision_is_refused(dse_workdir, jetad):
    d = dse_workdir
    (d / "other.json").write_text(json.dumps({"precision": "p16_6", "hls_emulation": {}}))
    r = jetad(d, "dse", "point", "--precision", "p8_3", "--io-type", "io_stream", "--strategy",
              "Resource", "--reuse-factor", "4", "--model", "nothing.h5", "--emulation",
              "other.json", "--project-dir", "x/project", "--out", "x/point.json", check=False)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (
        "jetad dse: error: other.json: not the emulation of p8_3 (jetad dse emulate)")
    assert not (d / "x").exists()
