import os
import shutil

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("PYTHONHASHSEED", "0")


@pytest.fixture(scope="session")
def cdnow():
    from clvkit.datasets import load_cdnow

    return load_cdnow()


@pytest.fixture(scope="session")
def online_retail():
    from clvkit.datasets import load_online_retail

    return load_online_retail()


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession (``local[2]``) for the whole test session.

    Every test that uses it is marked ``spark`` (see :func:`pytest_collection_modifyitems`):
    a JVM and Python workers make these tests slow, so ``make slow`` runs them and
    ``make unit`` leaves them out. Without Java they FAIL with the fix, they are not skipped.
    """
    from clvkit.engines import local_spark

    if shutil.which("java") is None:
        pytest.fail("Spark SQL tests need a Java runtime (17+) and `java` is not on PATH: "
                    "run `make java` (apt-get install default-jre-headless)")
    return local_spark()


def pytest_collection_modifyitems(config, items):
    """Mark every test that uses the ``spark`` fixture ``spark`` (run by ``make slow``)."""
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.spark)


@pytest.fixture(scope="session")
def integrated_loglik():
    """log of the integral of ``density(u, *own_row, *data_row)`` du for the given rows.

    An independent check of a mixture likelihood: ``own`` holds each customer's own
    parameters (``fit.customer_params``), ``data`` their observations, in the order
    ``density`` takes them.
    """
    import numpy as np
    from scipy import integrate

    def compute(own, data, rows, density, lower, upper):
        out = []
        for i in rows:
            args = (*own.iloc[i], *data.iloc[i])
            value = integrate.quad(lambda u, args=args: density(u, *args), lower, upper,
                                   epsabs=0, epsrel=1e-11, limit=200)[0]
            out.append(np.log(value))
        return np.array(out)

    return compute
