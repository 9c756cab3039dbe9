"""jetad.analysis.encoder_metrics: the large model's scores are refused when they are of other jets."""

from __future__ import annotations

import numpy as np
import pytest


def test_qat_refuses_scores_of_other_jets(tiny_scored, tmp_path):
    from jetad.analysis.encoder_metrics import large_model_scores
    from jetad.analysis.scores import read_score_file, write_score_file
    from jetad.errors import DataError

    s = read_score_file(tiny_scored / "scores.h5")
    keep = np.arange(len(s["label"]) - 1)
    write_score_file(tmp_path / "short.h5", {k: v[keep] for k, v in s["scores"].items()},
                     s["label"][keep], s["jet_mass"][keep])
    with pytest.raises(DataError, match="short.h5: labels differ"):
        large_model_scores(tmp_path / "short.h5", s["label"])
