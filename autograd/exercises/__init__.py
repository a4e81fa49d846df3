"""Exercises: write a primitive's backward pass and get told where it is wrong.

One exercise per primitive of the course: ``multiply``, ``add``, ``maximum`` (and ReLU),
``matmul``, ``sum``, ``conv``, ``max_pool``, ``softmax_cross_entropy``. ``print(exercise)``
shows the forward pass and the rule to derive; subclass ``exercise.Node`` (or write a
function ``backwardPass(self, dz)``) and call ``exercise.check(answer)``::

    from autograd import exercises

    class Mine(exercises.multiply.Node):
        def backwardPass(self, dz):
            return self.y * dz, self.x * dz

    verdict = exercises.multiply.check(Mine)
    print(verdict)        # right on every case, or the first wrong element and the rule missed
    verdict.draw()        # the case as a diagram, the node marked

``find_the_bug(n)`` builds the course's CNN with one wrong node, to find with
``autograd.check_nodes`` and the stepper. ``solutions`` holds worked answers.
"""

from . import solutions
from .bugs import Puzzle, find_the_bug
from .check import Case, Exercise, Mistake, Verdict
from .primitives import (EXERCISES, add, conv, matmul, max_pool, maximum_exercise as maximum,
                         multiply, softmax_cross_entropy, sum_exercise as sum)

__all__ = ["EXERCISES", "multiply", "add", "maximum", "matmul", "sum", "conv", "max_pool",
           "softmax_cross_entropy", "find_the_bug", "Puzzle", "Exercise", "Case", "Mistake",
           "Verdict", "solutions"]
