"""unfold and fold (im2col and col2im), as in PyTorch, and their backward, vectorised.

``unfold`` lays every window of the zero-padded input out as one column:

    cols[n, c·|k| + p, i] = x_pad[n, c, i·s + p·d]

with ``p`` the kernel tap and ``i`` the window (output position), each a multi-index flattened
in row-major order, ``|k| = Π_a k_a``, and along every axis of length ``L``

    out = ⌊(L + 2·pad − d·(k − 1) − 1)/s⌋ + 1     (at least 1)

windows, the convolution's output length. A convolution is then *one* matrix product,
``y[n] = W.reshape(O, C·|k|) @ cols[n] + b``, the weight flattened in the same ``(c, p)`` order
(chapter 11). ``fold`` is the adjoint of ``unfold``: it adds every column entry back onto the
position it was read from, and crops the padding,

    y[n, c, j] = Σ_{(p, i) : i·s + p·d − pad = j} cols[n, c·|k| + p, i],

so where windows overlap the entries are summed (``fold(unfold(x))`` is ``x`` times the number
of windows reading each position, not ``x``), and a position no window reads is 0. Hence
``∂E/∂x`` of ``unfold`` is the ``fold`` of the upstream gradient, and ``∂E/∂cols`` of ``fold``
the ``unfold`` of it.

torch's ``unfold`` and ``fold`` are 2-d only (a 4-d input, or 3-d unbatched, for ``unfold``; a
3-d or 2-d one for ``fold``), and those are the public ops. The engine is N-d:
:func:`unfold_nd` and :func:`fold_nd` take any number of spatial axes (batched), and the tests
hold ``unfold_nd`` times the flattened kernel against torch's ``conv1d`` and ``conv3d``.
:mod:`reference.definitional_unfold` writes both equations as loops.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import checks, family, padding, windows
from .windows import size


@dataclass(frozen=True)
class Geometry:
    """A validated unfold or fold call: everything but the arrays' values. ``spatial`` is the
    image's size (unfold's input, fold's output), ``blocks`` the windows per axis."""

    op: str
    dims: int
    batch_added: bool
    channels: int  # C, the image's channels
    kernel: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[int, ...]
    stride: tuple[int, ...]
    spatial: tuple[int, ...]
    blocks: tuple[int, ...]

    @property
    def pad_pairs(self):
        return [(2 + a, p, p) for a, p in enumerate(self.padding)]


def check_tuple(op: str, name: str, value, dims: int, minimum: int) -> tuple[int, ...]:
    """torch's ``_pair`` (``_ntuple``): an int is repeated on every axis, a sequence must have
    exactly one entry per axis (a 1-tuple is not broadcast here, unlike the convolutions)."""
    return checks.int_tuple(op, name, value, dims, minimum, broadcast=False)


def _window_arguments(op, dims, kernel_size, dilation, padding_, stride):
    return (check_tuple(op, "kernel_size", kernel_size, dims, 1), check_tuple(op, "dilation", dilation, dims, 1),
            check_tuple(op, "padding", padding_, dims, 0), check_tuple(op, "stride", stride, dims, 1))


def _blocks(op, spatial, kernel, dilation, padding_, stride, where) -> tuple[int, ...]:
    blocks = tuple(windows.output_length(n + 2 * p, k, s, d) for n, k, d, p, s in
                   zip(spatial, kernel, dilation, padding_, stride))
    if any(b < 1 for b in blocks):
        raise ValueError(
            f"{op}: kernel_size={kernel}, dilation={dilation}, padding={padding_}, stride={stride} leave no "
            f"windows ({blocks} per axis) in {where}"
        )
    return blocks


