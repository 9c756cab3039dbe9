import copy
import subprocess
import sys

import pytest
import yaml

from jetad.errors import ConfigError
from jetad.params import load, load_raw, validate
from jetad.stages.preset import apply


@pytest.fixture
def params(root):
    return yaml.safe_load((root / "params.yaml").read_text())


def test_committed_params_are_valid(root):
    assert load(root / "params.yaml")["data"]["source"] == "generate"


def test_synthesis_switch_values_are_accepted(params):
    for value in (True, False, "auto"):
        p = copy.deepcopy(params)
        p["resources"].update(synthesis=value, reports=["a/conv2_b1_1"], yosys=True,
                              yosys_max_weights=50, logic_synthesis=True)
        p["hls"]["backend"] = "Vitis"
        assert validate(p)["resources"]["synthesis"] == value


@pytest.mark.parametrize("mutate,key", [
    (lambda p: p["pixelize"].update(npix_typo=40), "pixelize: Additional properties"),
    (lambda p: p["pixelize"].update(npix="forty"), "pixelize.npix: 'forty' is not of type"),
    (lambda p: p["split"].update(test_fraction=1.5), "split.test_fraction: 1.5 is greater"),
    (lambda p: p.update(sede=1), "(top level): Additional properties"),
    (lambda p: p["data"].update(source="ftp"), "data.source: 'ftp' is not one of"),
    (lambda p: p["generate"].update(jet_pt_min=700.0), "jet_pt_min must be below jet_pt_max"),
    (lambda p: p["resources"].update(synthesis="yes"),
     "resources.synthesis: 'yes' is not one of [True, False, 'auto']"),
    (lambda p: p["resources"].update(reports="copied/conv2_b1_1"),
     "resources.reports: 'copied/conv2_b1_1' is not of type 'array'"),
    (lambda p: p["resources"].update(reports=["a", "a"]), "resources.reports: ['a', 'a'] has"),
    (lambda p: p["resources"].update(yosys="on"), "resources.yosys: 'on' is not of type"),
    (lambda p: p["resources"].update(yosys_max_weights=0),
     "resources.yosys_max_weights: 0 is less than the minimum of 1"),
    (lambda p: p["resources"].update(logic_synthesis=1), "resources.logic_synthesis: 1 is not"),
    (lambda p: p["hls"].update(backend="Quartus"), "hls.backend: 'Quartus' is not one of"),
    (lambda p: p["train"].update(objective="dupont"), "train.objective: 'dupont' is not one of"),
    (lambda p: p["train"].update(objective="capacity", latent_disc=20,
                                 capacity={"gamma": 30, "cont_max": 5, "disc_max": 3.1,
                                           "epochs": 6}),
     "train.capacity.disc_max must be at most log(latent_disc) = 2.996"),
])
def test_bad_params_are_refused_naming_the_key(params, mutate, key):
    bad = copy.deepcopy(params)
    mutate(bad)
    with pytest.raises(ConfigError) as err:
        validate(bad)
    assert key in str(err.value)


def test_unknown_signal_is_one_line_naming_the_list(params):
    params["generate"]["signals"] = ["top", "hvy"]
    with pytest.raises(ConfigError) as err:
        validate(params, "params.yaml")
    assert str(err.value) == "params.yaml: generate.signals: 'hvy' is not one of ['top', 'w', 'z']"


def test_cli_refuses_bad_params_before_running(tmp_path, params):
    params["split"]["val_fraction"] = -1
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    out = tmp_path / "never.h5"
    result = subprocess.run(
        [sys.executable, "-m", "jetad.cli", "split", "--params", str(path), "--in", "x.h5",
         "--train", str(out), "--val", str(out), "--test", str(out)],
        capture_output=True, text=True)
    assert result.returncode == 2
    assert "split.val_fraction" in result.stderr
    assert not out.exists()


