"""Figures: each function on small inputs returns a Figure drawing exactly the input numbers,
with the expected number of bars / lines / labels; save_figure is byte-for-byte reproducible.

Plotted coordinates are read back from the matplotlib artists and compared with the input
tables (or with numpy.histogram / numpy.corrcoef for figures drawn from the data frame).
The model / evaluation inputs are small synthetic tables built here.
"""
import math
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import StepPatch
from PIL import Image

from analysis.evaluate import explore
from analysis.present import plots
from analysis.spec import default_spec

SPEC = default_spec()
W = plots.Words.from_spec(SPEC)

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------------------
# inputs


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """400 synthetic customers with the cleaned data's columns."""
    rng = np.random.default_rng(7)
    n = 400
    age = rng.integers(18, 90, n)
    df = pd.DataFrame({
        "age": age,
        "job": rng.choice(["admin.", "blue-collar", "student", "retired", "unknown"], n),
        "marriage": rng.choice(["divorced", "married", "single"], n),
        "coupon_used_in_last6_month": rng.poisson(2.5, n),
        "coupon_used_in_last_month": rng.poisson(0.3, n),
        "default_yes": rng.binomial(1, 0.05, n),
        "returned_yes": rng.binomial(1, 0.5, n),
        "loan_yes": rng.binomial(1, 0.2, n),
    })
    logit = -2 + 0.04 * (age - 40) - 0.8 * df["returned_yes"] + 0.5 * df["coupon_used_in_last_month"]
    df["flag"] = rng.binomial(1, 1 / (1 + np.exp(-logit)))
    return df


@pytest.fixture(scope="module")
def coefs() -> pd.DataFrame:
    est = np.array([-1.5, 0.002, -0.4, 0.5, -0.86, 0.42])
    se = np.array([0.14, 0.0024, 0.08, 0.12, 0.044, 0.021])
    terms = ["Intercept", "age", "C(job)[T.blue-collar]", "C(job)[T.student]", "returned_yes",
             "coupon_used_in_last_month"]
    low, high = est - 1.96 * se, est + 1.96 * se
    return pd.DataFrame({
        "term": terms, "estimate": est, "std_error": se, "statistic": est / se,
        "p_value": 0.01, "conf_low": low, "conf_high": high, "odds_ratio": np.exp(est),
        "or_conf_low": np.exp(low), "or_conf_high": np.exp(high),
    })


def roc_table(scores, y) -> pd.DataFrame:
    th = np.r_[np.inf, np.sort(np.unique(scores))[::-1]]
    return pd.DataFrame({
        "threshold": th,
        "fpr": [(scores[y == 0] >= t).mean() for t in th],
        "tpr": [(scores[y == 1] >= t).mean() for t in th],
    })


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(3)
    y = rng.binomial(1, 0.3, 60)
    p = np.clip(0.3 + 0.25 * (y - 0.3) + rng.normal(0, 0.12, 60), 0.01, 0.99).round(2)
    return p, y


@pytest.fixture(scope="module")
def ks_table(scored):
    p, y = scored
    th = np.unique(p)
    ce = np.array([(p[y == 1] <= t).mean() for t in th])
    cn = np.array([(p[y == 0] <= t).mean() for t in th])
    return pd.DataFrame({"threshold": th, "cum_events": ce, "cum_nonevents": cn, "gap": cn - ce})


@pytest.fixture(scope="module")
def calibration_table():
    n = np.array([50, 50, 50, 50])
    events = np.array([2, 6, 12, 25])
    low, high = explore.wilson_interval(events, n)
    return pd.DataFrame({"bin": [1, 2, 3, 4], "n": n, "events": events,
                         "observed_rate": events / n, "obs_conf_low": low,
                         "obs_conf_high": high, "mean_predicted": [0.05, 0.1, 0.22, 0.48]})


