"""DVC with the project's .dvc/config on a real output of over 20 MB: the workspace's files are
hard links into the cache (not second copies), a rerun replaces them without touching the
cached copies (every jetad writer renames a new file onto the old), and `dvc push` then
`dvc pull` into a fresh clone, with the remote a local folder, give the same bytes."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import numpy as np
import yaml

from jetad.data.images import write_images

OUTS = ("train.h5", "val.h5", "test.h5")
DVC_YAML = {"stages": {"split": {
    "cmd": "jetad split --in images.h5 --train train.h5 --val val.h5 --test test.h5",
    "deps": ["images.h5"], "params": ["seed", "split", "data.chunk"], "outs": list(OUTS)}}}


def run(cmd, cwd):
    env = dict(os.environ, PATH=f"{os.path.dirname(sys.executable)}{os.pathsep}"
               f"{os.environ['PATH']}")
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{cmd}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result.stdout


def cached(project, path):
    """The cache's copy of a file, by its MD5 (DVC 3's layout, files/md5/ab/cdef...)."""
    digest = hashlib.md5(path.read_bytes()).hexdigest()
    return project / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]


def test_outputs_are_linked_kept_pushed_and_pulled(tmp_path, root, fake_jets):
    project, clone, remote = tmp_path / "project", tmp_path / "clone", tmp_path / "remote"
    project.mkdir()
    run(["git", "init", "-q"], project)
    run(["dvc", "init", "-q"], project)
    shutil.copy(root / ".dvc" / "config", project / ".dvc" / "config")
    run(["dvc", "remote", "modify", "--local", "local", "url", str(remote)], project)
    assert run(["dvc", "config", "cache.type"], project).split() == ["reflink,hardlink,copy"]
    params = yaml.safe_load((root / "params.yaml").read_text())
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    (project / "dvc.yaml").write_text(yaml.safe_dump(DVC_YAML))
    jets = fake_jets(3000, 1000, 1)
    # noise in every pixel: little for gzip to squeeze, so the files are 20 MB or more
    jets.images = np.random.default_rng(2).random(jets.images.shape, dtype=np.float32) + 0.01
    write_images(project / "images.h5", jets)
    run(["dvc", "add", "images.h5"], project)
    run(["dvc", "repro"], project)
    first = {name: (project / name).read_bytes() for name in OUTS}
    assert sum(map(len, first.values())) > 15e6
    for name in OUTS:
        # one file on disk, two names: the workspace's and the cache's
        out = project / name
        assert out.stat().st_nlink == 2 and os.path.samefile(out, cached(project, out)), name

    # a rerun writes new outputs in place of the linked ones; the cache keeps the old bytes
    params["split"]["test_fraction"] = 0.3
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    run(["dvc", "repro"], project)
    assert (project / "test.h5").read_bytes() != first["test.h5"]
    for name, data in first.items():
        old = project / ".dvc" / "cache" / "files" / "md5" / hashlib.md5(data).hexdigest()[:2]
        assert (old / hashlib.md5(data).hexdigest()[2:]).read_bytes() == data, name
    assert run(["dvc", "status"], project).strip() == "Data and pipelines are up to date."

    run(["git", "add", "-A"], project)
    run(["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci", "commit", "-qm",
         "split"], project)
    run(["dvc", "push"], project)
    run(["git", "clone", "-q", str(project), str(clone)], tmp_path)
    run(["dvc", "remote", "modify", "--local", "local", "url", str(remote)], clone)
    run(["dvc", "pull"], clone)
    for name in (*OUTS, "images.h5"):
        assert (clone / name).read_bytes() == (project / name).read_bytes(), name
    assert run(["dvc", "status"], clone).strip() == "Data and pipelines are up to date."
