"""autograd.exercises: each exercise accepts a right backward pass (a subclass or a function),
rejects plausible wrong ones with a verdict that names the input, the first wrong element
(expected and given) and the rule missed; a learner's exception, NaN or wrong shape is a
verdict, not a traceback. find_the_bug's wrong node is the one check_nodes flags."""

import numpy as np
import pytest

import autograd as ag
import nodes
from autograd import exercises
from autograd.exercises import solutions

SOLUTIONS = {
    "multiply": solutions.Multiply, "add": solutions.Add, "maximum": solutions.Maximum,
    "matmul": solutions.MatMul, "sum": solutions.Sum, "conv": solutions.Conv,
    "max_pool": solutions.MaxPool, "softmax_cross_entropy": solutions.SoftmaxCrossEntropy,
}


def test_there_is_an_exercise_per_course_primitive_each_with_a_solution():
    assert [e.name for e in exercises.EXERCISES] == list(SOLUTIONS)
    for exercise in exercises.EXERCISES:
        assert getattr(exercises, exercise.name) is exercise
        assert issubclass(SOLUTIONS[exercise.name], exercise.Node)


@pytest.mark.parametrize("exercise", exercises.EXERCISES, ids=lambda e: e.name)
def test_the_right_backward_is_accepted_as_a_subclass_and_as_a_function(exercise):
    for answer in (SOLUTIONS[exercise.name], SOLUTIONS[exercise.name].backwardPass):
        verdict = exercise.check(answer)
        assert verdict.ok, str(verdict)
        assert f"right on all {len(exercise.cases)} cases" in str(verdict)


@pytest.mark.parametrize("exercise", exercises.EXERCISES, ids=lambda e: e.name)
def test_the_given_forward_pass_is_the_built_in_op_on_every_case(exercise):
    """The expected gradients come from the built-in op: it must compute what the exercise's
    forward pass computes, or a right answer would be judged against another function."""
    for index, case in enumerate(exercise.cases):
        node = exercise.Node(**case.params)
        output = node.forwardPass(*[np.array(v, dtype=float) for v in case.inputs.values()])
        expected_output, expected_grads = exercise.expected(index)
        np.testing.assert_allclose(output, expected_output, rtol=1e-12, atol=1e-12)
        for value, grad in zip(case.inputs.values(), expected_grads):
            assert grad.shape == np.shape(value)


def test_the_awkward_cases_are_there_and_dz_is_never_all_ones():
    def broadcasts(case):
        return len({np.shape(v) for v in case.inputs.values()}) > 1
    for exercise in (exercises.multiply, exercises.add, exercises.maximum):
        assert not broadcasts(exercise.cases[0]) and sum(map(broadcasts, exercise.cases)) >= 2
    conv_params = [case.params for case in exercises.conv.cases]
    assert conv_params[0] == {} and {"stride": 2} in conv_params and {"padding": 1} in conv_params

    def tied_windows(case):  # windows whose maximum is there more than once
        x, F = case.inputs["x"], case.params.get("kernel_size", 2)
        S = case.params.get("stride", F)
        return sum(int((x[b, c, S * i:S * i + F, S * j:S * j + F] == z).sum() > 1)
                   for b, c, i, j in np.ndindex(case.dz.shape)
                   for z in [x[b, c, S * i:S * i + F, S * j:S * j + F].max()])
    pool = exercises.max_pool.cases
    assert tied_windows(pool[0]) == 0 and all(tied_windows(case) > 0 for case in pool[2:])
    assert any(case.params.get("stride") == 1 for case in pool)   # overlapping windows
    for exercise in exercises.EXERCISES:
        assert len(exercise.cases) >= 4
        for index, case in enumerate(exercise.cases):
            assert np.asarray(case.dz).shape == exercise.expected(index)[0].shape
            if exercise is not exercises.softmax_cross_entropy:
                assert not np.any(np.asarray(case.dz) == 1), "a dz of 1 hides a forgotten dz"


