import copy
import subprocess
import sys

import pytest
import yaml

from jetad.errors import ConfigError
from jetad.params import default, load, load_raw, validate
from jetad.stages.preset import apply
from jetad.stages.preset import text as preset_text


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
    (lambda p: p["pixelize"].update(rescale=[100.0, 50.0]),
     "pixelize.rescale: [100.0, 50.0] must be [m0, E0] with m0 < E0"),
    (lambda p: p["pixelize"].update(rescale=[0.0, 50.0]), "pixelize.rescale: 0.0 is less than"),
    (lambda p: p["pixelize"].update(rescale=[50.0]), "pixelize.rescale: [50.0] is too short"),
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
    presets = root / "workflow" / "presets"
    path = tmp_path / "params.yaml"
    quick = apply("quick", path, presets)
    assert quick["preset"] == "quick" and load_raw(path) == quick
    assert load(path)["generate"]["jets_per_chunk"]["qcd"] < 1000
    apply("thesis", path, presets)
    assert load(path)["train"]["width"] == 1.0
    # params.yaml is written from the schema and the preset alone: back to the committed file
    apply("default", path, presets)
    assert path.read_text() == (root / "params.yaml").read_text()
    with pytest.raises(ConfigError, match="no such preset"):
        apply("nope", path, presets)


def test_committed_params_yaml_is_the_default_preset(root):
    """params.yaml is generated: `jetad preset default` writes it byte for byte, every key at
    its schema default, each with its description."""
    from jetad.params import defaults

    text = (root / "params.yaml").read_text()
    assert text == preset_text("default", root / "workflow" / "presets"), (
        "params.yaml is not what `jetad preset default` writes: run it")
    assert repr(yaml.safe_load(text)) == repr(defaults())  # values, types and key order
    assert "# Temperature of the Gumbel-softmax." in text


def _leaves(spec, path=""):
    for key, sub in spec["properties"].items():
        yield f"{path}{key}", sub
        if "properties" in sub:
            yield from _leaves(sub, f"{path}{key}.")


def test_every_key_has_one_default_and_a_description():
    """A key with keys of its own (a section, train.capacity, a per-process mapping) takes
    their defaults: a default of its own would be written twice."""
    from jetad.params import schema

    for path, spec in _leaves(schema()):
        assert spec.get("description", "").strip(), f"{path}: no description"
        if "properties" in spec:
            assert "default" not in spec, f"{path}: a default besides its keys' defaults"
        else:
            assert "default" in spec, f"{path}: no default"


def test_every_schema_file_is_a_section_of_top_json():
    import json
    from importlib import resources

    folder = resources.files("jetad") / "schema"
    named = {spec["$ref"] for spec in json.loads((folder / "top.json").read_text())[
        "properties"].values() if "$ref" in spec}
    assert named == {f.name for f in folder.iterdir() if f.name.endswith(".json")} - {"top.json"}


def _repeats(overlay: dict, base: dict, path: str = "") -> list[str]:
    """The keys of `overlay` whose value is `base`'s (numbers of another type differ)."""
    found = []
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            found += _repeats(value, base[key], f"{path}{key}.")
        elif key in base and repr(value) == repr(base[key]):
            found.append(f"{path}{key}")
    return found


@pytest.mark.parametrize("name", ["quick", "default", "thesis", "jetnet"])
def test_a_preset_holds_only_what_differs_from_the_schema(root, name):
    from jetad.params import defaults

    overlay = yaml.safe_load((root / "workflow" / "presets" / f"{name}.yaml").read_text()) or {}
    assert _repeats(overlay, defaults()) == [], f"{name}.yaml repeats the schema's defaults"
    assert _repeats({"train": {"tau": 50.0, "beta": 1}}, defaults()) == ["train.tau"]


def test_the_section_classes_are_made_from_the_schema():
    from jetad.params import schema
    from jetad.sections import SECTIONS, Capacity, Train

    props = schema()["properties"]
    assert set(SECTIONS) == set(props) - {"seed", "preset"}
    for name, cls in SECTIONS.items():
        assert list(cls.__dataclass_fields__) == list(props[name]["properties"]), name
    assert Train.nested == {"capacity": Capacity}
    assert Train.__dataclass_fields__["max_train_jets"].type == "int | None"
    assert Capacity.__module__ == "jetad.sections" and Capacity.__qualname__ == "Capacity"


