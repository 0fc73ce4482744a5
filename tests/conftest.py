"""Shared test helpers live beside this file (reference.py, models.py); pytest puts it on sys.path.

Hypothesis: with CI set (as ``.ci/run`` is run), property tests draw the same examples on every
run, so that a submission's gate cannot fail on a random draw that the submission did not cause.
Locally they draw new examples on each run and remember failures in .hypothesis/.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
