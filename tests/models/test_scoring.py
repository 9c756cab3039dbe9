"""jetad.models.scoring on a tiny trained JointVAE: a sampled latent is seeded, KL never samples."""

import numpy as np


def test_score_sample_option_is_seeded_and_kl_does_not_sample(tiny_trained, fake_jets):
    from jetad.models.jointvae import load
    from jetad.models.scoring import score_images

    model = load(tiny_trained / "model")
    x = fake_jets(8, 8, 6).images
    det = score_images(model, x, 16, sample=False, seed=1)
    s1 = score_images(model, x, 16, sample=True, seed=1)
    s2 = score_images(model, x, 16, sample=True, seed=1)
    assert np.array_equal(s1["bce"], s2["bce"])  # seeded: reproducible
    assert not np.allclose(s1["bce"], det["bce"])  # but a different reconstruction
    # KL comes from the encoder's distribution parameters in both modes.
    assert np.allclose(s1["kl_total"], det["kl_total"])


def test_class_means_added_in_batches_are_numpys_mean_of_all_at_once():
    """Float32 sums in NumPy's order: the bytes of images[label == c].mean(axis=0) whatever
    the batches (5000 rows, where summing each batch first and adding the batch sums would
    differ); zeros for a class without jets."""
    from jetad.models.scoring import ClassMeans

    rng = np.random.default_rng(3)
    images = (rng.random((5000, 6, 6), dtype=np.float32) ** 3).astype(np.float32)
    rec = rng.random((5000, 6, 6), dtype=np.float32)
    label = (rng.random(5000) < 0.3).astype(np.int8)
    acc = ClassMeans((6, 6))
    for start in range(0, 5000, 333):
        acc.add(images[start:start + 333], rec[start:start + 333], label[start:start + 333])
    mean_img, mean_rec = acc.result()
    for cls in (0, 1):
        sel = label == cls
        assert mean_img[cls].tobytes() == images[sel].mean(axis=0).tobytes()
        assert mean_rec[cls].tobytes() == rec[sel].mean(axis=0).tobytes()
    # the batch sums added up: not the same bytes, so the order above is what makes them equal
    batch_sums = sum(images[s:s + 333][label[s:s + 333] == 0].sum(axis=0)
                     for s in range(0, 5000, 333))
    assert (batch_sums / np.intp((label == 0).sum())).astype(np.float32).tobytes() \
        != mean_img[0].tobytes()
    only_bg = ClassMeans((6, 6))
    only_bg.add(images[:10], rec[:10], np.zeros(10, np.int8))
    assert only_bg.result()[0].dtype == np.float32 and not only_bg.result()[1][1].any()
    assert only_bg.result()[0][0].tobytes() == images[:10].mean(axis=0).tobytes()
