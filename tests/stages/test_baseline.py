"""`jetad baseline` on tiny real files: the test file scored a chunk of rows at a time gives
the bytes of every test image predicted at once, and the training the same model whatever
the chunk."""

from __future__ import annotations

import shutil

import yaml

from jetad.data.images import read_images


def _whole_file_scores(d, bp, out):
    """baseline_scores.h5 as jetad baseline wrote it with every test image in memory."""
    from jetad.analysis import scores as sc
    from jetad.models import baseline_ae
    from jetad.models.jointvae import load_weights

    test = read_images(d / "test.h5")
    model = baseline_ae.build(40, tuple(bp["filters"]), bp["latent"])
    load_weights(d / "ae", {"model": model})
    rec = model.predict(test.images, batch_size=bp["batch_size"] * 2, verbose=0)
    sc.write_score_file(out, {"mse": sc.mse(test.images, rec)}, test.label, test.jet_mass,
                        attrs={"model": "conv_ae", "test": "test.h5",
                               "params": int(model.count_params())})


def test_baseline_in_chunks_is_the_whole_files_byte_for_byte(tiny_workdir, jetad, tmp_path):
    """data.chunk 40 with prediction batches of 16: reads of 32 test jets (the last short);
    data.chunk 7: reads of one batch, smaller than the training subsets' chunks."""
    d = tmp_path
    for name in ("train.h5", "val.h5", "test.h5"):
        shutil.copy(tiny_workdir / name, d / name)
    outs = []
    for chunk in (40, 7):
        params = yaml.safe_load((tiny_workdir / "params.yaml").read_text())
        params["baseline"]["batch_size"] = 8
        params["data"]["chunk"] = chunk
        (d / "params.yaml").write_text(yaml.safe_dump(params))
        p = jetad(d, "baseline", "--train", "train.h5", "--val", "val.h5", "--test", "test.h5",
                  "--out", "scores.h5", "--model", "ae")
        assert "120/120 jets (100%)" in p.stderr
        _whole_file_scores(d, params["baseline"], d / "whole.h5")
        outs.append((d / "scores.h5").read_bytes())
        assert outs[-1] == (d / "whole.h5").read_bytes(), chunk
    assert outs[0] == outs[1]
