"""Shared test configuration: hypothesis profiles chosen by HYPOTHESIS_PROFILE.

* ``dev``: quick local runs;
* ``ci`` (default): derandomised, so CI is reproducible, with enough examples to matter;
* ``thorough``: long hunts.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile(
    "ci",
    max_examples=120,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
