"""summary.md (jetad.analysis.summary) leads with the declared detector output; the table of
every score follows, labelled as a comparison from which a score picked by its AUC is no
result."""

from jetad.analysis import headline, summary
from jetad.analysis.headline import DIAGNOSTIC

from .test_headline import RESULTS

BEYOND = {
    "mass_windows": {"bin_gev": 20.0, "min_jets": 200, "per_signal": {
        "top": [{"lo": 160.0, "hi": 180.0, "n_background": 210, "n_signal": 900, "auc": 0.61}],
        "w": [], "z": []}},
    "sculpting": {"eps_b": 0.01, "threshold": 3.5, "n_before": 5000, "n_after": 50,
                  "bin_gev": 20.0, "edges": [0.0, 400.0], "jsd": 0.42, "jsd_random": 0.31},
    "trigger": [{"acceptance": 0.01, "threshold": 3.5, "background_pass": 50,
                 "n_background": 5000, "realized_acceptance": 0.01,
                 "efficiency": {"top": 0.2, "w": 0.03, "z": 0.05}}],
}
SIGNALS = ["top", "w", "z"]


def _summary(score: str) -> str:
    fom = headline.figures_of_merit(RESULTS, score, SIGNALS)
    table = summary.rows(RESULTS, ["jointvae/bce", "jointvae/kl_total"], SIGNALS,
                         headline.key(score))
    return summary.to_markdown(table, "qcd", summary.headline_markdown(fom, BEYOND, "qcd"))


def _first_table(md: str) -> list[list[str]]:
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def test_the_summary_leads_with_the_declared_score_and_follows_its_key():
    md = _summary("kl_total")
    assert md.startswith("## Detector output: KL total (`evaluate.headline: kl_total`)")
    rows = _first_table(md)
    assert [r[0] for r in rows] == ["top", "W", "Z", "worst case (lowest over the signals)"]
    assert rows[1][1:3] == ["0.700 [0.690, 0.710]", "8.0 [7.0, 9.0]"]
    assert rows[0][2] == "inf (no background left)"
    assert rows[3][1:3] == ["0.700 (W)", "5.0 (Z)"]
    # the same results with another declared key: another score leads, with its own numbers
    md = _summary("bce")
    assert md.startswith("## Detector output: BCE (`evaluate.headline: bce`)")
    rows = _first_table(md)
    assert rows[0][1] == "0.950 [0.940, 0.960]" and rows[3][1:3] == ["0.600 (W)", "3.0 (W)"]


def test_beyond_the_mass_and_the_trigger_view_are_in_the_headline_section():
    md = _summary("kl_total")
    head, rest = md.split("## Every score and baseline, for comparison")
    assert "| top | 160-180 | 210 | 900 | 0.610 |" in head
    assert "| W | none |" in head and "Jensen-Shannon distance (base 2)" in head
    assert "in bins of 20 GeV from 0 to 400 GeV" in head and "give 0.310 (median)" in head
    assert "| 0.01 | 3.5 | 50 of 5000 | 0.200 | 0.030 | 0.050 |" in head
    # the comparison table of every score comes after, labelled
    assert f"by its AUC on a signal is {DIAGNOSTIC}." in rest
    assert "| BCE " in rest and "| BCE " not in head


def test_the_csvs_flag_the_headline_and_list_windows_and_working_points():
    table = summary.rows(RESULTS, ["jointvae/bce", "jointvae/kl_total"], SIGNALS,
                         "jointvae/kl_total")
    assert [(r["key"], r["headline"]) for r in table if r["signal"] == "W"] == [
        ("jointvae/bce", 0), ("jointvae/kl_total", 1)]
    assert summary.windows_csv(BEYOND).splitlines() == [
        "signal,lo,hi,n_background,n_signal,auc", "top,160,180,210,900,0.61"]
    assert summary.trigger_csv(BEYOND).splitlines()[1:] == [
        f"0.01,3.5,50,5000,0.01,{s},{e}" for s, e in (("top", 0.2), ("w", 0.03), ("z", 0.05))]
