"""nodes/kernels/memory.py: the kernels reuse their memory, never a block still in use."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import autograd as ag
from autograd import allocator, nn
from nodes.kernels import memory

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIG = (256, 1024)  # 1 MiB of float32: above memory.MIN_BYTES


def test_a_block_comes_back_only_when_no_array_of_it_is_left():
    first = memory.empty(BIG, np.float32)
    view = first[::2].T  # a view of a view still holds the block
    del first
    second = memory.empty(BIG, np.float32)
    assert not np.shares_memory(view, second)
    address = view.__array_interface__["data"][0]
    del view
    third = memory.empty(BIG, np.float32)
    assert not np.shares_memory(second, third)
    assert third.__array_interface__["data"][0] == address  # the freed block, reused


def test_arrays_are_as_numpy_makes_them():
    for dtype in (np.float32, np.float64, bool, np.int64):
        array = memory.empty(BIG, dtype)
        assert array.shape == BIG and array.dtype == dtype and array.flags.c_contiguous
        assert array.flags.writeable and memory.owns(array.base)
    zeros = memory.zeros(BIG, np.float64)
    zeros_again = memory.zeros(BIG, np.float64)
    zeros_again[:] = 7
    del zeros_again
    assert not memory.zeros(BIG, np.float64).any()  # a reused block is cleared too
    assert not zeros.any()
    small = memory.empty((3, 4), np.float32)
    assert not memory.owns(small.base)  # small arrays come from NumPy


def test_release_lets_go_of_free_blocks_and_keeps_those_in_use():
    kept = memory.empty((1024, 1024), np.float32)
    dropped = memory.empty((1024, 1023), np.float32)
    del dropped
    held = memory.release()
    assert held >= kept.nbytes
    assert memory.owns(kept.base)
    kept[:] = 1  # still usable, and nothing else got its memory
    other = memory.empty((1024, 1024), np.float32)
    assert not np.shares_memory(kept, other)


def test_blocks_of_an_old_batch_size_are_let_go():
    for _ in range(2):
        memory.empty((300, 1024), np.float32)
    memory.release()
    before = memory.held()
    unused = memory.empty((301, 1024), np.float32)
    del unused
    assert memory.held() > before
    for _ in range(memory.AGE + 256):
        memory.empty((300, 1024), np.float32)  # one free block, handed out again and again
    assert memory.held() <= before + (300 << 12)


def test_outputs_in_kernel_memory_are_read_only_and_never_overwritten_while_in_use():
    nn.manual_seed(0)
    x = ag.Tensor(np.random.default_rng(0).standard_normal((64, 8, 32, 32)).astype(np.float32))
    layer = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    outputs = [layer(x) for _ in range(3)]
    assert all(memory.owns(out.data.base) for out in outputs)
    with pytest.raises(ValueError, match="read-only"):
        outputs[0].data[0, 0, 0, 0] = 1
    first = outputs[0].data.copy()
    outputs.append(layer(x * 2))  # new steps take other blocks while these live
    np.testing.assert_array_equal(outputs[0].data, first)
    assert not np.shares_memory(outputs[0].data, outputs[-1].data)


FAULTS = """
import json, resource, sys
sys.path.insert(0, {repo!r})
import autograd
from benchmarks import cnn
images, labels = cnn.batch(32)
step = cnn.ours_trainer(cnn.ours_model(), images, labels)
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({{"faults": faults / 10, "settings": autograd.allocator.SETTINGS}}))
"""


def _faults(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "TAPEGRAD_"))}
    env.update(extra)
    out = subprocess.run([sys.executable, "-c", FAULTS.format(repo=REPO)], env=env, check=True,
                         capture_output=True, text=True, cwd=REPO).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.skipif(not allocator._glibc(), reason="page faults counted on glibc")
def test_training_steps_fault_no_pages_in_without_any_malloc_setting():
    reused = _faults()
    assert reused["settings"] == {}  # import autograd changed nothing process-wide
    fresh = _faults(TAPEGRAD_KERNEL_MEMORY="0")
    # batch 32: about 15 MiB of arrays a step, 3,000-4,000 pages faulted in afresh each
    # step without the reuse (measured 2026-12-07); with it, next to none
    assert fresh["faults"] > 1000
    assert reused["faults"] < 100
