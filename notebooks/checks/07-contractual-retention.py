# Checks of notebook 07 (instructors only: never released); see 01-clv-formula.py.
import numpy as np
import pandas as pd

case("07-1", "retention_by_year", survivors["regular"],
     hint="r_t is this year's survivors divided by last year's, one rate per year t >= 1 "
          "(a Series indexed by year)")
case("07-1", "retention_by_year",
     pd.Series([200.0, 100.0, 80.0, 72.0], index=pd.RangeIndex(4, name="year")),
     hint="one rate per year t >= 1 of the cohort you are given")
case("07-1", "retention_by_year", survivors["high end"],
     hint="use the survivors you are given")

for _name in ("regular", "high end"):
    _p = fits[_name].params
    case("07-2", "sbg_survival", _p.alpha, _p.beta, years, compare="values", rtol=1e-6,
         hint="S(t) = B(alpha, beta + t) / B(alpha, beta); S(0) = 1")
case("07-2", "sbg_survival", 1.0, 1.0, np.arange(0, 6), compare="values", rtol=1e-6,
     hint="use the parameters you are given")
