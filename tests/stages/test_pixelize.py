"""`jetad pixelize` on a jet file: the image file it writes (the kernel's tests are in
tests/data/test_pixelize.py)."""

import subprocess
import sys

import numpy as np
import pytest

from jetad.data.images import read_images
from jetad.data.layout import Jets, write_jets
from jetad.data.nsubjettiness import ratios


@pytest.fixture
def prong_jets(jets_from_ptetaphi):
    """prong_jets(n, prongs, seed): (n, 200, 4) jets of 40 constituents spread by 0.03 around
    `prongs` centres 0.4 apart, each jet at its own (eta, phi) and orientation."""

    def jets(n: int, prongs: int, seed: int) -> np.ndarray:
        return _prong_jets(jets_from_ptetaphi, n, prongs, seed)

    return jets


def _prong_jets(jets_from_ptetaphi, n: int, prongs: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = 40
    angle = rng.uniform(0, 2 * np.pi, (n, 1))
    which = np.arange(m) % prongs
    offset = 0.4 * (which - (prongs - 1) / 2)[None, :]  # along a line, centred
    eta = offset * np.cos(angle) + rng.normal(0, 0.03, (n, m)) + rng.uniform(-1, 1, (n, 1))
    phi = offset * np.sin(angle) + rng.normal(0, 0.03, (n, m)) + rng.uniform(-3, 3, (n, 1))
    pt = rng.uniform(5, 30, (n, m))
    p4 = np.zeros((n, 200, 4), np.float32)
    p4[:, :m] = jets_from_ptetaphi(pt, eta, phi)
    return p4


def test_pixelize_stage_writes_smaller_tau21_for_two_prong_jets(tmp_path, root, prong_jets):
    """jetad pixelize on a file of one-prong (label 0) and two-prong (label 1) jets: the
    image file carries each jet's N-subjettiness, row for row, and tau21 tells them apart."""
    n = 30
    p4 = np.concatenate([prong_jets(n, 1, 1), prong_jets(n, 2, 2)])
    label = np.repeat(np.array([0, 1], np.int8), n)
    write_jets(tmp_path / "jets.h5", Jets(p4, np.zeros((2 * n, 4), np.float32),
                                          np.zeros(2 * n, np.int8), label))
    proc = subprocess.run([sys.executable, "-m", "jetad.cli", "pixelize", "--params",
                           str(root / "params.yaml"), "--in", str(tmp_path / "jets.h5"),
                           "--out", str(tmp_path / "images.h5")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "N-subjettiness (tau21, tau32) of 60 jets" in proc.stderr
    assert "INFO 60/60 jets (100%)" in proc.stderr  # the last progress line
    data = read_images(tmp_path / "images.h5")
    expected = ratios(p4)
    np.testing.assert_allclose(data.tau21, expected["tau21"], rtol=1e-6)
    np.testing.assert_allclose(data.tau32, expected["tau32"], rtol=1e-6)
    one, two = data.tau21[label == 0], data.tau21[label == 1]
    # every two-prong jet below every one-prong jet: prongs 0.4 apart, each 0.03 wide
    assert two.max() < one.min()
    assert np.median(two) < 0.5 * np.median(one)


def test_batches_give_the_bytes_of_one_batch(tmp_path, root, prong_jets, jetad):
    """Images written batch by batch (3 batches, the last ragged) are the bytes of today's
    writer of every image at once."""
    import yaml

    from jetad.data.pixelize import image_set
    from tests.data.test_images import write_at_once

    p4 = np.concatenate([prong_jets(13, 1, 3), prong_jets(12, 2, 4)])
    label = np.repeat(np.array([0, 1], np.int8), [13, 12])
    write_jets(tmp_path / "jets.h5", Jets(p4, np.zeros((25, 4), np.float32),
                                          np.zeros(25, np.int8), label))
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["pixelize"]["batch"] = 10
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    jetad(tmp_path, "pixelize", "--in", "jets.h5", "--out", "images.h5", "--threads", "1")
    cfg = params["pixelize"]
    data, _ = image_set(str(tmp_path / "jets.h5"), None, 25, cfg["npix"], cfg["deta"],
                        cfg["dphi"], batch=25, threads=1)
    data.attrs.update(npix=cfg["npix"], deta=cfg["deta"], dphi=cfg["dphi"], sources="jets.h5")
    write_at_once(tmp_path / "ref.h5", data)
    assert (tmp_path / "images.h5").read_bytes() == (tmp_path / "ref.h5").read_bytes()


def _two_inputs(tmp_path, root, prong_jets, rescale=None, sizes=(13, 12), batch=4):
    """qcd.h5 (one-prong jets) and top.h5 (two-prong jets) of `sizes` jets, and params.yaml
    with `batch` jets a batch (and `rescale`)."""
    import yaml

    for name, n, prongs, seed in zip(("qcd", "top"), sizes, (1, 2), (5, 6), strict=True):
        write_jets(tmp_path / f"{name}.h5", Jets(prong_jets(n, prongs, seed),
                                                 np.zeros((n, 4), np.float32),
                                                 np.zeros(n, np.int8),
                                                 np.full(n, int(name == "top"), np.int8)))
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["pixelize"].update(batch=batch, rescale=rescale)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))


@pytest.mark.parametrize("sizes, parts, rows, rescale", [
    # one chunk of 25 jets: the last part holds it, the others are empty
    ((13, 12), 3, [0, 0, 25], None),
    # 3 chunks of 1,024 jets, the last ragged: both parts copied compressed, chunk by chunk
    ((1300, 1300), 2, [1024, 1576], None),
    # the last part is fewer jets than a chunk (written again); the second crosses from
    # qcd.h5 into top.h5
    ((1300, 1300), 3, [1024, 1024, 552], [80.0, 800.0]),
])
def test_parts_gathered_are_the_bytes_of_one_job(tmp_path, root, prong_jets, jetad, sizes,
                                                 parts, rows, rescale):
    """Parts gathered: the bytes of the one job's file, attributes and all (batches of 500
    jets, ragged against the parts)."""
    from jetad.data.images import open_images

    _two_inputs(tmp_path, root, prong_jets, rescale, sizes, batch=500)
    inputs = ("--in", "qcd.h5", "top.h5", "--threads", "2")
    jetad(tmp_path, "pixelize", *inputs, "--out", "one.h5")
    files = [f"part{k}.h5" for k in range(parts)]
    for k, part in enumerate(files):
        log = jetad(tmp_path, "pixelize", *inputs, "--part", str(k), "--parts", str(parts),
                    "--out", part).stderr
        assert f"part {k} of {parts}: {rows[k]} jets from row {sum(rows[:k])} of " in log
    assert [open_images(tmp_path / part, allow_empty=True).n for part in files] == rows
    log = jetad(tmp_path, "pixelize", "--gather", *files, "--out", "gathered.h5").stderr
    assert f"wrote gathered.h5: {sum(sizes)} images ({sizes[0]} qcd, {sizes[1]} top)" in log
    assert (tmp_path / "gathered.h5").read_bytes() == (tmp_path / "one.h5").read_bytes()


@pytest.fixture(scope="module")
def parts_dir(tmp_path_factory, root, jets_from_ptetaphi, jetad):
    """The two inputs of _two_inputs, their one-job file one.h5, its 3 parts part<k>.h5, and
    other2.h5, the last part of images 0.03 wide in eta."""
    import yaml

    path = tmp_path_factory.mktemp("parts")
    _two_inputs(path, root, lambda n, prongs, seed: _prong_jets(jets_from_ptetaphi, n, prongs,
                                                                 seed))
    inputs = ("--in", "qcd.h5", "top.h5", "--threads", "1")
    jetad(path, "pixelize", *inputs, "--out", "one.h5")
    for k in range(3):
        jetad(path, "pixelize", *inputs, "--part", str(k), "--parts", "3",
              "--out", f"part{k}.h5")
    params = yaml.safe_load((path / "params.yaml").read_text())
    params["pixelize"]["deta"] = 0.03
    (path / "other.yaml").write_text(yaml.safe_dump(params))
    jetad(path, "pixelize", *inputs, "--part", "2", "--parts", "3", "--out", "other2.h5",
          params="other.yaml")
    return path


@pytest.mark.parametrize("parts, expected", [
    (("part0.h5", "part1.h5"), "part0.h5: a part of 3, 2 parts given"),
    (("part0.h5", "part2.h5", "part1.h5"), "part2.h5: part 2, given as part 1 (parts go in "
                                           "order)"),
    (("part0.h5", "part1.h5", "other2.h5"), "other2.h5: attributes deta differ from "
                                            "part0.h5's"),
    (("part0.h5", "part1.h5", "one.h5"), "one.h5: no attribute part, parts, start, stop, "
                                         "total; not a part written by `jetad pixelize "
                                         "--part`"),
    (("part0.h5", "part1.h5", "gone.h5"), "gone.h5"),
])
def test_gather_refuses_a_missing_or_foreign_part(parts_dir, jetad, parts, expected):
    """A part left out, out of order, of other images or no part at all: one line naming
    the file, exit 2, nothing written."""
    result = jetad(parts_dir, "pixelize", "--gather", *parts, "--out", "gathered.h5",
                   check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert not (parts_dir / "gathered.h5").exists()


@pytest.mark.parametrize("args, expected", [
    (("--in", "qcd.h5", "--gather", "part0.h5"), "give --in (the jets) or --gather (the "
                                                 "parts), one of them"),
    (("--in", "qcd.h5", "--part", "0"), "--part and --parts go together, with --in"),
    (("--in", "qcd.h5", "--part", "3", "--parts", "3"), "--part 3 --parts 3: the part must "
                                                        "be 0 to parts - 1"),
])
def test_part_arguments_are_checked_before_anything_is_read(tmp_path, root, jetad, args,
                                                            expected):
    import yaml

    (tmp_path / "params.yaml").write_text(yaml.safe_dump(
        yaml.safe_load((root / "params.yaml").read_text())))
    result = jetad(tmp_path, "pixelize", *args, "--out", "images.h5", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"jetad pixelize: error: {expected}"]
