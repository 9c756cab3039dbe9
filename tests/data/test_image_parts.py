"""The rows of each part of `jetad pixelize --part` (the gather's bytes and refusals are
tested on the command: tests/stages/test_pixelize.py)."""

import pytest

from jetad.data.image_parts import chunk_rows, file_rows, part_rows


@pytest.mark.parametrize("n, parts", [(25, 3), (1, 1), (2, 5), (1_200_000, 7), (1024, 4),
                                      (2600, 2), (2600, 3), (5000, 3)])
def test_the_parts_are_whole_chunks_covering_every_row_once_in_order(n, parts):
    rows = chunk_rows(n)
    ranges = [part_rows(n, k, parts) for k in range(parts)]
    assert ranges[0][0] == 0 and ranges[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    assert all(start % rows == 0 for start, _ in ranges)
    chunks = [-(-(stop - start) // rows) for start, stop in ranges]
    assert max(chunks) - min(chunks) <= 1


def test_a_file_of_one_chunk_is_one_part():
    assert chunk_rows(25) == 25 and chunk_rows(0) == 1 and chunk_rows(10**6) == 1024
    assert [part_rows(25, k, 3) for k in range(3)] == [(0, 0), (0, 0), (0, 25)]
    assert [part_rows(2600, k, 3) for k in range(3)] == [(0, 1024), (1024, 2048), (2048, 2600)]


def test_a_range_over_several_files_reads_each_in_its_own_rows():
    totals = [("qcd.h5", "qcd", 13), ("empty.h5", None, 0), ("top.h5", "top", 12)]
    assert list(file_rows(totals, 8, 16)) == [("qcd.h5", "qcd", 8, 13), ("top.h5", "top", 0, 3)]
    assert list(file_rows(totals, 0, 25)) == [("qcd.h5", "qcd", 0, 13), ("top.h5", "top", 0, 12)]
    assert list(file_rows(totals, 16, 25)) == [("top.h5", "top", 3, 12)]
    assert list(file_rows(totals, 5, 5)) == []


@pytest.mark.parametrize("part, parts", [(3, 3), (-1, 2), (0, 0)])
def test_a_part_outside_the_parts_is_refused(part, parts):
    with pytest.raises(ValueError, match=f"part {part} of {parts}"):
        part_rows(10, part, parts)