@pytest.mark.parametrize("exercise", exercises.EXERCISES, ids=lambda e: e.name)
def test_every_known_mistake_is_caught_and_named(exercise):
    """Each wrong variant in the catalogue is rejected by some case, and the verdict names
    its rule (so the cases cover broadcasting, ties, stride, padding ...)."""
    assert len(exercise.mistakes) >= 3
    for mistake in exercise.mistakes:
        verdict = exercise.check(mistake.backwardPass)
        assert not verdict.ok
        assert verdict.rule == mistake.rule, (mistake.rule, str(verdict))
        assert f"Rule probably missed: {mistake.rule}" in str(verdict)


def test_the_placeholder_says_not_written_yet():
    for exercise in exercises.EXERCISES:
        verdict = exercise.check(exercise.Node)
        assert not verdict.ok
        assert str(verdict) == (f"{exercise.name}: not written yet: your backwardPass raises "
                                'NotImplementedError("your backward pass here"); write it and run '
                                "the check again.")


# Wrong answers as learners write them (not the catalogue's code): each must be rejected
# with the element, the two values and the rule.

def test_multiply_swapped_names_the_element_both_values_and_the_rule():
    verdict = exercises.multiply.check(lambda self, dz: (self.x * dz, self.y * dz))
    assert not verdict.ok
    assert (verdict.input, verdict.index, verdict.expected, verdict.given) == ("x", (), -8.0, 6.0)
    assert str(verdict).startswith("multiply: wrong on case 1 of 5 (the course's numbers: x (), "
                                   "y ()): dx is 6, expected -8.")
    assert "each input's gradient is the OTHER input times dz" in str(verdict)


def test_multiply_without_dz_is_named():
    class Mine(exercises.multiply.Node):
        def backwardPass(self, dz):
            return self.y, self.x
    verdict = exercises.multiply.check(Mine)
    assert "dx is -4, expected -8" in str(verdict)
    assert "multiply by dz (the chain rule)" in str(verdict)


def test_add_with_a_mean_over_the_broadcast_axis_fails_on_the_bias_case():
    def backward(self, dz):
        dy = dz.mean(axis=0) if dz.ndim == 2 and len(self.y_shape) == 1 else dz
        return dz, dy
    verdict = exercises.add.check(backward)
    assert "case 2 of 5 (a bias added to each row: x (3, 4), y (4,))" in str(verdict)
    assert verdict.input == "y" and verdict.index == (0,)
    assert "its gradient is the SUM" in str(verdict)
    assert verdict.expected == pytest.approx(3 * verdict.given)


def test_add_returning_ones_and_subtraction_are_named():
    ones = exercises.add.check(lambda self, dz: (np.ones_like(dz), np.ones_like(dz)))
    assert "the local derivative of x + y is 1" in str(ones)
    minus = exercises.add.check(lambda self, dz: (dz, -dz))
    assert minus.input == "y" and "subtraction's rule" in str(minus)


def test_maximum_ties_to_both_and_relu_with_a_greater_than_are_named():
    def both(self, dz):
        return dz * (self.x >= self.y), dz * (self.y >= self.x)
    verdict = exercises.maximum.check(both)
    assert "ties: x == y" in str(verdict) and verdict.input == "y"
    assert "to both would count dz twice" in str(verdict)

    def strict(self, dz):
        return np.where(self.x > self.y, dz, 0.0), np.where(self.x > self.y, 0.0, dz)
    verdict = exercises.maximum.check(strict)
    assert verdict.input == "x" and "not [x > y]" in str(verdict)


def test_matmul_without_transposes_and_with_the_wrong_order_are_named():
    verdict = exercises.matmul.check(lambda self, dz: (dz @ self.y, self.x @ dz))
    assert "square matrices" in str(verdict) and "transpose the other matrix" in str(verdict)
    verdict = exercises.matmul.check(lambda self, dz: (self.y.T @ dz, dz @ self.x.T))
    assert "the order matters" in str(verdict)


def test_sum_broadcast_without_the_summed_axis_is_named():
    verdict = exercises.sum.check(lambda self, dz: (np.broadcast_to(dz, self.x_shape),))
    assert "case 3 of 5 (axis 1 of a square matrix" in str(verdict)
    assert "np.expand_dims(dz, self.axes)" in str(verdict)
    verdict = exercises.sum.check(
        lambda self, dz: (np.broadcast_to(dz, self.x_shape) / np.prod(self.x_shape),))
    assert "mean's rule" in str(verdict)


