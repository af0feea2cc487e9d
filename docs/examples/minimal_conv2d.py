"""conv2d and conv2d_backward in plain NumPy: the smallest module the gate accepts.

    PYTHONPATH=docs/examples python -m crosscheck --impl minimal_conv2d --ops conv2d

Every output entry is a direct sum of products, one kernel tap (p, q) at a time:

    y[n, o, i, j] = b[o] + Σ_{c, p, q} x_pad[n, g·C/G + c, i·s_h + p·d_h, j·s_w + q·d_w]
                                       · w[o, c, p, q]

with g = o // (O/G). The backward applies the chain rule to each term x·w: the tap sends
gy·w back to the input entry it read and gy·x to its weight; the bias gradient sums gy.
"""
import numbers

import numpy as np


def _pair(name, value, minimum):
    """An int or a sequence of 2 ints (a sequence of 1 is broadcast, as torch does)."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items):
        raise TypeError(f"conv2d: {name} must be an int or a tuple of 2 ints, "
                        f"got {name}={value!r}")
    items = items * 2 if len(items) == 1 else items
    if len(items) != 2 or min(items) < minimum:
        raise ValueError(f"conv2d: {name} must be an int or 2 ints, each at least {minimum}, "
                         f"got {name}={value!r}")
    return tuple(int(v) for v in items)


def _check_arrays(input, weight, bias, groups):
    """Types, dtypes, ranks, channels and groups, as torch checks them."""
    for name, a in (("input", input), ("weight", weight), ("bias", bias)):
        if a is None and name == "bias":
            continue
        if not isinstance(a, np.ndarray) or a.dtype not in (np.float32, np.float64):
            raise TypeError(f"conv2d: {name} must be a float32 or float64 array, "
                            f"got {name}={a!r:.60}")
        if a.dtype != input.dtype:
            raise TypeError(f"conv2d: {name}.dtype={a.dtype} differs from "
                            f"input.dtype={input.dtype}")
    if input.ndim not in (3, 4):
        raise ValueError(f"conv2d: input must have 3 or 4 dimensions, "
                         f"got input.shape={input.shape}")
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must have 4 dimensions, "
                         f"got weight.shape={weight.shape}")
    if not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"conv2d: groups must be a positive int, got groups={groups!r}")
    channels = input.shape[-3]
    out_channels, group_channels = weight.shape[:2]
    if out_channels % groups or channels != group_channels * groups or group_channels == 0:
        raise ValueError(f"conv2d: weight.shape={weight.shape} with groups={groups} does not "
                         f"fit input.shape={input.shape}")
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"conv2d: bias must have shape ({out_channels},), "
                         f"got bias.shape={bias.shape}")


def _padding(padding, stride, dilation, kernel):
    """((top, bottom), (left, right)) from an int, a tuple, 'valid' or 'same'."""
    if padding == "valid":
        return ((0, 0), (0, 0))
    if padding == "same":  # d·(k − 1) in all, the odd one at the end
        if stride != (1, 1):
            raise ValueError(f"conv2d: padding='same' needs stride 1, got stride={stride}")
        total = (dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1))
        return tuple((t // 2, t - t // 2) for t in total)
    if isinstance(padding, str):
        raise ValueError(f"conv2d: padding must be an int, a tuple, 'valid' or 'same', "
                         f"got padding={padding!r}")
    return tuple((p, p) for p in _pair("padding", padding, 0))


def _geometry(input, weight, bias, stride, padding, dilation, groups):
    """Check a call as torch does; return the batched input, the padding, stride,
    dilation and output size."""
    _check_arrays(input, weight, bias, groups)
    x = input[None] if input.ndim == 3 else input  # unbatched: one image of C channels
    stride, dilation = _pair("stride", stride, 1), _pair("dilation", dilation, 1)
    pads = _padding(padding, stride, dilation, weight.shape[2:])
    if x.shape[0] > 0 and 0 in x.shape[2:]:
        raise ValueError(f"conv2d: input has an empty spatial axis, input.shape={input.shape}")
    out = []
    for size, (left, right), k, s, d in zip(x.shape[2:], pads, weight.shape[2:], stride, dilation):
        span = d * (k - 1) + 1
        if k == 0 or span > size + left + right:
            raise ValueError(f"conv2d: the dilated kernel ({span}) is larger than the padded "
                             f"input ({size + left + right}), weight.shape={weight.shape}")
        out.append((size + left + right - span) // s + 1)
    return x, pads, stride, dilation, tuple(out)


def _taps(weight, stride, dilation, out):
    """For each kernel tap (p, q): its index and the slices of x_pad that it reads."""
    (sh, sw), (dh, dw), (ho, wo) = stride, dilation, out
    for p in range(weight.shape[2]):
        for q in range(weight.shape[3]):
            rows = slice(p * dh, p * dh + sh * (ho - 1) + 1, sh)
            cols = slice(q * dw, q * dw + sw * (wo - 1) + 1, sw)
            yield p, q, rows, cols


def _grouped(x, groups):
    """(N, C, ...) as (N, G, C/G, ...)."""
    return x.reshape(x.shape[0], groups, x.shape[1] // groups, *x.shape[2:])


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """input (N, C, H, W) or (C, H, W), weight (O, C/G, kh, kw), bias (O,) or None."""
    x, pads, stride, dilation, out = _geometry(input, weight, bias, stride, padding,
                                               dilation, groups)
    xg = _grouped(np.pad(x, ((0, 0), (0, 0), *pads)), groups)
    wg = _grouped(weight[None], groups)[0]  # (G, O/G, C/G, kh, kw)
    y = np.zeros((x.shape[0], groups, wg.shape[1], *out), dtype=input.dtype)
    for p, q, rows, cols in _taps(weight, stride, dilation, out):
        y += np.einsum("ngcij,goc->ngoij", xg[..., rows, cols], wg[..., p, q])
    y = y.reshape(x.shape[0], weight.shape[0], *out)
    if bias is not None:
        y += bias[:, None, None]
    return y if input.ndim == 4 else y[0]


def conv2d_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    """(grad_input, grad_weight, grad_bias); grad_bias is None when bias is None."""
    x, pads, stride, dilation, out = _geometry(input, weight, bias, stride, padding,
                                               dilation, groups)
    gy = grad_output if input.ndim == 4 else grad_output[None]
    if gy.shape != (x.shape[0], weight.shape[0], *out) or gy.dtype != input.dtype:
        raise ValueError(f"conv2d_backward: grad_output must have the output's shape and "
                         f"dtype, got grad_output.shape={grad_output.shape}")
    xg = _grouped(np.pad(x, ((0, 0), (0, 0), *pads)), groups)
    wg = _grouped(weight[None], groups)[0]
    gyg = _grouped(gy, groups)  # (N, G, O/G, ho, wo)
    gx = np.zeros_like(xg)
    gw = np.zeros_like(wg)
    for p, q, rows, cols in _taps(weight, stride, dilation, out):
        # the term x_pad[.., i·s + p·d, ..]·w[o, c, p, q] sends gy·w to that input, gy·x to w
        gx[..., rows, cols] += np.einsum("ngoij,goc->ngcij", gyg, wg[..., p, q])
        gw[..., p, q] = np.einsum("ngoij,ngcij->goc", gyg, xg[..., rows, cols])
    (top, _), (left, _) = pads
    gx = gx.reshape(x.shape[0], x.shape[1], *gx.shape[3:])
    gx = gx[..., top:top + x.shape[2], left:left + x.shape[3]]
    grad_bias = None if bias is None else gy.sum(axis=(0, 2, 3))
    return (gx if input.ndim == 4 else gx[0]), gw.reshape(weight.shape), grad_bias
