import pytest

# thesis Table 3.2 (nJ, float reduced encoder) and Table 3.4 (uJ)
TABLE_3_2 = {
    "dconv_b0": 87.9, "conv1_b0_0": 1382.4, "conv2_b0_0": 1382.4, "dconv_b1": 432.0,
    "conv1_b1_0": 540.0, "conv2_b1_0": 540.0, "conv1_b1_1": 540.0, "conv2_b1_1": 540.0,
    "dconv_b2": 27.0, "conv1_b2_0": 5.4, "conv2_b2_0": 5.4, "conv_fin": 2.7,
    "z_categorical": 1.5, "z_mean": 2.4, "z_var": 2.4,
}
THESIS_UJ = {"float": 5.4957, "quantized": 3.3434}


@pytest.fixture(scope="module")
def models(encoder_config):
    from jetad.models import reduced_encoder as encoder

    return encoder.build(encoder_config), encoder.build(encoder_config, quantized=True)


@pytest.fixture(scope="module")
def cmp(models, encoder_config):
    from jetad.quant import energy

    return energy.compare(*models, encoder_config)


def test_energy_float_vs_quantized_and_real_macs(cmp):
    q = {row["layer"]: row for row in cmp["quantized"]["layers"]}
    assert q["conv1_b0_0"]["macs_qtools"] == 921_600  # 20*20*16*(3*3*16), [Valente 2022] Table 3.2
    assert q["conv1_b0_0"]["macs"] == 921_600 // 4
    assert q["dconv_b0"]["macs"] == q["dconv_b0"]["macs_qtools"] == 20 * 20 * 16 * 9
    assert q["conv1_b0_0"]["energy_pj_real"] < q["conv1_b0_0"]["energy_pj"]
    assert 0 < cmp["quantized"]["total_uj"] < cmp["float"]["total_uj"]
    assert cmp["saving"] == pytest.approx(
        1 - cmp["quantized"]["total_uj"] / cmp["float"]["total_uj"])


def test_float_encoder_reproduces_thesis_tables(cmp):
    """fp16 MACs (QTools' keras_accumulator) and the include_energy total give thesis Table 3.4's
    5.4957 uJ to the last digit (fp32 gives 16.85; the sum of all four components 5.4958) and
    every row of Table 3.2."""
    assert cmp["float_type"] == "fp16"
    assert round(cmp["float"]["total_uj"], 4) == THESIS_UJ["float"]
    f = {row["layer"]: row for row in cmp["float"]["layers"]}
    assert {k: round(f[k]["energy_pj"] / 1e3, 1) for k in TABLE_3_2} == TABLE_3_2
    # 1.5 pJ per (ungrouped) MAC: Horowitz' fp16 multiply 1.1 pJ + fp16 add 0.4 pJ
    assert f["conv1_b0_0"]["components"]["op_cost"] == pytest.approx(1.5 * 921_600)


def test_quantized_encoder_near_thesis(cmp):
    # 3.3646 uJ: 0.6% above the thesis (a 17-bit residual sum feeds conv1_b1_1: jetad.quant.energy)
    assert cmp["quantized"]["total_uj"] == pytest.approx(THESIS_UJ["quantized"], rel=0.01)
    assert round(cmp["quantized"]["total_uj"], 4) == 3.3646  # the README's number
    assert cmp["saving"] == pytest.approx(0.392, abs=0.01)  # thesis: -39.2%


def test_float_type_is_the_float_mac_cost_and_leaves_quantized_alone(models, encoder_config):
    import dataclasses

    from jetad.quant import energy

    assert encoder_config.qtools_float == "fp16"
    fp32 = energy.compare(*models, dataclasses.replace(encoder_config, qtools_float="fp32"))
    fp16 = energy.compare(*models, encoder_config)
    f32 = {r["layer"]: r for r in fp32["float"]["layers"]}
    assert f32["conv1_b0_0"]["components"]["op_cost"] == pytest.approx(4.6 * 921_600)  # 3.7 + 0.9
    assert fp32["float"]["total_uj"] == pytest.approx(16.847, abs=1e-3)
    assert fp32["quantized"]["total_uj"] == fp16["quantized"]["total_uj"]
    with pytest.raises(ValueError, match="fp16"):
        energy.qtools_energy(models[0], float_type="fp64")


def test_params_carry_the_float_type(root):
    import jsonschema
    import yaml

    from jetad.models.reduced_encoder import EncoderConfig
    from jetad.params import schema

    # only the qat section: the others are not this module's
    qat = yaml.safe_load((root / "params.yaml").read_text())["qat"]
    validator = jsonschema.Draft202012Validator(schema()["properties"]["qat"])
    validator.validate(qat)
    cfg = EncoderConfig.from_params({**qat, "qtools_float": "fp32"}, 40, 32, 20)
    assert cfg.qtools_float == "fp32"
    with pytest.raises(jsonschema.ValidationError, match="fp64"):
        validator.validate({**qat, "qtools_float": "fp64"})