def unfold_geometry(op: str, dims: int, input, kernel_size, dilation, padding_, stride, batched_only=False):
    """Validate an unfold call the way torch does: input ``(N, C, *L)`` or unbatched ``(C, *L)``,
    every axis but the batch non-empty, at least one window per axis."""
    checks.float_array(op, "input", input)
    checks.rank(op, "input", input, (dims + 2,) if batched_only else (dims + 1, dims + 2))
    batch_added = input.ndim == dims + 1
    if 0 in input.shape[0 if batch_added else 1:]:
        raise ValueError(f"{op}: input's axes other than the batch must be non-empty, got input.shape={input.shape}")
    kernel, dilation, pads, strides = _window_arguments(op, dims, kernel_size, dilation, padding_, stride)
    spatial = input.shape[-dims:]
    blocks = _blocks(op, spatial, kernel, dilation, pads, strides, f"input.shape={input.shape}")
    return Geometry(op, dims, batch_added, input.shape[-dims - 1], kernel, dilation, pads, strides, spatial, blocks)


def fold_geometry(op: str, dims: int, input, output_size, kernel_size, dilation, padding_, stride, batched_only=False):
    """Validate a fold call the way torch does: input ``(N, C·|k|, B)`` or unbatched ``(C·|k|, B)``,
    its second-last axis a multiple of ``|k|`` and its last the number of windows ``B`` that
    ``output_size`` holds."""
    checks.float_array(op, "input", input)
    checks.rank(op, "input", input, (3,) if batched_only else (2, 3))
    batch_added = input.ndim == 2
    if 0 in input.shape[0 if batch_added else 1:]:
        raise ValueError(f"{op}: input's axes other than the batch must be non-empty, got input.shape={input.shape}")
    spatial = check_tuple(op, "output_size", output_size, dims, 1)
    kernel, dilation, pads, strides = _window_arguments(op, dims, kernel_size, dilation, padding_, stride)
    rows, count = input.shape[-2:]
    if rows % size(kernel):
        raise ValueError(
            f"{op}: input's axis {input.ndim - 2} must be a multiple of the kernel's {size(kernel)} taps "
            f"(kernel_size={kernel_size!r}), got input.shape={input.shape}"
        )
    blocks = _blocks(op, spatial, kernel, dilation, pads, strides, f"output_size={output_size!r}")
    if count != size(blocks):
        raise ValueError(
            f"{op}: input's last axis must hold the {size(blocks)} windows ({blocks} per axis) that "
            f"output_size={output_size!r} gives with kernel_size={kernel}, dilation={dilation}, padding={pads}, "
            f"stride={strides}, got input.shape={input.shape}"
        )
    return Geometry(op, dims, batch_added, rows // size(kernel), kernel, dilation, pads, strides, spatial, blocks)


def _grad_output(geo, grad_output, input, shape):
    """The backward's upstream gradient, checked against the forward's output ``shape``
    (batched), and returned batched."""
    expected = shape[1:] if geo.batch_added else shape
    return family.batched(geo, checks.grad_output(geo.op, grad_output, input, expected))


def unfold_family(engine, dims: int = 2, batched_only: bool = False):
    """Build ``unfold`` and ``unfold_backward`` (torch's signature) on a computing ``engine``."""
    op = "unfold" if dims == 2 and not batched_only else f"unfold_{dims}d"

    def forward(input, kernel_size, dilation=1, padding=0, stride=1):
        geo = unfold_geometry(op, dims, input, kernel_size, dilation, padding, stride, batched_only)
        return family.output(geo, engine.unfold(geo, family.batched(geo, input)), input.dtype)

    def backward(grad_output, input, kernel_size, dilation=1, padding=0, stride=1):
        geo = unfold_geometry(op + "_backward", dims, input, kernel_size, dilation, padding, stride, batched_only)
        shape = (len(family.batched(geo, input)), geo.channels * size(geo.kernel), size(geo.blocks))
        return family.gradients(geo, (engine.fold(geo, _grad_output(geo, grad_output, input, shape)),), input.dtype)

    return family.named(
        op, forward, backward,
        f"``torch.nn.functional.unfold`` (im2col){'' if dims == 2 else f' in {dims}-d'}.\n\n"
        f"input (N, C, *L){'' if batched_only else ' or unbatched (C, *L)'}. Returns (N, C·|k|, B) with\n"
        f"cols[n, c·|k| + p, i] = x_pad[n, c, i·s + p·d] (p the tap, i the window, both row-major; B windows).\n"
        f"Details in :mod:`reference.unfold`.",
        f"Vector-Jacobian product of :func:`{op}`: returns (grad_input,), the fold of grad_output.",
    )


def fold_family(engine, dims: int = 2, batched_only: bool = False):
    """Build ``fold`` and ``fold_backward`` (torch's signature) on a computing ``engine``."""
    op = "fold" if dims == 2 and not batched_only else f"fold_{dims}d"

    def forward(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
        geo = fold_geometry(op, dims, input, output_size, kernel_size, dilation, padding, stride, batched_only)
        return family.output(geo, engine.fold(geo, family.batched(geo, input)), input.dtype)

    def backward(grad_output, input, output_size, kernel_size, dilation=1, padding=0, stride=1):
        geo = fold_geometry(op + "_backward", dims, input, output_size, kernel_size, dilation, padding, stride,
                            batched_only)
        shape = (len(family.batched(geo, input)), geo.channels) + geo.spatial
        return family.gradients(geo, (engine.unfold(geo, _grad_output(geo, grad_output, input, shape)),), input.dtype)

    return family.named(
        op, forward, backward,
        f"``torch.nn.functional.fold`` (col2im){'' if dims == 2 else f' in {dims}-d'}.\n\n"
        f"input (N, C·|k|, B){'' if batched_only else ' or unbatched (C·|k|, B)'}. Returns (N, C, *output_size) with\n"
        f"y[n, c, j] = Σ_(p, i : i·s + p·d − pad = j) cols[n, c·|k| + p, i]: the adjoint of unfold.\n"
        f"Details in :mod:`reference.unfold`.",
        f"Vector-Jacobian product of :func:`{op}`: returns (grad_input,), the unfold of grad_output.",
    )


class Vectorised:
    """unfold as a strided view of the padded image copied into columns; fold as one strided
    slice-add per kernel tap (:func:`reference.windows.scatter_windows`), then the crop."""

    @staticmethod
    def unfold(geo, x):
        x_pad = padding.constant(x, geo.pad_pairs, 0)
        view = windows.windows(x_pad, geo.kernel, geo.stride, geo.dilation)  # (N, C, *B, *k)
        d = geo.dims
        taps_first = view.transpose((0, 1) + tuple(range(2 + d, 2 + 2 * d)) + tuple(range(2, 2 + d)))
        return taps_first.reshape(x.shape[0], geo.channels * size(geo.kernel), size(geo.blocks))

    @staticmethod
    def fold(geo, cols):
        n = cols.shape[0]
        laid_out = cols.reshape((n, geo.channels) + geo.kernel + geo.blocks)
        padded = tuple(L + 2 * p for L, p in zip(geo.spatial, geo.padding))
        y_pad = windows.scatter_windows(laid_out, padded, geo.kernel, geo.stride, geo.dilation)
        return padding.constant_adjoint(y_pad, geo.pad_pairs, (n, geo.channels) + geo.spatial)


unfold, unfold_backward = unfold_family(Vectorised)
fold, fold_backward = fold_family(Vectorised)


def unfold_nd(input, kernel_size, dilation=1, padding=0, stride=1):
    """:func:`unfold` for a batched input ``(N, C, *L)`` of any number of spatial axes
    (torch's is 2-d only): ``(N, C·|k|, B)``."""
    dims = max(np.ndim(input) - 2, 1)
    return unfold_family(Vectorised, dims, batched_only=True)[0](input, kernel_size, dilation, padding, stride)


def fold_nd(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """:func:`fold` to an image of ``len(output_size)`` spatial axes (torch's is 2-d only):
    ``(N, C, *output_size)``, the adjoint of :func:`unfold_nd`."""
    dims = len(output_size) if isinstance(output_size, (tuple, list)) else 2
    return fold_family(Vectorised, dims, batched_only=True)[0](input, output_size, kernel_size, dilation, padding, stride)