def test_presets_apply_and_validate(tmp_path, root):
    path = tmp_path / "params.yaml"
    path.write_text((root / "params.yaml").read_text())
    quick = apply("quick", path, root / "workflow" / "presets")
    assert quick["preset"] == "quick"
    assert load(path)["generate"]["jets_per_chunk"]["qcd"] < 1000
    apply("thesis", path, root / "workflow" / "presets")
    assert load(path)["train"]["width"] == 1.0
    # every preset changes only keys that `default` sets back: the round trip is exact
    back = apply("default", path, root / "workflow" / "presets")
    committed = load_raw(root / "params.yaml")
    assert back == dict(committed, preset="default")
    with pytest.raises(ConfigError, match="no such preset"):
        apply("nope", path, root / "workflow" / "presets")


def test_each_section_class_holds_exactly_its_schema_keys():
    """The typed sections and the JSON schema name the same keys, and every key a file may
    leave out has its default in the schema (the one home of defaults besides params.yaml)."""
    from jetad.params import schema
    from jetad.sections import SECTIONS

    props = schema()["properties"]
    assert set(SECTIONS) == set(props) - {"seed", "preset"}
    for name, cls in SECTIONS.items():
        spec = props[name]
        assert set(cls._names()) == set(spec["properties"]), name
        optional = set(spec["properties"]) - set(spec.get("required", []))
        assert {k for k in optional if "default" not in spec["properties"][k]} == set(), name
        for key, nested in cls.nested.items():
            assert set(nested._names()) == set(spec["properties"][key]["properties"])


def test_left_out_keys_take_the_schema_default(tmp_path, params):
    del params["hls"]["cxx"], params["generate"]["ecm"], params["evaluate"]
    params["generate"]["pthat_min"] = {"qcd": 400.0}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    p = load(path)
    assert p.hls.cxx is None
    assert p.generate.ecm == 14000.0
    assert p.evaluate.pca_max_points == 20000
    # a per-process mapping given in part keeps the schema's values of the other processes
    assert p.generate.pthat_min == {"qcd": 400.0, "top": 500.0, "w": 450.0, "z": 450.0}
    # the sections are typed and frozen, and read as mappings by library code
    assert p.train.capacity.epochs == params["train"]["capacity"]["epochs"]
    assert dict(p.qat)["weight_decay"] == p.qat.weight_decay == 1e-3
    with pytest.raises(AttributeError):
        p.train.epochs = 1
    # what was written, for provenance: nothing filled in
    assert "evaluate" not in p.raw and "cxx" not in p.raw["hls"]


def for_stage(path, stage):
    """params.yaml as jetad.cli hands it to `jetad <stage>`."""
    from jetad.pipeline.registry import declared

    return load(path).restrict(declared(stage), stage)


def test_a_stage_reads_only_the_sections_it_declares(root):
    from jetad.errors import UndeclaredSection

    p = for_stage(root / "params.yaml", "resources")
    assert p.hls.reuse_factor >= 1 and p["resources"].da4ml in (True, False)
    with pytest.raises(UndeclaredSection, match="jetad resources reads params.yaml section "
                                                 "'train'"):
        _ = p.train
    with pytest.raises(UndeclaredSection, match="'seed'"):
        _ = p["seed"]
    assert set(p) == {"hls", "resources"}
    assert set(for_stage(root / "params.yaml", "provenance").raw) == set(
        load_raw(root / "params.yaml"))
    with pytest.raises(UndeclaredSection, match="jetad nope is no command"):
        for_stage(root / "params.yaml", "nope")


def test_every_stage_reads_only_what_it_declares(root):
    """No stage reads a section beyond its registry entry: synth, which needs one switch of
    `resources`, gets it as --logic-synthesis and declares no section (a change of another
    resources key reruns no synthesis)."""
    from jetad.errors import UndeclaredSection
    from jetad.pipeline.registry import command, declared
    from jetad.pipeline.render import dvc_command

    assert declared("synth") == ()
    with pytest.raises(UndeclaredSection, match="'resources'"):
        _ = for_stage(root / "params.yaml", "synth").resources
    raw = yaml.safe_load((root / "params.yaml").read_text())
    for value, word in ((True, "on"), (False, "off")):
        raw["resources"]["logic_synthesis"] = value
        assert f" --logic-synthesis {word} " in dvc_command(command("synth"), raw)
    assert "*" in declared("provenance") and "*" in declared("check-params")
