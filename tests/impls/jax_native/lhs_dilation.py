"""Bug: conv2d passes torch's ``dilation`` to ``lax.conv_general_dilated`` as
``lhs_dilation`` (holes between the *input's* entries, the transposed convolution's
stride) instead of ``rhs_dilation`` (holes in the kernel): the two keyword names differ by
one letter.

Revealed by: the output (its shape first) of every conv2d case with a dilation above 1. XLA
itself aborts the process compiling one of them (a SIGABRT, not an exception), so the mutant
is gated in a worker process (``crosscheck.gate.isolation``).
"""
from jax import lax

from examples import jax_ops

CROSSCHECK_FRAMEWORK = "jax"
GATE = dict(ops=("conv2d",), dtypes=("float64",), quantity="output", also=("rejection",))


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    unbatched = input.ndim == 3
    x = input[None] if unbatched else input
    dilation = jax_ops._tuple(dilation, 2)
    if isinstance(padding, str):
        totals = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
        pads = [(t // 2, t - t // 2) for t in totals] if padding == "same" else "VALID"
    else:
        pads = [(p, p) for p in jax_ops._tuple(padding, 2)]
    out = lax.conv_general_dilated(x, weight, jax_ops._tuple(stride, 2), pads, lhs_dilation=dilation,  # the bug
                                   dimension_numbers=("NCHW", "OIHW", "NCHW"), feature_group_count=groups,
                                   precision=lax.Precision.HIGHEST)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out[0] if unbatched else out
