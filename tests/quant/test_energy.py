import pytest


def test_energy_float_vs_quantized_and_real_macs():
    from jetad.quant import encoder, energy

    r = energy.compare(encoder.build(), encoder.build(quantized=True))
    q = {row["layer"]: row for row in r["quantized"]["layers"]}
    assert q["conv1_b0_0"]["macs_qtools"] == 921_600  # 20*20*16*(3*3*16), SPEC 4
    assert q["conv1_b0_0"]["macs"] == 921_600 // 4
    assert q["dconv_b0"]["macs"] == q["dconv_b0"]["macs_qtools"] == 20 * 20 * 16 * 9
    assert q["conv1_b0_0"]["energy_pj_real"] < q["conv1_b0_0"]["energy_pj"]
    assert 0 < r["quantized"]["total_uj"] < r["float"]["total_uj"]
    assert r["saving"] == pytest.approx(1 - r["quantized"]["total_uj"] / r["float"]["total_uj"])
