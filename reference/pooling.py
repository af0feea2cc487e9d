"""N-d max and average pooling, as in PyTorch, and their backward, vectorised.

One implementation serves 1, 2 and 3 spatial dimensions; channels are pooled independently.
Along each spatial axis of length ``L``, window ``i`` with kernel ``k``, stride ``s``, padding
``pad`` and dilation ``d`` (1 for average pooling) starts at ``start = i·s − pad`` and reads
the taps ``j = start + p·d`` for ``p = 0 … k−1``; ``i``, ``p`` and ``j`` are multi-indices over
the ``D`` axes, taps in row-major order. The output length is torch's

    L_out = ⌊(L + 2·pad − d·(k − 1) − 1 + (ceil_mode ? s − 1 : 0)) / s⌋ + 1,
    and with ceil_mode, if (L_out − 1)·s ≥ L + pad, L_out − 1 instead:

the last window must start inside the input or the left padding, never in the right padding
(L = 5, k = 2, s = 2, pad = 1, ceil_mode: 3 windows, not 4). A ceil-mode window may overhang
the right padding. Every ``L_out`` must be at least 1, and ``pad ≤ k // 2`` on every axis (for
max pooling the raw ``k``: dilation does not count). ``avg_pool3d`` alone also needs ``L ≥ k``
before padding. One deliberate difference: a max-pooling window that reads only padding (with
dilation the first window can step over a short input: L = 3, k = 2, d = 4, pad = 1 reads −1
and 3) is refused; torch 2.13 gives it an index outside its plane and its backward writes
through that index into the next plane or past the end of the buffer.

Max pooling, over the taps inside the input (padding acts as −∞ and is never chosen):

    y[n, c, i]   = x[n, c, idx[n, c, i]]
    idx[n, c, i] = the last tap whose value is NaN if there is one, else the first tap (in
                   row-major order) holding max_{p : 0 ≤ j < L} x[n, c, j]; an all −∞ window
                   picks its first tap inside the input

with ``idx`` the flat offset ``Σ_a j_a·Π_{b>a} L_b`` into each unpadded ``(n, c)`` plane (the
int64 indices ``return_indices=True`` returns). ``y`` is a gather, so its backward is the
scatter-add

    ∂E/∂x[n, c, j] = Σ_{i : idx[n, c, i] = j} gy[n, c, i]

(the selected tap takes the whole gradient, a maximum shared by overlapping windows collects
one share per window, every other position gets 0).

Average pooling, summing the taps inside the input:

    y[n, c, i] = (1 / D(i)) · Σ_{p : 0 ≤ j < L} x[n, c, start + p]
    D(i)       = divisor_override if given, else Π_a D_a(i_a) with
                 D_a = min(start + k, L + pad) − start          count_include_pad=True
                 D_a = min(start + k, L) − max(start, 0)        count_include_pad=False

so padding counts in the divisor but the ceil-mode overhang past it never does. ``y`` is
linear in ``x`` with coefficient ``1/D(i)`` on every tap of window ``i``, so

    ∂E/∂x[n, c, j] = Σ_{i, p : start(i) + p = j} gy[n, c, i] / D(i).

Both are computed separably, one 1-d pass per spatial axis, by the vectorised tier
:class:`reference.separable.Vectorised` (how, and why that equals these equations, is in
:mod:`reference.separable`); :mod:`reference.definitional_pooling` walks the windows tap by tap.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import checks, family, windows
from .separable import Vectorised


@dataclass(frozen=True)
class Geometry:
    """A validated pooling call: everything but the arrays' values."""

    op: str
    dims: int
    batch_added: bool  # the input had no batch axis; one was added and is removed again
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    ceil_mode: bool
    in_spatial: tuple[int, ...]
    out_spatial: tuple[int, ...]
    count_include_pad: bool = True  # average pooling only
    divisor_override: int | None = None  # average pooling only

    @property
    def extent(self) -> tuple[int, ...]:
        """Per axis, the padded length the windows read: ``L + 2·pad``, or more where a
        ceil-mode window overhangs the right padding."""
        axes = zip(self.in_spatial, self.padding, self.out_spatial, self.stride, self.dilation, self.kernel)
        return tuple(max(n + 2 * p, (o - 1) * s + d * (k - 1) + 1) for n, p, o, s, d, k in axes)

    def starts(self, axis: int) -> np.ndarray:
        """``start = i·s − pad`` of every window along ``axis``, in input coordinates."""
        return np.arange(self.out_spatial[axis]) * self.stride[axis] - self.padding[axis]


