"""jetad.atomic: outputs appear whole or not at all, and a failed command can take back the
ones it had already put in place."""

from __future__ import annotations

import pytest

from jetad import atomic


def test_a_failed_write_leaves_neither_output_nor_temporary(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert list(tmp_path.iterdir()) == []


def test_discard_removes_the_outputs_of_this_command_only(tmp_path):
    earlier = tmp_path / "earlier.txt"
    atomic.forget_written()
    atomic.write_text(earlier, "a finished command's output")
    atomic.forget_written()  # a new command starts
    atomic.write_text(tmp_path / "a.txt", "one")
    with atomic.atomic_dir(tmp_path / "model") as d:
        (d / "weights").write_text("w")
    assert atomic.written() == [tmp_path / "a.txt", tmp_path / "model"]
    assert atomic.discard_written() == [tmp_path / "model", tmp_path / "a.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["earlier.txt"]
    assert atomic.written() == [] and atomic.discard_written() == []


def test_discard_removes_the_folders_made_for_the_outputs_when_empty(tmp_path):
    atomic.forget_written()
    atomic.write_text(tmp_path / "new" / "deeper" / "a.txt", "one")
    (tmp_path / "kept").mkdir()
    atomic.write_text(tmp_path / "kept" / "b.txt", "two")
    atomic.discard_written()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]  # existed before: stays
    assert list((tmp_path / "kept").iterdir()) == []


def test_an_output_folder_made_by_make_dir_goes_when_empty(tmp_path):
    atomic.forget_written()
    folder = atomic.make_dir(tmp_path / "figures" / "evaluate")
    atomic.write_text(folder / "roc.pdf", "figure")
    assert folder.is_dir()
    atomic.discard_written()
    assert list(tmp_path.iterdir()) == []