def conv_backward(self, dz, flip=False, accumulate=True):
    """A learner's conv backward, with the filter flipped or = for += when asked."""
    S, P, F = self.stride, self.padding, self.w.shape[2]
    w = self.w[:, :, ::-1, ::-1] if flip else self.w
    dx_pad, dw = np.zeros_like(self.x_pad), np.zeros_like(self.w)
    for i in range(dz.shape[2]):
        for j in range(dz.shape[3]):
            for b in range(dz.shape[0]):
                for k in range(dz.shape[1]):
                    dw[k] += self.x_pad[b, :, S * i:S * i + F, S * j:S * j + F] * dz[b, k, i, j]
                    if accumulate:
                        dx_pad[b, :, S * i:S * i + F, S * j:S * j + F] += w[k] * dz[b, k, i, j]
                    else:
                        dx_pad[b, :, S * i:S * i + F, S * j:S * j + F] = w[k] * dz[b, k, i, j]
    H, W = dx_pad.shape[2] - 2 * P, dx_pad.shape[3] - 2 * P
    return dx_pad[:, :, P:P + H, P:P + W], dw


def test_a_loop_by_loop_conv_backward_is_accepted():
    assert exercises.conv.check(conv_backward).ok


def test_conv_flipped_filter_overwritten_windows_and_uncropped_padding_are_named():
    flipped = exercises.conv.check(lambda self, dz: conv_backward(self, dz, flip=True))
    assert flipped.input == "x" and "neither transposed nor flipped" in str(flipped)
    overwritten = exercises.conv.check(lambda self, dz: conv_backward(self, dz, accumulate=False))
    assert "the SUM of their gradients (+=, not =)" in str(overwritten)

    def uncropped(self, dz):
        dx, dw = conv_backward(self, dz)
        P = self.padding
        return np.pad(dx, ((0, 0), (0, 0), (P, P), (P, P))), dw
    verdict = exercises.conv.check(uncropped)
    assert "case 4 of 5 (padding 1" in str(verdict)
    assert "dx has shape (1, 1, 6, 6), but x has shape (1, 1, 4, 4)" in str(verdict)
    assert "crop dx_pad back to x's shape" in str(verdict)


def test_conv_without_the_stride_fails_on_the_stride_2_case():
    class NoStride(exercises.conv.Node):
        def backwardPass(self, dz):
            stride, self.stride = self.stride, 1
            try:
                return conv_backward(self, dz)
            finally:
                self.stride = stride
    verdict = exercises.conv.check(NoStride)
    assert "case 3 of 5 (stride 2" in str(verdict)
    assert "not x_pad[i+m, j+n]" in str(verdict)


def pool_backward(self, dz, every_tie=False, accumulate=True):
    F, S, x = self.kernel_size, self.stride, self.x
    dx = np.zeros_like(x)
    for b in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(dz.shape[2]):
                for j in range(dz.shape[3]):
                    window = x[b, c, S * i:S * i + F, S * j:S * j + F]
                    mask = window == window.max()
                    if not every_tie:
                        first = np.unravel_index(window.argmax(), window.shape)
                        mask = np.zeros_like(mask)
                        mask[first] = True
                    if accumulate:
                        dx[b, c, S * i:S * i + F, S * j:S * j + F] += mask * dz[b, c, i, j]
                    else:
                        dx[b, c, S * i:S * i + F, S * j:S * j + F] = mask * dz[b, c, i, j]
    return (dx,)


def test_max_pool_ties_and_overlap_are_named():
    assert exercises.max_pool.check(pool_backward).ok
    ties = exercises.max_pool.check(lambda self, dz: pool_backward(self, dz, every_tie=True))
    assert "case 3 of 5 (ties in a window" in str(ties)
    assert "its first maximum in row-major order" in str(ties)
    overlap = exercises.max_pool.check(lambda self, dz: pool_backward(self, dz, accumulate=False))
    assert "stride 1 (overlapping, ties)" in str(overlap)
    assert "the SUM of their gradients" in str(overlap)


