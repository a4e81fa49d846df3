# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 7. Exercises: write the backward pass, get told where it is wrong
#
# Each primitive of the course is an exercise: its forward pass is given, as a node like
# the course's `MultiplicationNode`, and its `backwardPass` is yours to write. The checker
# runs your backward pass on small cases first, then on the awkward ones (broadcasting,
# ties, stride 2, padding, overlapping windows), compares each gradient with the built-in
# op's, and stops at the first wrong one. Its verdict names the input, the first wrong
# element with the value expected and the value given, and the rule you probably missed;
# `verdict.draw()` draws the case with the node marked.
#
# Each exercise below has a cell that starts as
# `raise NotImplementedError("your backward pass here")`: replace that line with your
# backward pass and run the cell after it. (The tests run this notebook with
# `TAPEGRAD_SOLUTIONS=1`, which checks the worked answers in `autograd/exercises/solutions.py`
# instead of yours: try yours first.)

# %%
import os

import numpy as np

import autograd as ag
from autograd import exercises
from autograd.exercises import solutions

SOLUTIONS = os.environ.get("TAPEGRAD_SOLUTIONS") == "1"


def check(exercise, yours, worked):
    """Check your answer (the worked one when SOLUTIONS is set) and print the verdict."""
    verdict = exercise.check(worked if SOLUTIONS else yours)
    print(verdict)
    assert verdict.ok or not SOLUTIONS, verdict
    return verdict


# %% [markdown]
# ## How a verdict reads
#
# Every exercise prints its task: the forward pass, what it keeps on `self`, and the rule
# to derive. Here is the first one, with a classic mistake: each input's gradient is
# written with its *own* value instead of the other input's.

# %%
print(exercises.multiply)


# %%
def swapped(self, dz):
    return self.x * dz, self.y * dz


verdict = exercises.multiply.check(swapped)
print(verdict)
assert not verdict.ok and (verdict.input, verdict.expected, verdict.given) == ("x", -8.0, 6.0)
verdict.draw()

# %% [markdown]
# `check` takes a subclass of `exercise.Node` (as below) or a plain function
# `backwardPass(self, dz)` (as above). The gradients you return may have a broadcast
# input's shape or the output's: the engine sums a broadcast gradient back, as it does for
# the built-in nodes.
#
# ## 1. Multiplication: z = x * y

# %%
class MyMultiply(exercises.multiply.Node):
    def backwardPass(self, dz):
        raise NotImplementedError("your backward pass here")


# %%
check(exercises.multiply, MyMultiply, solutions.Multiply);

# %% [markdown]
# ## 2. Addition: z = x + y

# %%
print(exercises.add)


# %%
class MyAdd(exercises.add.Node):
    def backwardPass(self, dz):
        raise NotImplementedError("your backward pass here")


# %%
check(exercises.add, MyAdd, solutions.Add);

# %% [markdown]
# ## 3. Max and ReLU: z = max(x, y)
#
# The tie rule, as in the built-in node: where x == y the whole gradient goes to x, the
# first input. So ReLU, written as the course writes it, max(0, x), gives x no gradient at 0.

# %%
print(exercises.maximum)


# %%
class MyMaximum(exercises.maximum.Node):
    def backwardPass(self, dz):
        raise NotImplementedError("your backward pass here")


# %%
check(exercises.maximum, MyMaximum, solutions.Maximum);

# %% [markdown]
# ## 4. Matrix product: z = x @ y

# %%
print(exercises.matmul)


# %%
class MyMatMul(exercises.matmul.Node):
    def backwardPass(self, dz):
        raise NotImplementedError("your backward pass here")


# %%
check(exercises.matmul, MyMatMul, solutions.MatMul);

# %% [markdown]
# ## 5. Sum over axes

# %%
print(exercises.sum)


# %%
class MySum(exercises.sum.Node):
    def backwardPass(self, dz):
        raise NotImplementedError("your backward pass here")


# %%
check(exercises.sum, MySum, solutions.Sum);

