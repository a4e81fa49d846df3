"""autograd.allocator: malloc's settings are the user's; TAPEGRAD_ALLOCATOR=tuned opts in."""

import json
import os
import subprocess
import sys

import pytest

from autograd import allocator

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
glibc = pytest.mark.skipif(not allocator._glibc(), reason="the tuning applies to glibc only")

# What a training step does to memory: allocate a few arrays of 1-8 MiB (the forward
# pass), then free them all (the backward pass). 20 such steps, counting page faults.
FAULTS = """
import json, resource, numpy as np
import autograd
def step():
    kept = [np.ones(n << 18, dtype=np.float32) for n in (4, 8, 2, 6, 3)]
    del kept
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print(json.dumps({"faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before,
                  "settings": autograd.allocator.SETTINGS}))
"""


def run_faults(**env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    environment.update(env, PYTHONPATH=REPO)
    out = subprocess.run([sys.executable, "-c", FAULTS], env=environment, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


@glibc
def test_freed_arrays_are_reused_instead_of_faulted_in_again():
    tuned, system = run_faults(TAPEGRAD_ALLOCATOR="tuned"), run_faults()
    assert tuned["settings"] == {"M_MMAP_THRESHOLD": allocator.MMAP_THRESHOLD,
                                 "M_TRIM_THRESHOLD": allocator.TRIM_THRESHOLD}
    assert system["settings"] == {}
    # 23 MiB a step is 5,888 pages: the system allocator maps most of them afresh each step
    # (the kernel faults some in several at a time); the tuned one reuses them all.
    assert system["faults"] > 20 * 1000
    assert tuned["faults"] < 1000


@glibc
def test_the_users_own_malloc_settings_win():
    result = run_faults(TAPEGRAD_ALLOCATOR="tuned", MALLOC_MMAP_THRESHOLD_="65536")
    assert result["settings"] == {"M_TRIM_THRESHOLD": allocator.TRIM_THRESHOLD}
    assert result["faults"] > 20 * 1000  # their small threshold still maps each array


def test_system_setting_changes_nothing():
    assert allocator.tune({"TAPEGRAD_ALLOCATOR": "system"}) == {}


def test_a_misspelt_setting_is_an_error():
    with pytest.raises(ValueError, match="TAPEGRAD_ALLOCATOR must be 'tuned' or 'system'"):
        allocator.tune({"TAPEGRAD_ALLOCATOR": "fast"})
