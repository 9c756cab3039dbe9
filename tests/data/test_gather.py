"""Jets gathered a chunk at a time: the same bytes as writing each output's jets at once, and a
bad row in a middle chunk stops everything with no output left."""

import warnings

import numpy as np
import pandas as pd
import pytest

from jetad.data.gather import gather
from jetad.data.layout import KEY, Jets, to_frame, write_jets
from jetad.errors import DataError

PARAMS = {"generate": {"chunks": [0, 1], "backgrounds": ["qcd"], "signals": ["top"]}}


def put_at_once(path, jets):
    """The writer before jets were written in pieces: one pandas put of every jet."""
    with warnings.catch_warnings(), pd.HDFStore(path, mode="w", complevel=1,
                                                complib="zlib") as store:
        warnings.simplefilter("ignore")
        store.put(KEY, to_frame(jets), format="table", track_times=False, index=False)


@pytest.mark.parametrize("chunk", [10, 25, 1000])  # 3 chunks (a ragged last one), 1, 1
def test_chunks_give_the_bytes_of_one_write(tmp_path, make_jets, chunk):
    jets = make_jets(25, seed=3)  # labels alternate: 13 QCD, 12 top
    write_jets(tmp_path / "own.h5", jets)
    done = gather("file", [str(tmp_path / "own.h5")], {}, tmp_path / "out", chunk)
    assert done.read == {str(tmp_path / "own.h5"): (25, 13, 12)}
    for label, name in enumerate(("qcd", "top")):
        put_at_once(tmp_path / f"{name}_ref.h5", jets.take(jets.label == label))
        assert ((tmp_path / "out" / f"{name}.h5").read_bytes()
                == (tmp_path / f"{name}_ref.h5").read_bytes())


def test_generated_chunks_give_the_bytes_of_one_write(tmp_path, make_jets):
    files, parts = [], {"qcd": [], "top": []}
    for name, label in (("qcd", 0), ("top", 1)):
        for c in (0, 1):
            jets = make_jets(7 + c, seed=10 * label + c)
            jets.label[:] = label
            write_jets(tmp_path / f"{name}_{c}.h5", jets)
            files.append(str(tmp_path / f"{name}_{c}.h5"))
            parts[name].append(jets)
    gather("generate", files, PARAMS, tmp_path / "out", 3)
    for name, jets in parts.items():
        put_at_once(tmp_path / "ref.h5", Jets.concatenate(jets))
        assert (tmp_path / "out" / f"{name}.h5").read_bytes() == (tmp_path / "ref.h5").read_bytes()


@pytest.mark.parametrize("row", [13, 24])  # the middle chunk, the ragged last one
def test_a_bad_row_in_a_later_chunk_leaves_no_output(tmp_path, make_jets, row):
    jets = make_jets(25, seed=4)
    jets.p4[row, 2, 1] = np.nan
    path = tmp_path / "own.h5"
    put_at_once(path, jets)  # write_jets would refuse the NaN
    with pytest.raises(DataError, match=f"own.h5: NaN or inf in rows {row}$"):
        gather("file", [str(path)], {}, tmp_path / "out", 10)
    assert list((tmp_path / "out").iterdir()) == []


def test_a_generated_chunk_of_the_wrong_label_is_refused(tmp_path, make_jets):
    files = []
    for name in ("qcd", "top"):
        for c in (0, 1):
            jets = make_jets(6, seed=c)
            jets.label[:] = int(name == "top")
            if (name, c) == ("top", 1):
                jets.label[4] = 0
            write_jets(tmp_path / f"{name}_{c}.h5", jets)
            files.append(str(tmp_path / f"{name}_{c}.h5"))
    with pytest.raises(DataError, match="top_1.h5: is_signal_new must be 1 in a top chunk"):
        gather("generate", files, PARAMS, tmp_path / "out", 4)
    assert list((tmp_path / "out").iterdir()) == []
