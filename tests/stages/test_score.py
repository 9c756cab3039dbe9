"""`jetad score` of a tiny trained JointVAE on real HDF5 files: every score of every test jet
with what the test file carries, the figures, and the errors a user meets with wrong inputs."""

from __future__ import annotations

import h5py
import numpy as np

from jetad.analysis import latent_density
from jetad.data.images import read_images, write_images


def test_score_outputs(tiny_scored):
    d = tiny_scored
    with h5py.File(d / "scores.h5") as f:
        names = list(f["scores"])
        assert names == ["mse", "bce", "dice", "pixel_diff", "total", "kl_cont", "kl_disc",
                         "kl_total", "latent_density"]
        for k in names:
            v = f["scores"][k][...]
            assert v.shape == (120,) and np.isfinite(v).all()
        assert f["label"][...].sum() == 60
        assert f["z_mean"].shape == (120, 8)
        # each jet's process copied from the test file (fake_jets: QCD 0, top 1 by label)
        np.testing.assert_array_equal(f["process"][...], f["label"][...])
        # the test file's N-subjettiness, row for row
        test = read_images(d / "test.h5")
        np.testing.assert_array_equal(f["tau21"][...], test.tau21)
        np.testing.assert_array_equal(f["tau32"][...], test.tau32)
        assert f.attrs["processes"] == "qcd,top,w,z,gluon,quark" and f.attrs["background"] == "qcd"
        # the image scores of a sampled latent beside the deterministic ones (KL needs none)
        sampled = {k: f["sampled_scores"][k][...] for k in f["sampled_scores"]}
        assert list(sampled) == ["mse", "bce", "dice", "pixel_diff", "total"]
        assert all(v.shape == (120,) and np.isfinite(v).all() for v in sampled.values())
        assert not np.array_equal(sampled["mse"], f["scores"]["mse"][...])
        assert f["logits"].shape == (120, 5)
        # every score of the 40 validation jets, which the seed ensemble standardizes by
        val = {k: f["val_scores"][k][...] for k in f["val_scores"]}
        assert list(val) == names
        assert all(v.shape == (40,) and np.isfinite(v).all() for v in val.values())
        np.testing.assert_allclose(val["kl_total"], val["kl_cont"] + val["kl_disc"])
        np.testing.assert_array_equal(f["category"][...], f["logits"][...].argmax(1))
        # the density's record: fitted to val.h5, on dimensions of the 8-dimensional latent
        assert f.attrs["val"] == "val.h5"
        dims = f.attrs["latent_density_dims"]
        assert len(dims) >= 1 and set(dims) <= set(range(8))
        assert f.attrs["latent_density_components"] >= 1
        # a full covariance only when one Gaussian's free parameters fit in the 40 val jets
        # (how many dimensions stay active depends on the training)
        fits = latent_density.n_parameters(1, len(dims), "full") <= 40
        assert f.attrs["latent_density_covariance"] == ("full" if fits else "diag")
    for fig in ("mean_images", "examples", "latent_interpolation", "weights"):
        assert (d / "figs" / f"{fig}.pdf").stat().st_size > 1000


def test_latent_density_reads_the_validation_jets(tiny_scored, fake_jets, jetad):
    """Another validation set changes the latent density and nothing else: the other scores
    are the test jets' own. The stage logs its progress: jets done and their rate."""
    d = tiny_scored
    write_images(d / "val_other.h5", fake_jets(40, 0, 7))
    p = jetad(d, "score", "--model", "model", "--test", "test.h5", "--val", "val_other.h5",
              "--out", "scores_other.h5")
    assert "40/40 jets (100%)" in p.stderr and "120/120 jets (100%)" in p.stderr
    assert "jets/s done" in p.stderr
    with h5py.File(d / "scores.h5") as a, h5py.File(d / "scores_other.h5") as b:
        for k in a["scores"]:
            same = a["scores"][k][...].tobytes() == b["scores"][k][...].tobytes()
            assert same == (k != "latent_density"), k
        # the validation scores are the other jets'
        assert not np.array_equal(a["val_scores"]["mse"][...], b["val_scores"]["mse"][...])


