import os

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
