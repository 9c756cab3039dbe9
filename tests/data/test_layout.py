import numpy as np
import pandas as pd
import pytest

from jetad.data.layout import COLUMNS, read_jets, write_jets
from jetad.errors import DataError


def test_roundtrip_in_published_layout(tmp_path, make_jets):
    jets = make_jets()
    path = tmp_path / "jets.h5"
    write_jets(path, jets)
    back = read_jets(path)
    np.testing.assert_array_equal(back.p4, jets.p4)
    np.testing.assert_array_equal(back.label, jets.label)
    frame = pd.read_hdf(path, "table")
    assert list(frame.columns) == COLUMNS and len(COLUMNS) == 806
    assert COLUMNS[:5] == ["E_0", "PX_0", "PY_0", "PZ_0", "E_1"]
    assert COLUMNS[-2:] == ["ttv", "is_signal_new"]
    import tables

    with tables.open_file(path) as h5:
        table = h5.root.table.table
        assert table.coldescrs["values_block_0"].shape == (804,)
        assert table.coldescrs["values_block_1"].shape == (2,)


def test_same_jets_give_same_bytes(tmp_path, make_jets):
    jets = make_jets()
    write_jets(tmp_path / "a.h5", jets)
    write_jets(tmp_path / "b.h5", jets)
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()


def write_raw(path, frame):
    frame.to_hdf(path, key="table", mode="w", format="table")


@pytest.mark.parametrize("defect,message", [
    ("nan", r"NaN or inf in rows 2"),
    ("negative", r"negative constituent energy in rows 1"),
    ("empty", r"jet with no constituent in rows 3"),
])
def test_bad_rows_are_refused_naming_file_and_rows(tmp_path, defect, message, make_jets):
    jets = make_jets()
    frame = pd.DataFrame(
        np.concatenate([jets.p4.reshape(5, -1), jets.truth], axis=1), columns=COLUMNS[:804])
    frame["ttv"] = 0
    frame["is_signal_new"] = jets.label.astype(int)
    if defect == "nan":
        frame.loc[2, "PX_3"] = np.nan
    elif defect == "negative":
        frame.loc[1, "E_0"] = -1.0
    else:
        frame.iloc[3, :800] = 0.0
    path = tmp_path / "bad.h5"
    write_raw(path, frame)
    with pytest.raises(DataError, match=f"bad.h5: {message}"):
        read_jets(path)


def test_wrong_columns_and_key_are_refused(tmp_path):
    path = tmp_path / "cols.h5"
    frame = pd.DataFrame(np.ones((2, 806)), columns=COLUMNS)
    frame = frame.rename(columns={"PY_7": "PZ_7", "PZ_7": "PY_7"})
    write_raw(path, frame)
    with pytest.raises(DataError, match=r"cols.h5: column 30 is 'PZ_7', expected 'PY_7'"):
        read_jets(path)
    other = tmp_path / "key.h5"
    frame.to_hdf(other, key="jets", mode="w", format="table")
    with pytest.raises(DataError, match=r"key.h5: no key 'table'"):
        read_jets(other)
    short = tmp_path / "short.h5"
    write_raw(short, pd.DataFrame(np.ones((2, 10))).rename(columns=str))
    with pytest.raises(DataError, match=r"short.h5: 10 columns, expected 806"):
        read_jets(short)
    with pytest.raises(DataError, match="missing.h5: no such file"):
        read_jets(tmp_path / "missing.h5")