def test_score_refuses_baseline_model_and_wrong_shape(tiny_trained, fake_jets, jetad):
    d = tiny_trained
    jetad(d, "baseline", "--train", "train.h5", "--val", "val.h5", "--test", "test.h5",
          "--out", "b2.h5", "--model", "ae_model")
    p = jetad(d, "score", "--model", "ae_model", "--test", "test.h5", "--val", "val.h5",
              "--out", "x.h5", check=False)
    assert p.returncode == 2 and "'conv_ae' model, expected 'jointvae'" in p.stderr
    write_images(d / "small.h5", fake_jets(5, 5, 4, npix=32))
    p = jetad(d, "score", "--model", "model", "--test", "small.h5", "--val", "val.h5",
              "--out", "x.h5", check=False)
    assert p.returncode == 2 and "small.h5" in p.stderr and "(32, 32)" in p.stderr
    assert not (d / "x.h5").exists()


def test_empty_test_set_is_an_error(tiny_trained, fake_jets, jetad):
    d = tiny_trained
    empty = fake_jets(0, 0, 5)
    write_images(d / "empty.h5", empty)
    p = jetad(d, "score", "--model", "model", "--test", "empty.h5", "--val", "val.h5",
              "--out", "x.h5", check=False)
    assert p.returncode == 2 and "empty.h5: holds no jets" in p.stderr


# -- the score file of every image in memory, as jetad score wrote it before it read the test
# and validation files a chunk at a time: the reference its bytes are compared with ------------
def _whole_score_images(model, images, batch_size, sample, seed):
    import tensorflow as tf

    from jetad.analysis import scores as sc

    npix = model.cfg.npix
    spec = [tf.TensorSpec((None, npix, npix), tf.float32), tf.TensorSpec((2,), tf.int32)]

    @tf.function(input_signature=spec)
    def forward(x, s):
        return model.forward(x, training=False, sample=sample, seed=s)

    parts, recs = {}, []
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size]
        rec, logits, mean, logvar = (
            t.numpy() for t in forward(tf.constant(x), tf.constant([seed, start], tf.int32)))
        values = sc.all_scores(x, rec, mean, logvar, logits, model.cfg.kl_eps)
        for k, v in {**values, "z_mean": mean, "z_logvar": logvar, "logits": logits}.items():
            parts.setdefault(k, []).append(v)
        recs.append(rec)
    out = {k: np.concatenate(v) for k, v in parts.items()}
    out["reconstruction"] = np.concatenate(recs)
    return out


def _whole_encode_images(model, images, batch_size):
    import tensorflow as tf

    npix = model.cfg.npix

    @tf.function(input_signature=[tf.TensorSpec((None, npix, npix), tf.float32)])
    def encode(x):
        return model.encoder(x[..., None], training=False)

    means, logvars = [], []
    for start in range(0, len(images), batch_size):
        _, mean, logvar = (t.numpy() for t in encode(tf.constant(images[start:start + batch_size])))
        means.append(mean)
        logvars.append(logvar)
    return np.concatenate(means), np.concatenate(logvars)


def _whole_class_means(images, rec, label):
    mean_img, mean_rec = [], []
    for cls in (0, 1):
        sel = label == cls
        shape = images.shape[1:]
        mean_img.append(images[sel].mean(axis=0) if sel.any() else np.zeros(shape))
        mean_rec.append(rec[sel].mean(axis=0) if sel.any() else np.zeros(shape))
    return np.stack(mean_img).astype(np.float32), np.stack(mean_rec).astype(np.float32)