def test_softmax_cross_entropy_without_the_mean_or_the_one_hot_is_named():
    def no_mean(self, dz):
        one_hot = np.eye(self.p.shape[1])[self.labels]
        return ((self.p - one_hot) * dz,)
    verdict = exercises.softmax_cross_entropy.check(no_mean)
    assert "case 2 of 4 (a batch of 4" in str(verdict) and "divide by N" in str(verdict)
    assert verdict.given == pytest.approx(4 * verdict.expected)
    verdict = exercises.softmax_cross_entropy.check(lambda self, dz: (self.p * dz / len(self.p),))
    assert "subtract 1 at each example's true class" in str(verdict)


# Learner code that crashes, gives NaN, or the wrong shape: a verdict, never a traceback.

def test_an_exception_in_the_learners_code_is_a_verdict_with_the_line():
    def backward(self, dz):
        return self.z * dz, dz   # there is no self.z
    verdict = exercises.multiply.check(backward)
    assert not verdict.ok
    assert "your backwardPass raised AttributeError" in str(verdict)
    assert "return self.z * dz, dz" in str(verdict)
    assert "dx = y · dz; dy = x · dz" in str(verdict)


def test_nan_from_the_learners_code_is_named():
    with np.errstate(all="ignore"):
        verdict = exercises.maximum.check(
            lambda self, dz: (np.where(self.x >= self.y, dz, 0) * np.log(self.x - self.x),
                              np.where(self.x >= self.y, 0, dz)))
    assert not verdict.ok and verdict.input == "x"
    assert "NaN in dx" in str(verdict) or "dx[0] is -inf" in str(verdict)


def test_a_wrong_shape_a_missing_tuple_a_none_and_a_wrong_count_are_named():
    shape = exercises.multiply.check(lambda self, dz: (np.sum(self.y * dz), self.x * dz))
    assert "dx has shape (), but x has shape (4,): return dx in x's shape" in str(shape)
    broadcast = exercises.add.check(lambda self, dz: (dz, dz.sum(axis=-1) if dz.ndim == 2 else dz))
    assert "(or the output's shape (3, 4): the engine sums" in str(broadcast)
    bare = exercises.sum.check(lambda self, dz: np.broadcast_to(dz, self.x_shape))
    assert "must return a tuple with one gradient per input, (dx,) here" in str(bare)
    none = exercises.matmul.check(lambda self, dz: (None, self.x.T @ dz))
    assert "dx is None, but x takes a gradient" in str(none)
    one = exercises.multiply.check(lambda self, dz: (self.y * dz,))
    assert "returned 1 gradient for 2 inputs" in str(one)
    text = exercises.add.check(lambda self, dz: ("dz", dz))
    assert "a gradient must be an array of numbers, got str" in str(text)
    assert "check takes your backwardPass function" in str(exercises.add.check(42))


def test_the_learners_dz_and_inputs_are_copies():
    """A backward pass that writes into dz or its saved inputs cannot spoil later cases."""
    def backward(self, dz):
        dx = self.y * dz
        dz *= 0
        self.x *= 0
        return dx, self.x
    verdict = exercises.multiply.check(backward)
    assert "dy is 0, expected 6" in str(verdict)
    assert exercises.multiply.check(solutions.Multiply).ok
    assert exercises.multiply.cases[0].inputs["x"] == 3.0 and exercises.multiply.cases[0].dz == 2.0


def test_a_changed_forward_pass_is_named():
    class Mine(exercises.multiply.Node):
        def forwardPass(self, x, y):
            self.x, self.y = x, y
            return x + y

        def backwardPass(self, dz):
            return dz, dz
    assert "forwardPass gives a different output" in str(exercises.multiply.check(Mine))


