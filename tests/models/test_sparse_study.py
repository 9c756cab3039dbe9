"""The study's set-up from params (jetad.models.sparse_study): the space and the rewind check."""

import pytest

from jetad.errors import ConfigError
from jetad.models import sparse_study
from jetad.params import defaults
from jetad.sections import Sparse


def _sparse(**changes) -> Sparse:
    return Sparse(**{**defaults()["sparse"], **changes})


def test_the_space_is_the_sections():
    space = sparse_study.space_of(_sparse(depths=[1, 2], first_widths=[64], widths=[8, 16],
                                          latents=[4, 8, 16], leaky_slope=0.1))
    assert space.size() == 1 * (1 + 2) * 3 == len(space.candidates())
    assert {c.slope for c in space.candidates()} == {0.1}


def test_a_rewind_step_beyond_one_training_is_refused():
    sp = _sparse(epochs=2, batch_size=100, rewind_step=7)
    sparse_study.check_rewind(sp, 350)  # 2 x 4 = 8 steps
    with pytest.raises(ConfigError, match=r"sparse.rewind_step 7 is beyond the 6 steps"):
        sparse_study.check_rewind(sp, 300)


def test_a_budget_the_rounds_cannot_reach_is_refused():
    sparse_study.check_budget(_sparse(prune_fraction=0.2, prune_max_rounds=11, prune_budget=0.1))
    sparse_study.check_budget(_sparse(prune_max_rounds=0, prune_budget=None))
    with pytest.raises(ConfigError, match=r"sparse.prune_budget 0.1 needs 11 rounds of "
                                          r"sparse.prune_fraction 0.2, sparse.prune_max_rounds is 10"):
        sparse_study.check_budget(_sparse(prune_fraction=0.2, prune_max_rounds=10,
                                          prune_budget=0.1))
