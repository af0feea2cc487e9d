"""The deviation bound of two SGD runs: how far reference.training.optim.SGD and torch.optim.SGD may drift
apart through rounding alone, entry by entry, step by step.

Two SGD runs, the reference's and torch's, start from the same parameters, and at every step each
gets a gradient; ``G`` bounds (entrywise) how far the two gradients of a step may differ: 0 when
both are handed the same array (the optimiser test), the network's rounding bound in a training
run (:mod:`crosscheck.networks.trajectory`). Then the parameters differ only by what rounding did along
the way. Let ``E`` bound ``|p_ref − p_torch|`` entrywise and ``M`` bound ``|b_ref − b_torch|``
(the momentum buffers); both start at 0. One step computes, on each
side, ``d = g + λ·p``, ``b' = μ·b + (1 − τ)·d`` (``b' = d`` at the first step), ``u = d + μ·b'``
(Nesterov) or ``u = b'`` (or ``u = d`` without momentum), ``p' = p − lr·u``
(:mod:`reference.training.optim`). With ``u₀ = eps/2`` and ``γ(n) = n·u₀/(1 − n·u₀)``, an operation
``a ∘ b`` computed with ``n`` roundings is within ``γ(n)·(|a| + |b|)`` of the exact result, and
every line above takes at most 2 roundings per term (NumPy: the product, then the sum; torch:
a fused multiply-add, or a product and then one). The constants ``lr``, ``μ``, ``1 − τ`` and ``λ``
are Python floats that both sides round to the parameters' dtype the same way, so they are
exact data of the problem. Each side's line is therefore within ``γ(2)·(sum of its terms'
magnitudes)`` of exact arithmetic on its inputs, and the difference of the two sides picks up
twice that, on top of the difference it inherits. Step by step, entrywise:

    Δd = G + λ·E + 2γ(2)·(|g| + λ|p|)                         (exact copy of g when λ = 0)
    M' = Δd  (first step, a copy)   or   μ·M + |1 − τ|·Δd + 2γ(2)·(μ|b| + |1 − τ|·|d|)
    Δu = Δd + μ·M' + 2γ(2)·(|d| + μ|b'|)  (Nesterov)   or   M'   or   Δd
    E' = E + lr·Δu + 2γ(2)·(|p| + lr·|u|)

where the magnitudes are the reference's values (torch's differ from them by ``E`` or ``M``,
which changes the rounding terms only at second order). The rule is first order in ``u₀`` and
linear in ``G``: with ``G = 0`` it is a few ulps per step, and it grows linearly with the
number of steps.
"""
from __future__ import annotations

import numpy as np


def gamma(n: int, dtype) -> float:
    """``γ(n) = n·u/(1 − n·u)``, ``u = eps/2``: the relative error that ``n`` roundings can add up to."""
    u = float(np.finfo(dtype).eps) / 2
    return n * u / (1 - n * u)


class SGDDeviationBound:
    """The bound of the module docstring for one optimiser's parameters, in float64 arrays.

    ``names`` and ``dtype`` fix the parameters; :meth:`step` takes, for one parameter, the
    reference's values before the step (``p``, ``grad``, ``buffer`` or None) and the gradient
    difference bound ``G`` (0 or an array), and advances ``E`` and ``M``."""

    def __init__(self, names, dtype, *, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        self.lr, self.mu, self.tau, self.wd, self.nesterov = lr, momentum, dampening, weight_decay, nesterov
        self.g2 = 2 * gamma(2, dtype)  # both sides' rounding of a two-rounding line
        self.E = {name: 0.0 for name in names}
        self.M = {name: None for name in names}

    def step(self, name, p, grad, buffer, G=0.0, maximize=False):
        p, g = np.asarray(p, np.float64), np.asarray(grad, np.float64)
        g = -g if maximize else g
        lr, mu, tau, wd, g2 = self.lr, self.mu, self.tau, self.wd, self.g2
        E = self.E[name]
        d = g + wd * p
        delta_d = G + wd * E + (g2 * (np.abs(g) + wd * np.abs(p)) if wd else 0.0)
        if mu:
            if buffer is None:
                b_new, M = d, delta_d
            else:
                b = np.asarray(buffer, np.float64)
                b_new = mu * b + (1 - tau) * d
                M = mu * self.M[name] + abs(1 - tau) * delta_d + g2 * (mu * np.abs(b) + abs(1 - tau) * np.abs(d))
            self.M[name] = M
            if self.nesterov:
                u = d + mu * b_new
                delta_u = delta_d + mu * M + g2 * (np.abs(d) + mu * np.abs(b_new))
            else:
                u, delta_u = b_new, M
        else:
            u, delta_u = d, delta_d
        self.E[name] = E + lr * delta_u + g2 * (np.abs(p) + lr * np.abs(u))
        return self.E[name]