def output_length(length: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool) -> int:
    """torch's pooling output length, with the last-window rule of ceil_mode (module docstring)."""
    n = windows.output_length(length + 2 * padding + (stride - 1 if ceil_mode else 0), kernel, stride, dilation)
    if ceil_mode and (n - 1) * stride >= length + padding:
        n -= 1
    return n


def check_flag(op: str, name: str, value) -> bool:
    """torch takes only a Python bool here (not 0/1, not numpy.bool_)."""
    if not isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be a bool, got {name}={value!r}")
    return value


def check_window(op: str, dims: int, kernel_size, stride, padding, dilation=1):
    """Per-axis ``(kernel, stride, padding, dilation)``: stride None (or empty) means the
    kernel, as in torch, and padding may be at most half the kernel on every axis."""
    kernel = checks.int_tuple(op, "kernel_size", kernel_size, dims, minimum=1)
    empty = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    strides = kernel if empty else checks.int_tuple(op, "stride", stride, dims, minimum=1)
    pads = checks.int_tuple(op, "padding", padding, dims, minimum=0)
    dilations = checks.int_tuple(op, "dilation", dilation, dims, minimum=1)
    if any(p > k // 2 for p, k in zip(pads, kernel)):
        raise ValueError(
            f"{op}: padding must be at most half of kernel_size on every axis, got padding={padding!r}, "
            f"kernel_size={kernel_size!r}" + (" (dilation does not count)" if op.lower().startswith("max") else "")
        )
    return kernel, strides, pads, dilations


def check_divisor_override(op: str, divisor_override):
    """``None``, or a non-zero int (torch's rule; a negative divisor is allowed)."""
    if divisor_override is None:
        return None
    if not checks.is_int(divisor_override):
        raise TypeError(f"{op}: divisor_override must be an int or None, got divisor_override={divisor_override!r}")
    if divisor_override == 0:
        raise ValueError(f"{op}: divisor_override must not be zero, got divisor_override={divisor_override!r}")
    return int(divisor_override)


def geometry(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode,
             count_include_pad=True, divisor_override=None) -> Geometry:
    """Validate a pooling call the way torch does and describe its shapes."""
    checks.float_array(op, "input", input)
    checks.rank(op, "input", input, (dims + 1, dims + 2))
    kernel, strides, pads, dilations = check_window(op, dims, kernel_size, stride, padding, dilation)
    ceil_mode = check_flag(op, "ceil_mode", ceil_mode)
    count_include_pad = check_flag(op, "count_include_pad", count_include_pad)
    divisor_override = check_divisor_override(op, divisor_override)

    batch_added = input.ndim == dims + 1
    shape = (1,) + input.shape if batch_added else input.shape
    if 0 in shape[1:]:
        raise ValueError(f"{op}: input's non-batch axes must be non-empty, got input.shape={input.shape}")
    in_spatial = shape[2:]
    if op.startswith("avg_pool3d") and any(n < k for n, k in zip(in_spatial, kernel)):
        # avg_pool3d alone in torch 2.13 (not 1-d or 2-d, not max pooling), padding or not
        raise ValueError(
            f"{op}: input must be at least kernel_size={kernel_size!r} on every spatial axis before padding, "
            f"got input.shape={input.shape}"
        )
    out = tuple(output_length(*args, ceil_mode) for args in zip(in_spatial, kernel, strides, pads, dilations))
    if any(o < 1 for o in out):
        raise ValueError(
            f"{op}: kernel_size={kernel_size!r}, stride={stride!r}, padding={padding!r}, dilation={dilation!r}, "
            f"ceil_mode={ceil_mode} leave no output positions (output size {out}) for input.shape={input.shape}"
        )
    geo = Geometry(op, dims, batch_added, kernel, strides, pads, dilations, ceil_mode, in_spatial, out,
                   count_include_pad, divisor_override)
    for a in range(dims):
        _, reads = windows.first_read(geo.starts(a), kernel[a], dilations[a], in_spatial[a])
        if not reads.all():
            # torch 2.13 gives such a window the value −∞ and an index outside the plane, and its
            # backward writes through that index out of bounds (heap corruption): refuse it.
            raise ValueError(
                f"{op}: with dilation={dilation!r} and padding={padding!r}, window {int(np.argmin(reads))} along "
                f"spatial axis {a} reads only padding (input.shape={input.shape}, kernel_size={kernel_size!r})"
            )
    return geo


def max_pool_family(dims: int, engine):
    """Build ``max_pool{dims}d`` and ``max_pool{dims}d_backward`` on a computing ``engine``.

    The engine sees validated, batched arrays; batching and checks are handled as for every op
    (:mod:`reference.family`), so every tier shares one definition of what a valid call is.
    """
    op = f"max_pool{dims}d"
    spatial = family.SPATIAL_AXES[dims]

    def forward(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
        geo = geometry(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode)
        y, index = engine.max_pool(geo, family.batched(geo, input), return_indices)
        y = family.output(geo, y, input.dtype)
        return (y, family.unbatched(geo, index)) if return_indices else y

    def backward(grad_output, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                 return_indices=False):
        geo = geometry(op + "_backward", dims, input, kernel_size, stride, padding, dilation, ceil_mode)
        grad = family.grad_output(geo, grad_output, input, input.shape[-dims - 1], geo.out_spatial)
        return family.gradients(geo, (engine.max_pool_backward(geo, grad, family.batched(geo, input)),), input.dtype)

    return family.named(
        op, forward, backward,
        f"{dims}-d max pooling as ``torch.nn.functional.{op}``.\n\n"
        f"input (N, C, {spatial}) or unbatched (C, {spatial}). Returns y (N, C, *L_out), and\n"
        f"with return_indices also idx (int64, same shape): y[n, c, i] = x[n, c, idx[n, c, i]], idx the flat offset\n"
        f"into the (n, c) plane of the window's maximum (ties: the first; NaN: the last NaN).\n"
        f"L_out = ⌊(L + 2·pad − d·(k − 1) − 1 + (ceil_mode ? s − 1 : 0))/s⌋ + 1, minus 1 in ceil_mode when that\n"
        f"last window would start at or past L + pad. Details in :mod:`reference.pooling`.",
        f"Vector-Jacobian product of :func:`{op}`: returns (grad_input,) with\n"
        f"grad_input[n, c, j] = Σ_(i : idx[n, c, i] = j) grad_output[n, c, i]. Takes the gradient of the\n"
        f"output (not of the indices) and the forward's arguments.",
    )


def avg_pool_family(dims: int, engine):
    """Build ``avg_pool{dims}d`` and ``avg_pool{dims}d_backward`` on a computing ``engine``;
    ``avg_pool1d`` has no ``divisor_override``, as in torch."""
    op = f"avg_pool{dims}d"
    spatial = family.SPATIAL_AXES[dims]

    def run(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
        geo = geometry(op, dims, input, kernel_size, stride, padding, 1, ceil_mode, count_include_pad, divisor_override)
        return family.output(geo, engine.avg_pool(geo, family.batched(geo, input)), input.dtype)

    def run_backward(grad_output, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
        geo = geometry(op + "_backward", dims, input, kernel_size, stride, padding, 1, ceil_mode,
                       count_include_pad, divisor_override)
        grad = family.grad_output(geo, grad_output, input, input.shape[-dims - 1], geo.out_spatial)
        return family.gradients(geo, (engine.avg_pool_backward(geo, grad, family.batched(geo, input)),), input.dtype)

    if dims == 1:
        def forward(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
            return run(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)

        def backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
            return run_backward(grad_output, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)
    else:
        def forward(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                    divisor_override=None):
            return run(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)

        def backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                     divisor_override=None):
            return run_backward(grad_output, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                divisor_override)

    return family.named(
        op, forward, backward,
        f"{dims}-d average pooling as ``torch.nn.functional.{op}``.\n\n"
        f"input (N, C, {spatial}) or unbatched (C, {spatial}). Returns (N, C, *L_out) with\n"
        f"y[n, c, i] = Σ_(taps inside the input) x[n, c, i·s − pad + p] / D(i); D(i) counts the window clipped to\n"
        f"[−pad, L + pad) (count_include_pad) or to [0, L), or is divisor_override. L_out as for max pooling\n"
        f"with d = 1. Details in :mod:`reference.pooling`.",
        f"Vector-Jacobian product of :func:`{op}`: returns (grad_input,) with\n"
        f"grad_input[n, c, j] = Σ_(i, p : i·s − pad + p = j) grad_output[n, c, i] / D(i).",
    )


max_pool1d, max_pool1d_backward = max_pool_family(1, Vectorised)
max_pool2d, max_pool2d_backward = max_pool_family(2, Vectorised)
max_pool3d, max_pool3d_backward = max_pool_family(3, Vectorised)
avg_pool1d, avg_pool1d_backward = avg_pool_family(1, Vectorised)
avg_pool2d, avg_pool2d_backward = avg_pool_family(2, Vectorised)
avg_pool3d, avg_pool3d_backward = avg_pool_family(3, Vectorised)
