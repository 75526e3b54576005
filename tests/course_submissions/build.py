"""Fake student submissions of the course, built from the source notebooks.

Each case is a student folder ``<case>/<notebook>.ipynb`` made from the *student
edition* (``clvkit.course.release_notebook``) with the answer cells replaced, as a
student would hand it in. ``tests/test_course.py`` grades them and checks the points;
``benchmarks/bench_grading.py`` times them.

Cases (``copied_number`` is spelled out for notebook 01; the others work for every notebook):

* ``correct``       the reference answers and a written answer;
* ``blank``         the student edition as released (``raise NotImplementedError()``);
* ``wrong``         a typical mistake in every exercise (``WRONG``: APV per order line, +5 %
  instead of +5 points, conversions per send instead of per visit, months taken as weeks,
  the share of the score instead of the outcome, higher always "better", value as contacts
  x uplift, up-sell read on the survivors, the conversion rate instead of the lift, exp(+gamma)
  as the lifetime multiplier, the reference channel's model for every channel, ...);
* ``edited_checks`` wrong answers, but the check cells replaced by ``print("Checks passed.")``,
  one check cell deleted and another stripped of its nbgrader metadata;
* ``copied_number`` functions that return the number printed in the notebook;
* ``endless``       an endless loop before the first answer (the second answer is right);
* ``raises_at_top`` the first code cell raises, so nothing after it can work.

Cheats against the grading machinery itself are in ``cheats.py`` (a tiny course).

Run ``python tests/course_submissions/build.py OUTDIR`` to write them for a look.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import nbformat

from clvkit.course import release_notebook

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "notebooks"

CASES = ["correct", "blank", "wrong", "edited_checks", "copied_number", "endless",
         "raises_at_top"]

#: A typical mistake for every exercise (the reference answers are in the source notebooks).
WRONG = {
    "01-1-answer": '''def average_purchase_value(lines):
    return lines["amount"].mean()  # per order line, not per order''',
    "01-2-answer": '''def retention_for_clv(target, *, margin, discount_rate):
    return target / (margin + target)  # forgets the discount rate


r_double = retention_for_clv(2 * clv_retention, margin=m, discount_rate=d)''',
    "02-1-answer": '''import math


def top_share(values, share=0.2):
    ranked = pd.Series(values).sort_values()  # ascending: the bottom customers
    return ranked.head(math.ceil(share * len(ranked))).sum() / ranked.sum()''',
    "02-2-answer": '''def gain_from_dropping(profits, orders):
    return -profits[profits < 0].sum()  # counts the customers without orders (an artefact)''',
    "02-3-answer": '''import numpy as np


def value_of_spend(plan, spend):  # contacts x uplift: no repeated contacts, no cap at N
    rows = plan.loc[spend.index]
    return rows["incremental_clv"] * spend / rows["cost_per_customer"]


def next_pound(plan, spend):  # the first pound's return, whatever was spent
    rows = plan.loc[spend.index]
    return (rows["incremental_clv"] / rows["cost_per_customer"]).idxmax()


spent = allocation["spend"].drop(index="(unspent)", errors="ignore")
first_pound = next_pound(plan, 0.0 * spent)
all_in = (0.0 * spent).where(spent.index != first_pound, BUDGET)
after_all_in = next_pound(plan, all_in)''',
    "03-1-answer": '''def clv_gain_pct(retention, points, *, discount_rate):
    before = retention_clv(1.0, retention=retention, discount_rate=discount_rate)
    after = retention_clv(1.0, retention=retention * (1 + points), discount_rate=discount_rate)
    return 100 * (after / before - 1)  # +5 %, not +5 points


gain_pct = clv_gain_pct(r, 0.05, discount_rate=ANNUAL_DISCOUNT_RATE)''',
    "03-2-answer": '''def ltv_to_cac(curves, cac, *, horizon):
    ltv = curves[curves["age"] == horizon].set_index("channel")["cumulative_margin"]  # off by one
    return ltv / cac


ltv_cac = ltv_to_cac(curves, channels["cac"], horizon=LTV_HORIZON)''',
    "04-1-answer": '''def repeat_rate(lines):
    return (lines.groupby("customer_id").size() >= 2).mean()  # counts order lines''',
    "04-2-answer": '''def landing_conversion(touches, tactic):
    return touches.loc[touches["tactic"] == tactic, "converted"].mean()  # per send


landing_conversion_discount = landing_conversion(crm_data.touches, "discount")''',
    "04-3-answer": '''def dropout_rate(touches, tactic, message):
    return touches.loc[touches["tactic"] == tactic, "unsubscribed"].mean()  # ignores the message


pairs = crm_data.touches[["tactic", "message"]].drop_duplicates().itertuples(index=False)
riskiest = tuple(max(pairs, key=lambda pair: dropout_rate(crm_data.touches, *pair)))''',
    "04-4-answer": '''def _orders(lines):
    orders = (lines.groupby(["customer_id", "order_id"], as_index=False, observed=True)
              .agg(date=("date", "min"), value=("amount", "sum"))
              .sort_values(["customer_id", "date", "order_id"]))
    return orders.assign(number=orders.groupby("customer_id", observed=True).cumcount() + 1)


def cross_sell_share(lines):  # customers with 2+ categories, first order included
    return float((lines.groupby("customer_id")["product"].nunique() > 1).mean())


def upsell_ratio(lines, k):  # everyone's first orders against the survivors' k-th
    orders = _orders(lines)
    return (orders.loc[orders["number"] == k, "value"].mean()
            / orders.loc[orders["number"] == 1, "value"].mean())


cross_share = cross_sell_share(tx)
upsell_6 = upsell_ratio(tx, 6)''',
    "05-1-answer": '''def expected_purchases_in(model, *, frequency, recency, T, months):
    return float(model.conditional_expected_purchases(  # months taken as weeks
        frequency=[frequency], recency=[recency], T=[T], t=months).iloc[0])


next_year = expected_purchases_in(bgf, frequency=4, recency=20.0, T=39.0, months=12)''',
    "05-2-answer": '''def holdout_total(model, summary):  # a new customer's expectation for all
    return len(summary) * float(model.expected_purchases_new_customer(39))


predicted_total = holdout_total(bgf, summary)''',
    "06-1-answer": '''def break_even_rate(rows, *, cost):
    return len(rows) * cost / rows["expected_spend"].sum()  # forgets the margin


target_break_even = break_even_rate(predictions.loc[target.index], cost=send_cost)''',
    "06-2-answer": '''def best_audience(predictions, *, rate, cost):
    eligible = predictions[predictions["subscribed_at_end"]]
    return eligible.index[eligible["clv"] >= eligible["clv"].quantile(0.8)]  # top CLV, not EV


audience = best_audience(predictions, rate=win_back["overall_rate"], cost=send_cost)''',
    "06-3-answer": '''def value_per_send(table, *, margin_per_purchase, cost):
    rate = table["contacted_buyers"] / table["sends"]  # the conversion rate, not the lift
    return rate * margin_per_purchase - cost


mean_margin = float(value.mean())
worth_a_send = value_per_send(incremental, margin_per_purchase=mean_margin, cost=send_cost)''',
    "07-1-answer": '''def retention_by_year(survivors):
    return survivors.iloc[1:] / survivors.iloc[0]  # survival since year 0, not retention''',
    "07-2-answer": '''def sbg_survival(alpha, beta, t):
    return np.exp(betaln(alpha, beta + np.asarray(t, dtype=float)))  # forgets / B(alpha, beta)''',
    "08-1-answer": '''def top_share_captured(score, outcome, share):
    top = score.sort_values(ascending=False).head(round(share * len(score)))
    return top.sum() / score.sum()  # the share of the score, not of the outcome


clv_captured = top_share_captured(focus["clv"], focus["next_year_margin"], TARGET_SHARE)''',
    "08-2-answer": '''import math


def assign_message(clv, p_alive, *, top_share, middle_share, at_risk_below):
    rank = clv.rank(ascending=False, method="first")  # forgets P(alive): nobody is won back
    message = pd.Series("low cost", index=clv.index)
    message[rank <= math.ceil(middle_share * len(clv))] = "develop"
    message[rank <= math.ceil(top_share * len(clv))] = "retain"
    return message


my_plan = assign_message(focus["clv"], focus["p_alive"], top_share=TIERS[0], middle_share=TIERS[1],
                         at_risk_below=AT_RISK_BELOW)''',
    "08-3-answer": '''def stage_of(tenure, months_since_last, *, new_within, established_after,
             lapsed_after):
    stage = np.select([tenure < new_within, tenure < established_after,  # tenure before lapsing
                       months_since_last >= lapsed_after], ["new", "developing", "lapsed"],
                      "established")
    return pd.Series(stage, index=tenure.index)


my_stages = stage_of(stages["tenure_months"], stages["months_since_last"], new_within=NEW_WITHIN,
                     established_after=ESTABLISHED_AFTER, lapsed_after=LAPSED_AFTER)''',
    "08-4-answer": '''def verdicts(kpis, *, objective, month, reference):
    names = list(metrics.KPIS_BY_OBJECTIVE[objective])
    now = kpis.loc[pd.Period(month, "M"), names]
    then = kpis.loc[pd.Period(reference, "M"), names]
    return pd.Series(np.where(now > then, "better", np.where(now < then, "worse", "same")),
                     index=names)  # higher is not always better (churn, acquisition cost)


retention_verdicts = verdicts(kpis, objective="retention", month=KPI_MONTH,
                              reference=str(pd.Period(KPI_MONTH, "M") - 12))''',
    "08-5-answer": '''def penetration_lift(bought, in_group):
    return bought[in_group].mean()  # the group's most popular categories, not the lift


high_tier_lift = penetration_lift(bought, in_high_tier)''',
    "09-1-answer": '''def rate_multipliers(table):
    rows = table[table.index.str.startswith(("trans.", "life."))]
    return pd.DataFrame({"multiplier": np.exp(rows["estimate"]),  # exp(+gamma) for life. too
                         "lower": np.exp(rows["lower"]), "upper": np.exp(rows["upper"])})''',
    "09-2-answer": '''def new_customer_value(fit, channel, *, weeks, margin_per_order):
    model = fit.customer_model({"channel": REFERENCE})  # the reference channel for everyone
    return margin_per_order * (1.0 + float(model.expected_purchases_new_customer(weeks)))''',
}


def _copied_01(source_nb) -> dict[str, str]:
    """Answers that return what the (solved) notebook printed, typed as numbers."""
    outputs = "".join(str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", ""))
                      for c in source_nb.cells if c.cell_type == "code" for o in c.outputs)
    line = next(row for row in outputs.splitlines() if row.startswith("average_purchase_value"))
    apv = line.split()[-1].replace(",", "")
    return {
        "01-1-answer": f"def average_purchase_value(lines):\n    return {apv}",
        "01-2-answer": _copied_retention(source_nb),
    }


def _copied_retention(source_nb) -> str:
    """A student who found r_double once and typed it into a constant function."""
    import re

    text = "".join(str(o.get("data", {}).get("text/markdown", ""))
                   for c in source_nb.cells if c.cell_type == "code" for o in c.outputs)
    m = float(re.search(r"\$m\$ = £([0-9,.]+)", text)[1].replace(",", ""))
    d = float(re.search(r"\$d\$ = ([0-9.]+)%", text)[1]) / 100
    # "<retention-model CLV label> = $m r/(1+d-r)$ = **£324.66**" (label from clvkit.metrics)
    clv = float(re.search(r"= \$m r/\(1\+d-r\)\$ = \*\*£([0-9,.]+)", text)[1].replace(",", ""))
    typed = round(2 * clv * (1 + d) / (m + 2 * clv), 4)  # worked out once on paper, then typed
    return (f"def retention_for_clv(target, *, margin, discount_rate):\n    return {typed}\n\n\n"
            "r_double = retention_for_clv(2 * clv_retention, margin=m, discount_rate=d)")


def _gid(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _solutions(source_nb) -> dict[str, str]:
    return {_gid(c): "\n".join(line for line in c.source.splitlines()
                               if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line)
            for c in source_nb.cells if c.metadata.get("nbgrader", {}).get("solution")}


def build_case(case: str, source_nb, name: str):
    """The student notebook of ``case`` for the source notebook ``name`` (its stem)."""
    student = release_notebook(source_nb)
    answers: dict[str, str] = {}
    if case != "blank":
        answers = _solutions(source_nb)
    if case in ("wrong", "edited_checks"):
        answers.update({gid: code for gid, code in WRONG.items() if gid in answers})
    if case == "copied_number":
        if not name.startswith("01-"):
            raise ValueError("case 'copied_number' is spelled out for notebook 01 only")
        answers.update(_copied_01(source_nb))
    for cell in student.cells:
        gid = _gid(cell)
        if gid in answers:
            cell.source = answers[gid]
    if case == "endless":
        first = next(c for c in student.cells if (_gid(c) or "").endswith("-answer"))
        first.source = "while True:  # an endless loop\n    pass\n\n" + first.source
    if case == "raises_at_top":
        first = next(c for c in student.cells if c.cell_type == "code")
        first.source = "import clvkit_does_not_exist  # a typo in the imports\n" + first.source
    if case == "edited_checks":
        tests = [c for c in student.cells if c.metadata.get("nbgrader", {}).get("grade")
                 and c.cell_type == "code"]
        for cell in tests:
            cell.source = 'print("Checks passed.")'
        tests[-1].metadata.pop("nbgrader")  # pretend it is an ordinary cell
        student.cells.remove(tests[0])      # and delete the first check altogether
    return student


def build(out, *, cases=CASES, notebooks=("01-clv-formula",), source=SOURCE) -> Path:
    """Write ``out/<case>/<notebook>.ipynb`` for every case and notebook; return ``out``."""
    out = Path(out)
    for name in notebooks:
        source_nb = nbformat.read(str(Path(source) / f"{name}.ipynb"), as_version=4)
        for case in cases:
            folder = out / case
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(build_case(case, copy.deepcopy(source_nb), name),
                           str(folder / f"{name}.ipynb"))
    return out


if __name__ == "__main__":
    print(build(sys.argv[1]))