# %% [markdown]
# ## 6. Convolution, with stride and zero padding
#
# The course's $Y_{ij} = \sum_m \sum_n W_{mn} X_{i+m,j+n}$, over channels and filters, with
# stride S and padding P. Loops over the output positions (i, j) are fine: that is how the
# notes write it.

# %%
print(exercises.conv)


# %%
class MyConv(exercises.conv.Node):
    def backwardPass(self, dz):
        raise NotImplementedError("your backward pass here")


# %%
verdict = check(exercises.conv, MyConv, solutions.Conv)
verdict.draw()

# %% [markdown]
# ## 7. Max pooling
#
# The notes' indicator $I(X_{2i+m,2j+n} = Y_{ij})$, made exact for ties: only the *first*
# maximum of a window in row-major order takes its gradient, so what leaves a window adds
# up to what arrived. Where windows overlap (stride 1), an element that is the maximum of
# several windows gets the sum of their gradients.

# %%
print(exercises.max_pool)


# %%
class MyMaxPool(exercises.max_pool.Node):
    def backwardPass(self, dz):
        raise NotImplementedError("your backward pass here")


# %%
check(exercises.max_pool, MyMaxPool, solutions.MaxPool);

# %% [markdown]
# ## 8. Softmax with cross-entropy

# %%
print(exercises.softmax_cross_entropy)


# %%
class MySoftmaxCrossEntropy(exercises.softmax_cross_entropy.Node):
    def backwardPass(self, dz):
        raise NotImplementedError("your backward pass here")


# %%
check(exercises.softmax_cross_entropy, MySoftmaxCrossEntropy, solutions.SoftmaxCrossEntropy);

# %% [markdown]
# ## What the checker knows
#
# Each exercise carries the mistakes learners make (a wrong `backwardPass` with the rule it
# misses: a tie sent to both inputs, a mean where broadcasting needs a sum, a flipped filter,
# `=` where overlapping windows need `+=` ...). A wrong answer is compared with them on the
# case where it failed, so the verdict can name the rule. Every one of them is rejected:

# %%
for exercise in exercises.EXERCISES:
    for mistake in exercise.mistakes:
        verdict = exercise.check(mistake.backwardPass)
        assert not verdict.ok and verdict.rule == mistake.rule, verdict
    print(f"{exercise.name}: {len(exercise.mistakes)} wrong backward passes rejected, each "
          "with its rule")
print()
print(exercise.check(exercise.mistakes[0].backwardPass))

# %% [markdown]
# ## Find the bug
#
# Now the other way round: a graph built from built-in nodes, except that one of them has a
# deliberately wrong `backwardPass`. The network is the course's INPUT-CONV-RELU-POOL-FC on
# 8 digits with a cross-entropy loss, and the wrong node looks like every other (same name,
# same symbol). Which one is it?
#
# `ag.check_nodes` checks each node's `backwardPass` against central differences of its own
# `forwardPass`, on the very arrays it saw; `ag.draw(..., check=results)` colours each node
# green (right) or red (wrong).

# %%
puzzle = exercises.find_the_bug(1)
results = ag.check_nodes(puzzle.loss)
print(results)
ag.draw(puzzle.loss, check=results)

# %% [markdown]
# The stepper, given the same results, says each node's check on its step. Step to the red
# node and read what its backward pass sent:

# %%
stepper = ag.Stepper(puzzle.loss, check=results)
suspect = results.wrong()[0]
for step in stepper:
    if step.node is suspect.node:
        print(step.explain())
        break

# %% [markdown]
# Name the node (its `NodeCheck`, the node itself, or its number) to see if you are right,
# and what its bug is:

# %%
answer = puzzle.answer(suspect)
print(answer)
assert answer.ok

# %% [markdown]
# Three more puzzles, each with a different wrong node: find each with `check_nodes`
# before you print the answer.

# %%
for number in (2, 3, 4):
    puzzle = exercises.find_the_bug(number)
    results = ag.check_nodes(puzzle.loss)
    wrong = results.wrong()
    assert len(wrong) == 1 and puzzle.answer(wrong[0]).ok
    print(f"puzzle {number}: check_nodes flags {wrong[0].name}")
