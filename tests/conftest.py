"""Shared test settings.

Property tests (hypothesis) search random examples on a developer's machine; under CI
(the CI environment variable, set by .ci/run) they run a fixed, derandomized sequence, so
a run of main passes or fails the same way every time, and the search for new failures
happens where someone can look at them.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
