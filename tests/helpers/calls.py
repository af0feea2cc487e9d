"""Valid calls of every op, the message of a refusal, and agreement with torch through the harness."""
import numpy as np
import pytest

import reference.functional as F
from crosscheck import Case, run_case
from crosscheck.gate.report import format_failure


LAYERS = {  # op: shapes of its array arguments, other arguments
    "conv1d": (((2, 3, 7), (4, 3, 3), (4,)), {}),
    "conv2d": (((2, 3, 6, 5), (4, 3, 3, 2), (4,)), {}),
    "conv3d": (((2, 3, 4, 5, 4), (4, 3, 2, 2, 2), (4,)), {}),
    "conv_transpose1d": (((2, 3, 5), (3, 4, 3), (4,)), {}),
    "conv_transpose2d": (((2, 3, 4, 5), (3, 4, 2, 3), (4,)), {}),
    "conv_transpose3d": (((2, 3, 3, 4, 3), (3, 4, 2, 2, 2), (4,)), {}),
    "pad": (((2, 3, 5),), {"pad": (1, 2)}),
    "unfold": (((2, 3, 6, 5),), {"kernel_size": (3, 2)}),
    "fold": (((2, 12, 20),), {"output_size": (5, 6), "kernel_size": 2}),
    "max_pool1d": (((2, 3, 7),), {"kernel_size": 2}),
    "max_pool2d": (((2, 3, 6, 5),), {"kernel_size": 2}),
    "max_pool3d": (((2, 3, 4, 5, 4),), {"kernel_size": 2}),
    "avg_pool1d": (((2, 3, 7),), {"kernel_size": 2}),
    "avg_pool2d": (((2, 3, 6, 5),), {"kernel_size": 2}),
    "avg_pool3d": (((2, 3, 4, 5, 4),), {"kernel_size": 2}),
    "adaptive_max_pool1d": (((2, 3, 7),), {"output_size": 3}),
    "adaptive_max_pool2d": (((2, 3, 6, 5),), {"output_size": (4, 3)}),
    "adaptive_max_pool3d": (((2, 3, 4, 5, 4),), {"output_size": 3}),
    "adaptive_avg_pool1d": (((2, 3, 7),), {"output_size": 3}),
    "adaptive_avg_pool2d": (((2, 3, 6, 5),), {"output_size": (4, 3)}),
    "adaptive_avg_pool3d": (((2, 3, 4, 5, 4),), {"output_size": 3}),
    "linear": (((2, 5), (3, 5), (3,)), {}),
    "relu": (((2, 5),), {}),
    "sigmoid": (((2, 5),), {}),
    "tanh": (((2, 5),), {}),
    "softmax": (((2, 5),), {"dim": 1}),
    "log_softmax": (((2, 5),), {"dim": 1}),
    "mse_loss": (((2, 5), (2, 5)), {}),
    "cross_entropy": (((4, 5), (4,)), {}),
}


def valid_call(op, dtype="float64"):
    """Valid arguments of ``op``: its arrays (cross_entropy's target as class indices) and kwargs."""
    shapes, kwargs = LAYERS[op]
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    if op == "cross_entropy":
        arrays[1] = rng.integers(0, shapes[0][1], shapes[1])
    return arrays, dict(kwargs)


def refusal(function, *args, **kwargs) -> str:
    with pytest.raises((ValueError, TypeError)) as refused:
        function(*args, **kwargs)
    return str(refused.value)


def agrees_with_torch(case: Case, impl=F):
    outcome = run_case(impl, case, seed=0)
    assert outcome.status == "passed", format_failure(outcome, "reference.functional", 0)