def _whole_score_file(d, params, out):
    """scores.h5 of model, test.h5 and val.h5 in `d`, every image and reconstruction held."""
    from jetad.analysis import scores as sc
    from jetad.models.jointvae import load

    sp, seed = params["score"], params["seed"]
    model = load(d / "model")
    test, val = read_images(d / "test.h5"), read_images(d / "val.h5")
    mean, logvar = _whole_encode_images(model, val.images, sp["batch_size"])
    density = latent_density.fit(mean, logvar, sp["density_components"],
                                 sp["density_covariance"], seed)
    res = _whole_score_images(model, test.images, sp["batch_size"], sp["sample"], seed)
    res["latent_density"] = latent_density.score(density, res["z_mean"])
    rec = res.pop("reconstruction")
    sampled = _whole_score_images(model, test.images, sp["batch_size"], True, seed)
    mean_img, mean_rec = _whole_class_means(test.images, rec, test.label)
    v = _whole_score_images(model, val.images, sp["batch_size"], sp["sample"], seed)
    v["latent_density"] = latent_density.score(density, v["z_mean"])
    extra = {
        "z_mean": res.pop("z_mean").astype(np.float32),
        "z_logvar": res.pop("z_logvar").astype(np.float32),
        "category": np.argmax(res["logits"], axis=1).astype(np.int16),
        "logits": res.pop("logits").astype(np.float32),
        "jet_pt": test.jet_pt, "tau21": test.tau21.astype(np.float32),
        "tau32": test.tau32.astype(np.float32), "process": test.process.astype(np.int8),
        "mean_image": mean_img, "mean_reconstruction": mean_rec,
        "sampled_scores": {k: sampled[k] for k in sc.IMAGE_SCORES},
        "val_scores": {k: v[k] for k in sc.NAMES},
    }
    attrs = {"model": "model", "test": "test.h5", "val": "val.h5", "sample": sp["sample"],
             "classes": "index 0 = background (label 0), 1 = anomalies (label 1) for "
                        "mean_image / mean_reconstruction",
             "processes": "qcd,top,w,z,gluon,quark",
             "background": str(test.attrs.get("background", "qcd")),
             "latent_density_dims": density.dims.astype(np.int16),
             "latent_density_components": density.components,
             "latent_density_covariance": density.covariance}
    sc.write_score_file(out, {k: res[k] for k in sc.NAMES}, test.label, test.jet_mass, extra,
                        attrs=attrs)


def test_score_file_read_in_chunks_is_the_whole_files_byte_for_byte(tiny_trained, fake_jets,
                                                                    jetad, tmp_path):
    """Test and validation files read data.chunk jets at a time (rounded down to whole
    batches: 40 -> 32, four reads of 120 test jets, the last batch short) give the bytes of the
    file scored with every image in memory: the scores of the latent means and of a sampled
    latent (/sampled_scores); labels interleaved, so each chunk adds to both class means."""
    import shutil

    import yaml

    d = tmp_path
    shutil.copytree(tiny_trained / "model", d / "model")
    jets = fake_jets(50, 70, 11)
    write_images(d / "test.h5", jets.take(np.random.default_rng(0).permutation(len(jets))))
    write_images(d / "val.h5", fake_jets(45, 0, 12))
    params = yaml.safe_load((tiny_trained / "params.yaml").read_text())
    params["score"].update(batch_size=16, sample=False)
    params["data"]["chunk"] = 40
    (d / "params.yaml").write_text(yaml.safe_dump(params))
    p = jetad(d, "score", "--model", "model", "--test", "test.h5", "--val", "val.h5",
              "--out", "scores.h5")
    assert "120 test jets from test.h5 (50 QCD, 70 top), 32 at a time" in p.stderr
    _whole_score_file(d, params, d / "whole.h5")
    assert (d / "scores.h5").read_bytes() == (d / "whole.h5").read_bytes()


def test_a_bad_row_in_a_later_chunk_is_refused_before_scoring(tiny_trained, fake_jets, jetad,
                                                              tmp_path):
    """A NaN in the third read of the test file (rows 64 to 95 with data.chunk 40, batches of
    16) ends the stage in one error naming the file and the row, before the model is loaded:
    no score file."""
    import shutil

    import yaml

    d = tmp_path
    shutil.copytree(tiny_trained / "model", d / "model")
    shutil.copy(tiny_trained / "val.h5", d / "val.h5")
    bad = fake_jets(60, 60, 3)
    bad.images[70, 5, 5] = np.nan
    write_images(d / "test.h5", bad)
    params = yaml.safe_load((tiny_trained / "params.yaml").read_text())
    params["score"]["batch_size"] = 16
    params["data"]["chunk"] = 40
    (d / "params.yaml").write_text(yaml.safe_dump(params))
    p = jetad(d, "score", "--model", "model", "--test", "test.h5", "--val", "val.h5",
              "--out", "x.h5", check=False)
    assert p.returncode == 2 and "test.h5: NaN or inf in images rows 70" in p.stderr
    assert "loaded JointVAE" not in p.stderr and not (d / "x.h5").exists()