def _code_defaults(tree, names: dict[str, list[str]]) -> list[str]:
    """Literals in code equal to the schema default of a params key of the same name: a keyword
    default (`def f(bits=16)`), a dataclass field (`bits: int = 16`), `.get("bits", 16)`."""
    import ast
    import json

    def literal(node):
        try:
            value = ast.literal_eval(node)
        except ValueError:
            return None
        try:
            return json.dumps(list(value) if isinstance(value, tuple) else value)
        except TypeError:  # a set
            return None

    found = []
    for node in ast.walk(tree):
        pairs = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            a = node.args
            pos = a.posonlyargs + a.args
            pairs += zip([x.arg for x in pos[len(pos) - len(a.defaults):]], a.defaults,
                         strict=True)
            pairs += [(x.arg, d) for x, d in zip(a.kwonlyargs, a.kw_defaults, strict=True)
                      if d is not None]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "get" and len(node.args) == 2
              and isinstance(node.args[0], ast.Constant)):
            pairs.append((node.args[0].value, node.args[1]))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            pairs.append((node.target.id, node.value))
        for name, value in pairs:
            text = literal(value)
            if text not in (None, "null") and text in names.get(name, ()):
                found.append(f"{node.lineno}: {name} = {ast.unparse(value)}")
    return sorted(found)


def test_no_params_default_is_written_again_in_the_code(root):
    """A library function called without params takes jetad.params.default(section, key), not
    a copy of the value that would go stale when the schema's changes."""
    import ast
    import json

    from jetad.params import schema
    from jetad.sections import default_of

    names: dict[str, list[str]] = {}
    for path, spec in _leaves(schema()):
        names.setdefault(path.rsplit(".", 1)[-1], []).append(json.dumps(default_of(spec)))
    found = [f"{p.relative_to(root)}:{use}" for p in sorted((root / "src").rglob("*.py"))
             for use in _code_defaults(ast.parse(p.read_text()), names)]
    assert found == []
    # the check can fail
    bad = ast.parse("def f(x, frac_bits=9, seed=0):\n    return p.get('csim', 'integer')\n"
                    "class C:\n    reuse_factor: int = 1\n")
    assert _code_defaults(bad, names) == ["1: frac_bits = 9", "2: csim = 'integer'",
                                          "4: reuse_factor = 1"]


def test_params_explain_lists_every_key(capsys):
    from jetad.cli import main
    from jetad.params import schema

    assert main(["params", "--explain"]) == 0
    out = capsys.readouterr().out
    for path, _spec in _leaves(schema()):
        assert f"\n{path} " in out, path
    assert main(["params", "--explain", "train.capacity"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["key", "type", "default", "description"]
    assert lines[2].split()[:2] == ["train.capacity", "mapping"]
    assert any(line.split()[:3] == ["train.capacity.gamma", "number", ">="] and "30.0" in line
               for line in lines)
    assert not any(line.startswith("train.tau") for line in lines)
    assert main(["params", "--explain", "train.nope"]) == 2
    assert "params.yaml has no key train.nope" in capsys.readouterr().err


def test_snakefile_validation_exits_with_the_one_line_error(params, capsys):
    from jetad.params import validate_or_exit

    assert validate_or_exit(params) is params
    params["train"]["objective"] = "dupont"
    with pytest.raises(SystemExit) as exc:
        validate_or_exit(params, "params.yaml")
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("jetad workflow: error: params.yaml: train.objective: 'dupont' is not")
    assert err.count("\n") == 1


def test_left_out_keys_take_the_schema_default(tmp_path, params):
    del params["hls"]["cxx"], params["generate"]["ecm"], params["evaluate"]
    params["generate"]["pthat_min"] = {"qcd": 400.0}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    p = load(path)
    assert p.hls.cxx == default("hls", "cxx") == "g++"
    assert p.generate.ecm == 14000.0
    assert p.evaluate.pca_max_points == 20000
    # a per-process mapping given in part keeps the schema's values of the other processes
    assert p.generate.pthat_min == {"qcd": 400.0, "top": 500.0, "w": 450.0, "z": 450.0,
                                    "gluon": 500.0, "quark": 500.0}
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


@pytest.mark.parametrize("background,message", [
    ("higgs", "split.background: 'higgs' is not one of ['qcd', 'top', 'w', 'z', 'gluon', 'quark']"),
    (["gluon", "higgs"], "split.background: 'higgs' is not one of ['qcd', 'top', 'w', 'z', "
                         "'gluon', 'quark']"),
    ([], "split.background: [] should be non-empty"),
    (["gluon", "quark"], "split.background 'gluon' is not generated: one of "
                         "generate.backgrounds or generate.signals (qcd, top, w, z)")])
def test_a_key_of_two_forms_names_what_is_wrong_with_the_form_given(params, background, message):
    """split.background is a process or a list of them: the error of the form the value has."""
    params["split"]["background"] = background
    with pytest.raises(ConfigError) as err:
        validate(params)
    assert str(err.value) == f"params.yaml: {message}"
