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