@pytest.fixture(scope="module")
def gains_table():
    n = np.full(5, 20)
    events = np.array([10, 6, 2, 1, 1])
    rate = events.sum() / n.sum()
    t = pd.DataFrame({"decile": [1, 2, 3, 4, 5], "n": n, "events": events})
    t["response_rate"] = events / n
    t["cum_n"] = n.cumsum()
    t["cum_events"] = events.cumsum()
    t["cum_capture"] = t["cum_events"] / events.sum()
    t["lift"] = t["response_rate"] / rate
    t["cum_lift"] = (t["cum_events"] / t["cum_n"]) / rate
    t["p_min"] = [0.5, 0.3, 0.2, 0.1, 0.0]
    t["p_max"] = [0.9, 0.5, 0.3, 0.2, 0.1]
    t["mean_p"] = [0.6, 0.4, 0.25, 0.15, 0.05]
    return t


def texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def legend_texts(fig):
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + list(fig.legends)
    return [t.get_text() for lg in legends for t in lg.get_texts()]


def bar_container(ax) -> BarContainer:
    (bars,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    return bars


# ------------------------------------------------------------------------------------------
# exploratory


def test_plot_rate_draws_the_table(frame):
    table = explore.rate_by(frame, "marriage", response="flag")
    fig = plots.plot_rate(table, title="T", xlabel="Marital status", overall_rate=0.2,
                          level_labels={"single": "Single"}, words=W)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    bars = bar_container(ax)
    assert len(bars) == 3
    np.testing.assert_allclose([b.get_height() for b in bars], table["rate"], atol=1e-15)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == [f"divorced\n(n = {table['n'][0]:,})", f"married\n(n = {table['n'][1]:,})",
                      f"Single\n(n = {table['n'][2]:,})"]
    assert texts(fig) == [f"{100 * r:.1f}%" for r in table["rate"]]
    assert ax.get_title(loc="left") == "T" and ax.get_xlabel() == "Marital status"
    assert ax.get_ylabel() == "Coupon-use rate (%)"
    # error bar segments span exactly conf_low..conf_high
    (err,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    spans = sorted((s[0][0], min(s[:, 1]), max(s[:, 1])) for s in err.get_segments())
    np.testing.assert_allclose([s[1:] for s in spans],
                               table[["conf_low", "conf_high"]].to_numpy(), atol=1e-12)
    assert any(line.get_ydata()[0] == 0.2 for line in ax.lines)          # overall rate
    assert legend_texts(fig) == ["95% Wilson interval", "All customers (20.0%)"]


def test_plot_rate_by_job_is_horizontal_and_sorted(frame):
    fig = plots.plot_rate_by(frame, "job", title="Coupon use by job", xlabel="Job", horizontal=True, sort=True,
                             words=W, response="flag")
    (ax,) = fig.axes
    bars = bar_container(ax)
    widths = [b.get_width() for b in bars]
    expected = explore.rate_by(frame, "job", response="flag").sort_values("rate", ascending=False)
    assert len(bars) == frame["job"].nunique()
    np.testing.assert_allclose(widths, expected["rate"], atol=1e-15)
    assert [t.get_text().split(" (n")[0] for t in ax.get_yticklabels()] == expected["level"].tolist()
    assert ax.get_xlabel() == "Coupon-use rate (%)" and ax.get_title(loc="left") == "Coupon use by job"
    assert legend_texts(fig)[1] == f"All customers ({100 * frame['flag'].mean():.1f}%)"


@pytest.mark.parametrize("column,levels", [("returned_yes", ["no", "yes"]),
                                           ("marriage", ["divorced", "married", "single"])])
def test_plot_rate_by_labels(frame, column, levels):
    v = SPEC.variable(column)
    fig = plots.plot_rate_by(frame, column, title=f"By {v.label}", xlabel=v.label, words=W,
                             level_labels={lvl: v.level_label(lvl) for lvl in frame[column].unique()}, response="flag")
    (ax,) = fig.axes
    assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()] == levels
    assert ax.get_title(loc="left") == f"By {v.label}"


def test_plot_rate_by_age_group_marks_tail(frame):
    edges = (18, 30, 40, 50, 60, math.inf)
    fig = plots.plot_rate_by_group(frame, edges, "age", xlabel="Age group (years)", words=W, response="flag")
    (ax,) = fig.axes
    bars = bar_container(ax)
    table = explore.binned_rates(frame, edges, "age", response="flag")
    assert len(bars) == 5
    np.testing.assert_allclose([b.get_height() for b in bars], table["rate"], atol=1e-15)
    assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()][-1] == "60+"
    colors = [b.get_facecolor() for b in bars]
    assert colors[-1] != colors[0] and len(set(colors[:-1])) == 1
    assert ax.get_xlabel() == "Age group (years)"


