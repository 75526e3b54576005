"""Diagnostic plots draw the numbers of their tables (bars, heatmap cells, line points)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from clvkit.datasets import cdnow_summary  # noqa: E402
from clvkit.errors import ClvError  # noqa: E402
from clvkit.models import BGNBDFit, ParetoNBDFit, purchase_count_histogram  # noqa: E402
from clvkit.plotting import (  # noqa: E402
    count_histogram,
    p_alive_history,
    p_alive_path,
    prediction_grid,
    prediction_matrix,
)

BG = BGNBDFit.from_params(r=0.2426, alpha=4.4135, a=0.7929, b=2.4258, time_unit="W")
PNBD = ParetoNBDFit.from_params(r=0.5533, alpha=10.5774, s=0.6062, beta=11.6686, time_unit="W")


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_count_histogram_bars_are_the_table():
    table = purchase_count_histogram(cdnow_summary(), fits={"BG/NBD": BG, "Pareto/NBD": PNBD})
    ax = count_histogram(table)
    assert len(ax.containers) == 3
    for container, col in zip(ax.containers, table.columns, strict=True):
        np.testing.assert_allclose([b.get_height() for b in container], table[col])
    assert [t.get_text() for t in ax.get_xticklabels()] == list(table.index)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Actual", "BG/NBD",
                                                                  "Pareto/NBD"]


@pytest.mark.parametrize("fit", [BG, PNBD])
@pytest.mark.parametrize("quantity, t", [("p_alive", None), ("expected_purchases", 39.0)])
def test_prediction_matrix_cells_are_the_grid(fit, quantity, t):
    T, n_rec = 38.86, 12  # noqa: N806
    grid = prediction_grid(fit, T=T, quantity=quantity, t=t, max_frequency=8, n_recency=n_rec)
    assert grid.shape == (9, n_rec) and list(grid.index) == list(range(9))
    # cells are the model's prediction for that history, computed one by one
    t_x = np.linspace(0, T, n_rec)
    for x, j in [(0, 0), (2, 3), (8, n_rec - 1)]:
        kw = {"frequency": x, "recency": t_x[j] if x else 0.0, "T": T}
        want = fit.p_alive(**kw) if t is None else fit.conditional_expected_purchases(t=t, **kw)
        assert grid.iloc[x, j] == pytest.approx(want, rel=1e-12)
    ax = prediction_matrix(fit, T=T, quantity=quantity, t=t, max_frequency=8, n_recency=n_rec)
    drawn = np.asarray(ax.collections[0].get_array()).reshape(grid.shape)
    np.testing.assert_allclose(drawn, grid.to_numpy()[::-1])  # highest frequency on top
    assert ax.get_yticklabels()[0].get_text() == "8"


def test_prediction_grid_options_are_checked():
    with pytest.raises(ClvError, match="quantity"):
        prediction_grid(BG, T=10, quantity="clv")
    with pytest.raises(ClvError, match="`t`"):
        prediction_grid(BG, T=10, quantity="expected_purchases")
    with pytest.raises(ClvError, match="`T` must be > 0"):
        prediction_grid(BG, T=0)


def test_p_alive_history_path():
    buys = [4.0, 10.0, 30.43]
    path = p_alive_path(BG, purchase_times=[0.0, *buys], T=38.86, n_points=50)
    assert path["time"].is_monotonic_increasing and path["time"].iloc[-1] == 38.86
    np.testing.assert_array_equal(path["frequency"], np.searchsorted(buys, path["time"],
                                                                     side="right"))
    # right after the x-th purchase a BG/NBD customer is alive with prob. (b+x-1)/(a+b+x-1)
    p = BG.params
    for x, when in enumerate(buys, start=1):
        at = path.loc[path["time"] == when, "p_alive"].item()
        assert at == pytest.approx((p.b + x - 1) / (p.a + p.b + x - 1))
    # between purchases P(alive) falls
    gap = path[(path["time"] >= 10.0) & (path["time"] < 30.43)]
    assert np.all(np.diff(gap["p_alive"]) < 0)
    assert path["p_alive"].iloc[-1] == pytest.approx(
        BG.p_alive(frequency=3, recency=30.43, T=38.86))
    ax = p_alive_history(BG, purchase_times=buys, T=38.86, n_points=50)
    line = ax.lines[0]
    np.testing.assert_array_equal(line.get_xdata(), path["time"])
    np.testing.assert_array_equal(line.get_ydata(), path["p_alive"])
    marks = sorted(ln.get_xdata()[0] for ln in ax.lines[1:])
    assert marks == [0.0, *buys]


def test_p_alive_history_pareto_is_one_at_each_purchase():
    path = p_alive_path(PNBD, purchase_times=[5.0, 20.0], T=20.0, n_points=5)
    assert path.loc[path["time"].isin([5.0, 20.0]), "p_alive"].tolist() == pytest.approx([1, 1])
    with pytest.raises(ClvError, match="last purchase"):
        p_alive_path(PNBD, purchase_times=[5.0, 25.0], T=20.0)


def test_p_alive_path_from_dates_is_the_summary_history():
    """Dates give the history rfm_summary computes: days since the first purchase day / 7."""
    import pandas as pd

    from clvkit.summary import rfm_summary

    dates = pd.to_datetime(["2024-01-01 09:00", "2024-01-01 17:00", "2024-01-15 12:00",
                            "2024-03-01 08:30"])
    tx = pd.DataFrame({"customer_id": ["c1"] * 4, "date": dates, "amount": 10.0})
    s = rfm_summary(tx, observation_end="2024-04-01", time_unit="W")
    path = p_alive_path(BG, purchase_times=pd.Series(dates), T="2024-04-01", n_points=20)
    end = path.iloc[-1]
    assert (end["time"], end["frequency"], end["recency"]) == pytest.approx(
        (s["T"].item(), s["frequency"].item(), s["recency"].item()))
    assert end["p_alive"] == pytest.approx(BG.p_alive(s).item())
    with pytest.raises(ClvError, match="end date"):
        p_alive_path(BG, purchase_times=dates, T=12.0)