def test_the_verdict_draws_the_failing_case_with_the_node_marked():
    verdict = exercises.multiply.check(lambda self, dz: (self.x * dz, self.y * dz))
    diagram = verdict.draw()
    assert len(diagram.highlighted) == 1 and diagram.highlighted[0].startswith("n")
    assert "grad 6.0" in diagram.source and "grad -8.0" in diagram.source   # the given dx, dy
    assert "grad 2.0" in diagram.source                                     # dz on z
    assert "#ff6f00" in diagram.source                                      # the highlight
    shape = exercises.conv.check(lambda self, dz: (np.pad(self.x_pad, 1), self.w))
    assert "dx has shape (3, 3, 6, 6), but x has shape (1, 1, 4, 4)" in str(shape)
    assert shape.draw().highlighted  # a gradient of the wrong shape is left out, not an error


def test_a_right_answers_verdict_draws_its_gradients_on_the_last_case():
    verdict = exercises.add.check(solutions.Add)
    last = exercises.add.cases[-1]
    assert [np.shape(g) for g in verdict.grads] == [np.shape(v) for v in last.inputs.values()]
    np.testing.assert_allclose(verdict.grads[1], last.dz.sum(axis=0, keepdims=True))
    assert verdict.draw().source.count('#c62828">grad') == 3   # dx, dy and dz, in red


# Find the bug

@pytest.mark.parametrize("number", range(1, len(exercises.bugs.PUZZLES) + 1))
def test_check_nodes_flags_exactly_the_wrong_node_of_each_puzzle(number):
    puzzle = exercises.find_the_bug(number)
    results = ag.check_nodes(puzzle.loss)
    flagged = {check.node for check in results.wrong()}
    assert flagged == {puzzle._wrong}
    assert puzzle.answer(results.wrong()[0]).ok
    assert str(puzzle.answer(puzzle._wrong._seq)).startswith(f"Right: {puzzle._wrong.name} #")
    others = [node for node in ag.graph_nodes(puzzle.loss) if node is not puzzle._wrong]
    assert not puzzle.answer(others[0]).ok
    # the wrong node looks like the built-in one
    built_in = type(puzzle._wrong).__mro__[1]
    assert type(puzzle._wrong).__name__ == built_in.__name__
    assert built_in.__module__.startswith("nodes.")
    assert "nodes" not in type(puzzle._wrong).__module__.split(".")[0]


@pytest.mark.parametrize("number", range(1, len(exercises.bugs.PUZZLES) + 1))
def test_a_puzzles_wrong_node_lets_go_of_what_it_saved_after_backward(number):
    """As every built-in node does: its ``saved`` names all it keeps."""
    puzzle = exercises.find_the_bug(number)
    puzzle.loss.backward()
    wrong = puzzle._wrong
    kept = [name for name, value in vars(wrong).items() if isinstance(value, np.ndarray)]
    kept += [name for name in type(wrong).saved or () if getattr(wrong, name, None) is not None]
    assert kept == [], f"{type(wrong).__name__} still holds {kept} after backward"


def test_the_puzzles_bug_is_in_backward_only(monkeypatch):
    """Each puzzle's loss is the built-in graph's; its gradients are not."""
    def loss_and_grads(number):
        puzzle = exercises.find_the_bug(number)
        puzzle.loss.backward()
        return puzzle.loss.item(), np.concatenate([p.grad.ravel() for p in puzzle.parameters])

    puzzles = [loss_and_grads(n) for n in range(1, len(exercises.bugs.PUZZLES) + 1)]
    for kind, (variant, explanation) in list(exercises.bugs.BUGS.items()):
        monkeypatch.setitem(exercises.bugs.BUGS, kind, (variant.__mro__[1], explanation))
    right_loss, right_grads = loss_and_grads(1)
    for loss, grads in puzzles:
        assert loss == pytest.approx(right_loss, rel=1e-12)
        assert not np.allclose(grads, right_grads)


def test_find_the_bug_refuses_a_number_it_does_not_have():
    with pytest.raises(ValueError, match="number must be 1 to 4"):
        exercises.find_the_bug(5)
    assert "not a node of the graph" in str(exercises.find_the_bug(1).answer(10 ** 9))


def test_the_wrong_variants_live_in_exercises_only():
    """nodes/ holds the right nodes only: no class of the exercises is exported there."""
    for variant, _ in exercises.bugs.BUGS.values():
        assert getattr(nodes, variant.__name__) is not variant