def test_plot_age_distribution_density_and_stacked(frame):
    fig = plots.plot_distribution(frame, column="age", label="Age", unit="year", units="years", mark=60, words=W, response="flag")
    (ax,) = fig.axes
    steps = [p for p in ax.patches if isinstance(p, StepPatch)]
    assert len(steps) == 2
    for step, k in zip(steps, (0, 1)):
        values, edges = step.get_data()[:2]
        ages = frame.loc[frame["flag"] == k, "age"]
        ref, _ = np.histogram(ages, bins=edges)
        np.testing.assert_allclose(values, ref / ref.sum(), atol=1e-15)
        assert values.sum() == pytest.approx(1.0)
    assert ax.get_xlabel() == "Age (years)"
    assert legend_texts(fig) == [f"Non-users (n = {(frame['flag'] == 0).sum():,})",
                                 f"Coupon users (n = {(frame['flag'] == 1).sum():,})"]

    fig = plots.plot_distribution(frame, mode="stacked", column="age", words=W, response="flag")
    (ax,) = fig.axes
    bottom, top = [p for p in ax.patches if isinstance(p, StepPatch)]
    assert top.get_data()[0].sum() == len(frame)                 # stacked total = all rows
    assert bottom.get_data()[0].sum() == (frame["flag"] == 0).sum()
    with pytest.raises(ValueError):
        plots.plot_distribution(frame, mode="pie", column="age", response="flag")


def test_plot_correlation_heatmap(frame):
    corr = explore.correlations(frame, response="flag")
    k = len(corr)
    fig = plots.plot_correlation_heatmap(corr, labels=SPEC.labels())
    ax = fig.axes[0]
    (image,) = [im for im in ax.get_images() if isinstance(im, AxesImage)]
    shown = np.ma.filled(image.get_array(), np.nan)
    ref = np.corrcoef(frame[corr.columns].to_numpy(dtype=float), rowvar=False)
    lower = np.tril_indices(k - 1)
    np.testing.assert_allclose(shown[lower], ref[1:, :-1][lower], atol=1e-12)
    assert np.isnan(shown[np.triu_indices(k - 1, 1)]).all()
    assert len(ax.texts) == k * (k - 1) // 2
    vmin, vmax = image.get_clim()
    assert vmin == -vmax                                          # centred at 0
    assert image.get_cmap().name == "RdBu_r"
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "Used the coupon"
    assert fig.axes[1].get_ylabel() == "Pearson correlation"       # colour bar

    full = plots.plot_correlation_heatmap(corr, triangle=False, vmax=1)
    assert len(full.axes[0].texts) == k * k
    assert full.axes[0].get_images()[0].get_clim() == (-1, 1)
    # a value that rounds to zero is printed without a minus sign
    tiny_neg = pd.DataFrame([[1, -0.001], [-0.001, 1]], index=["a", "b"], columns=["a", "b"])
    assert texts(plots.plot_correlation_heatmap(tiny_neg)) == ["0.00"]


# ------------------------------------------------------------------------------------------
# model


