"""What a stage may read of params.yaml: the sections and keys of its registry entry
(jetad.pipeline.registry.declared), enforced by Params.restrict. A key declared alone
("train.kl_eps") lets the stage read that key of its section and no other, so that the
engines, which rerun a stage when what it declares changes, rerun it for that key only."""

import pytest
import yaml

from jetad.errors import UndeclaredSection
from jetad.params import load
from jetad.pipeline.registry import DSE_STAGES, INVERSE_STAGES, SCAN_STAGES, STAGES, declared


def for_stage(root, stage, action=None):
    """params.yaml as jetad.cli hands it to `jetad <stage> [<action>]`."""
    who = " ".join(filter(None, (stage, action)))
    return load(root / "params.yaml").restrict(declared(stage, action), who)


def test_a_key_declared_alone_is_the_only_one_of_its_section(root):
    assert declared("hls") == ("seed", "train.kl_eps", "hls")
    p = for_stage(root, "hls")
    assert p.train.kl_eps == p["train"]["kl_eps"] == p["train"].get("kl_eps") > 0
    assert p.hls.io_type and p.seed
    for read in (lambda: p.train.epochs, lambda: p["train"]["capacity"], lambda: dict(p.train),
                 lambda: p.train.get("beta")):
        with pytest.raises(UndeclaredSection, match=r"jetad hls reads params.yaml key "
                                                    r"'train\.\w+' but declares only "
                                                    r"train.kl_eps of that section"):
            read()
    assert "epochs" in p.train and len(p.train) == len(load(root / "params.yaml").train)
    with pytest.raises(AttributeError):
        _ = p.train.no_such_key
    with pytest.raises(UndeclaredSection, match="section 'split'"):
        _ = p.split
    assert set(p) == {"seed", "train", "hls"}
    assert p.raw["train"] == {"kl_eps": load(root / "params.yaml").train.kl_eps}


def test_the_figures_caveat_reads_data_source_only(root):
    from jetad.analysis.plots import data_note

    for stage, action in (("train", None), ("score", None), ("evaluate", None), ("qat", None),
                          ("dse", "table")):
        p = for_stage(root, stage, action)
        assert data_note(p) == "Pythia8 + FastJet jets, no detector simulation"
        with pytest.raises(UndeclaredSection, match="'data.file'"):
            _ = p.data.file


def test_generation_and_download_leave_out_the_keys_that_choose_their_jobs(root):
    """A new chunk, background, signal or file adds jobs; it does not rerun the others."""
    for stage, section, out in (("generate", "generate", {"chunks", "backgrounds", "signals"}),
                                ("download", "download", {"files"})):
        keys = {n.partition(".")[2] for n in declared(stage) if n.startswith(section + ".")}
        assert keys and not keys & out
        assert set(load(root / "params.yaml")[section]) - keys == out
    assert {"generate.chunks", "generate.backgrounds", "generate.signals", "download.files",
            "data.jetnet_classes"} <= set(declared("jets"))


def test_every_declared_key_is_written_in_params_yaml(root):
    """DVC refuses to run a stage whose declared key params.yaml leaves out (a schema default
    does not count), and Snakemake's sections() reads it as written."""
    written = yaml.safe_load((root / "params.yaml").read_text())
    for stage in (*STAGES, *DSE_STAGES, *SCAN_STAGES, *INVERSE_STAGES):
        for name in stage.params:
            section, _, key = name.partition(".")
            if name != "*":
                assert section in written, (stage.name, name)
            if key:
                assert key in written[section], (stage.name, name)