def test_plot_odds_ratios(coefs):
    from analysis.present.labels import coefficient_labels

    labels = {**coefficient_labels(coefs, SPEC, {"job": "admin."}), "age": "Age, per year"}
    fig = plots.plot_odds_ratios(coefs, labels=labels)
    ax = fig.axes[0]
    body = coefs[coefs["term"] != "Intercept"]
    (points,) = [c for c in ax.collections if not isinstance(c, LineCollection)]
    offsets = points.get_offsets()
    np.testing.assert_allclose(offsets[:, 0], body["odds_ratio"], rtol=1e-12)
    np.testing.assert_allclose(offsets[:, 1], np.arange(len(body)))
    (ci,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    segs = np.array([[s[0][0], s[1][0]] for s in ci.get_segments()])
    np.testing.assert_allclose(segs, body[["or_conf_low", "or_conf_high"]].to_numpy(), rtol=1e-12)
    assert ax.get_xscale() == "log"
    assert any(np.all(np.asarray(line.get_xdata()) == 1) for line in ax.lines)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Age, per year", "Job: blue-collar vs admin.", "Job: student vs admin.",
                      "Returned goods: yes vs no", "Coupons used, last month (per coupon)"]   # never "per 1"
    assert "Intercept" not in " ".join(labels)
    # annotated OR (CI): age needs 3 decimals to show its interval around 1
    assert "1.002 (0.997\u20131.007)" in texts(fig)
    assert f"{body['odds_ratio'].iloc[3]:.2f} ({body['or_conf_low'].iloc[3]:.2f}\u2013" \
           f"{body['or_conf_high'].iloc[3]:.2f})" in texts(fig)
    assert ax.get_xlabel().startswith("Odds ratio (log scale)")


def test_plot_odds_ratios_sorted(coefs):
    fig = plots.plot_odds_ratios(coefs, sort=True, annotate=False)
    ax = fig.axes[0]
    body = coefs[coefs["term"] != "Intercept"].sort_values("odds_ratio", ascending=False)
    (points,) = [c for c in ax.collections if not isinstance(c, LineCollection)]
    np.testing.assert_allclose(points.get_offsets()[:, 0], body["odds_ratio"], rtol=1e-12)
    assert texts(fig) == []


# ------------------------------------------------------------------------------------------
# evaluation


def test_plot_roc(scored):
    p, y = scored
    train, test = roc_table(p[:30], y[:30]), roc_table(p[30:], y[30:])
    fig = plots.plot_roc({"train": train, "test": test}, {"train": 0.81234, "test": 0.7})
    (ax,) = fig.axes
    assert len(ax.lines) == 3                                   # two samples + diagonal
    np.testing.assert_allclose(ax.lines[0].get_xdata(), train["fpr"])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), test["tpr"])
    np.testing.assert_allclose(ax.lines[2].get_xydata(), [[0, 0], [1, 1]])
    assert legend_texts(fig) == ["train (AUC = 0.812)", "test (AUC = 0.700)", "Chance"]
    assert "False-positive rate" in ax.get_xlabel() and "True-positive rate" in ax.get_ylabel()
    # AUCs are optional
    assert legend_texts(plots.plot_roc({"all": train}))[0] == "all"


def _step_value_at(line, m):
    """Value of a drawn step curve at m, from matplotlib's documented drawstyle semantics:
    'steps-pre' holds y[i] on (x[i-1], x[i]], 'steps-post' holds y[i] on [x[i], x[i+1])."""
    x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
    if line.get_drawstyle() == "steps-pre":
        return y[np.searchsorted(x, m, side="left")]
    return y[np.searchsorted(x, m, side="right") - 1]


def test_plot_ks_at_or_below(ks_table, scored):
    p, y = scored
    i = int(ks_table["gap"].abs().idxmax())
    ks, threshold = float(ks_table["gap"].abs()[i]), float(ks_table["threshold"][i])
    fig = plots.plot_ks(ks_table, ks, threshold, words=W)
    (ax,) = fig.axes
    curves = [line for line in ax.lines if line.get_drawstyle().startswith("steps")]
    assert len(curves) == 2
    np.testing.assert_allclose(curves[0].get_ydata(), ks_table["cum_nonevents"])
    np.testing.assert_allclose(curves[1].get_ydata(), ks_table["cum_events"])
    # between two thresholds the drawn curve equals the brute-force share with p <= m
    th = ks_table["threshold"].to_numpy()
    for m in (th[:-1] + th[1:]) / 2:
        assert _step_value_at(curves[1], m) == pytest.approx((p[y == 1] <= m).mean())
        assert _step_value_at(curves[0], m) == pytest.approx((p[y == 0] <= m).mean())
    (segment,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    (seg,) = segment.get_segments()
    assert seg[0][0] == seg[1][0] == pytest.approx(threshold)
    assert abs(seg[1][1] - seg[0][1]) == pytest.approx(ks, abs=1e-12)
    assert f"KS = {ks:.3f}\nat threshold {threshold:.3f}" in texts(fig)
    assert legend_texts(fig) == ["Non-users", "Coupon users"]
    assert "\u2264" in ax.get_ylabel()


def test_plot_ks_at_or_above(scored):
    """The convention of analysis.evaluate.discrimination.ks_curve: shares with p >= threshold, rows in
    decreasing threshold."""
    p, y = scored
    th = np.unique(p)[::-1]
    ce = np.array([(p[y == 1] >= t).mean() for t in th])
    cn = np.array([(p[y == 0] >= t).mean() for t in th])
    table = pd.DataFrame({"threshold": th, "cum_events": ce, "cum_nonevents": cn, "gap": ce - cn})
    i = int(table["gap"].idxmax())
    fig = plots.plot_ks(table, float(table["gap"][i]), float(table["threshold"][i]))
    (ax,) = fig.axes
    curves = [line for line in ax.lines if line.get_drawstyle().startswith("steps")]
    asc = np.sort(th)
    for m in (asc[:-1] + asc[1:]) / 2:
        assert _step_value_at(curves[1], m) == pytest.approx((p[y == 1] >= m).mean())
        assert _step_value_at(curves[0], m) == pytest.approx((p[y == 0] >= m).mean())
    (seg,) = [c for c in ax.collections if isinstance(c, LineCollection)][0].get_segments()
    assert seg[0][0] == pytest.approx(table["threshold"][i])
    assert abs(seg[1][1] - seg[0][1]) == pytest.approx(table["gap"][i], abs=1e-12)
    assert "\u2265" in ax.get_ylabel()


def test_evaluation_tables_plot(scored):
    """The evaluation module's real tables go straight into the plots (skipped if absent)."""
    evaluation = pytest.importorskip("analysis.evaluate.discrimination")
    p, y = scored
    roc = evaluation.roc_curve(p, y)
    ks = evaluation.ks_curve(p, y)
    stat = evaluation.ks_statistic(p, y)
    assert isinstance(plots.plot_roc({"all": roc}), Figure)
    i = int(ks["gap"].abs().idxmax())
    fig = plots.plot_ks(ks, float(ks["gap"].abs()[i]), float(ks["threshold"][i]))
    assert "\u2265" in fig.axes[0].get_ylabel()
    assert isinstance(stat, dict)
    assert isinstance(plots.plot_calibration(evaluation.calibration_table(p, y, bins=4)), Figure)
    gains = evaluation.gains_table(p, y, bins=5)
    assert "1 = highest" in plots.plot_lift(gains).axes[0].get_xlabel()
    assert isinstance(plots.plot_gains(gains), Figure)


def test_plot_calibration(calibration_table):
    fig = plots.plot_calibration(calibration_table)
    (ax,) = fig.axes
    diagonal = ax.lines[0]
    x, y = diagonal.get_xdata(), diagonal.get_ydata()
    np.testing.assert_allclose(x, y)                              # 45° line
    points = ax.containers[0].lines[0]
    np.testing.assert_allclose(points.get_xdata(), calibration_table["mean_predicted"])
    np.testing.assert_allclose(points.get_ydata(), calibration_table["observed_rate"])
    (bars,) = ax.containers[0].lines[2]
    spans = np.array([[min(s[:, 1]), max(s[:, 1])] for s in bars.get_segments()])
    np.testing.assert_allclose(spans, calibration_table[["obs_conf_low", "obs_conf_high"]],
                               atol=1e-12)
    assert legend_texts(fig) == ["Perfect calibration", "Observed rate by decile (95% CI)"]


def test_plot_gains(gains_table):
    fig = plots.plot_gains(gains_table, annotate_deciles=(1,), words=W)
    (ax,) = fig.axes
    assert len(ax.lines) == 3
    model = ax.lines[2]
    np.testing.assert_allclose(model.get_xdata(), [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_allclose(model.get_ydata(), [0, 0.5, 0.8, 0.9, 0.95, 1.0])
    np.testing.assert_allclose(ax.lines[1].get_xydata(), [[0, 0], [1, 1]])     # random
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [0, 0.2, 1])            # perfect: 20/100
    assert texts(fig) == ["Top 20% of customers \u2192 50% of coupon users"]   # the specification's nouns
    assert legend_texts(fig) == ["Perfect model", "Random order", "Model"]           # never "targeting"
    assert ax.get_xlabel() == "Customers, highest predicted first (%)"


def test_plot_lift(gains_table):
    fig = plots.plot_lift(gains_table)
    (ax,) = fig.axes
    bars = bar_container(ax)
    assert len(bars) == 5
    np.testing.assert_allclose([b.get_height() for b in bars], [2.5, 1.5, 0.5, 0.25, 0.25])
    cum = [line for line in ax.lines if line.get_label() == "Cumulative lift"][0]
    np.testing.assert_allclose(cum.get_ydata(), gains_table["cum_lift"])
    assert texts(fig) == ["2.50", "1.50", "0.50", "0.25", "0.25"]
    assert "1 = highest" in ax.get_xlabel()
    assert legend_texts(fig) == ["Lift of decile", "Cumulative lift", "Random order (lift = 1)"]
    assert len(plots.plot_lift(gains_table, cumulative=False).axes[0].lines) == 1


def test_missing_columns_are_reported(gains_table):
    with pytest.raises(KeyError, match="cum_capture"):
        plots.plot_gains(gains_table.drop(columns="cum_capture"))


# ------------------------------------------------------------------------------------------
# saving


def test_save_figure_is_reproducible(tmp_path, frame):
    fig = plots.plot_rate_by(frame, "marriage", response="flag")
    paths = plots.save_figure(fig, tmp_path / "a", "rate")
    assert paths == [tmp_path / "a" / "rate.png", tmp_path / "a" / "rate.svg"]
    first = [p.read_bytes() for p in paths]
    again = [p.read_bytes() for p in plots.save_figure(fig, tmp_path / "b", "rate")]
    rebuilt = [p.read_bytes() for p in
               plots.save_figure(plots.plot_rate_by(frame, "marriage", response="flag"), tmp_path / "c", "rate")]
    assert first == again == rebuilt
    png, svg = first
    assert png.startswith(b"\x89PNG") and b"Software" not in png
    assert b"<dc:date>" not in svg and b"Matplotlib" not in svg
    with Image.open(paths[0]) as im:                               # 10 x 6 in at 200 dpi
        assert im.size == (2000, 1200)
        assert tuple(round(d) for d in im.info["dpi"]) == (200, 200)


def test_save_figure_pdf_is_reproducible(tmp_path, gains_table):
    fig = plots.plot_lift(gains_table)
    (a,) = plots.save_figure(fig, tmp_path, "lift", formats=("pdf",))
    first = a.read_bytes()
    (b,) = plots.save_figure(fig, tmp_path, "lift", formats=("pdf",))
    assert first == b.read_bytes() and b"CreationDate" not in first


def test_save_figure_identical_across_processes(tmp_path, gains_table):
    """A fresh interpreter writes the same bytes (no per-process ids, dates or salts)."""
    script = (
        "import pickle, sys\n"
        "from analysis.present import plots\n"
        "t = pickle.loads(sys.stdin.buffer.read())\n"
        "plots.save_figure(plots.plot_gains(t), sys.argv[1], 'gains')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "random"}
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "other")], check=True,
                   input=pickle.dumps(gains_table), env=env, cwd=ROOT)
    other = [(tmp_path / "other" / f"gains.{ext}").read_bytes() for ext in ("png", "svg")]
    here = [p.read_bytes() for p in plots.save_figure(plots.plot_gains(gains_table),
                                                      tmp_path / "here", "gains")]
    assert other == here


def test_mathtext_is_off_so_dollar_signs_in_data_are_literal():
    table = explore.rate_by(pd.DataFrame({"g": ["$\\notacommand{$", "b"], "flag": [1, 0]}), "g", response="flag")
    fig = plots.plot_rate(table, title="$x$", xlabel="$\\alpha$")
    assert fig.axes[0].get_title(loc="left") == "$x$"     # drawn literally, no mathtext error
