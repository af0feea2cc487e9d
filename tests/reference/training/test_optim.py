"""reference.training.optim.SGD against torch.optim.SGD: every option, several steps, the same gradients.

Both optimisers get the same parameters and, at every step, the same gradient arrays, so they
differ only in rounding: torch fuses ``a + α·b`` into one multiply-add where NumPy rounds twice,
so exact equality is not to be had (about 8 % of the entries of ``p − lr·g`` differ by an ulp).
The tolerance is :class:`crosscheck.networks.sgd_bound.SGDDeviationBound` with no gradient difference
(``G = 0``): each line of the update within ``γ(2)`` of its terms' magnitudes on each side,
propagated through the momentum buffer and the parameter, entry by entry (derivation in that
module's docstring). It is a few ulps per step: a first momentum step dampened (a buffer started
at zero), Nesterov's term left out or weight decay of the wrong sign exceed it by orders of
magnitude, and the tests below prove that they do.
"""
import itertools

import numpy as np
import pytest
import torch

from crosscheck.networks.sgd_bound import SGDDeviationBound
from reference.nn import Parameter
from reference.training.optim import SGD, ReduceLROnPlateau

DTYPES = {"float32": torch.float32, "float64": torch.float64}
SHAPES = {"w": (3, 4), "b": (5,), "late": (2, 3)}  # 'late' gets no gradient at the first step
STEPS = 6


def _options():
    for momentum, dampening, weight_decay, nesterov, maximize in itertools.product(
            (0.0, 0.9), (0.0, 0.3), (0.0, 0.01), (False, True), (False, True)):
        if nesterov and (momentum == 0 or dampening != 0):
            continue
        if maximize and (dampening or weight_decay):  # maximize only flips g: one sign test per rule suffices
            continue
        yield pytest.param(dict(momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                nesterov=nesterov, maximize=maximize),
                           id=f"m{momentum}-d{dampening}-wd{weight_decay}-{'nesterov' if nesterov else 'plain'}"
                              f"{'-max' if maximize else ''}")


def _pair(options, dtype, seed=0, lr=0.1):
    rng = np.random.default_rng(seed)
    data = {k: rng.standard_normal(s).astype(dtype) for k, s in SHAPES.items()}
    ref = {k: Parameter(v.copy()) for k, v in data.items()}
    theirs = {k: torch.from_numpy(v.copy()).requires_grad_() for k, v in data.items()}
    ref_opt = SGD(list(ref.values()), lr=lr, **options)
    torch_opt = torch.optim.SGD(list(theirs.values()), lr=lr, **options)
    return ref, theirs, ref_opt, torch_opt


def _run(options, dtype, step_fn=None, seed=0, lr=0.1):
    """STEPS steps of both; after each, assert every entry within the bound. ``step_fn`` replaces
    the reference's step (for the tests that prove a wrong rule is caught). Returns the largest
    ratio of deviation to bound seen, both optimisers, torch's tensors and the bound."""
    ref, theirs, ref_opt, torch_opt = _pair(options, dtype, seed, lr)
    bound = SGDDeviationBound(SHAPES, dtype, lr=lr, **{k: v for k, v in options.items() if k != "maximize"})
    rng = np.random.default_rng(seed + 1)
    worst = 0.0
    for step in range(STEPS):
        for name in SHAPES:
            if name == "late" and step == 0:
                ref[name].grad, theirs[name].grad = None, None
                continue
            g = rng.standard_normal(SHAPES[name]).astype(dtype)
            ref[name].grad, theirs[name].grad = g.copy(), torch.from_numpy(g.copy())
        for i, name in enumerate(SHAPES):
            if ref[name].grad is not None:
                bound.step(name, ref[name].data, ref[name].grad, ref_opt.momentum_buffers[i],
                           maximize=options.get("maximize", False))
        grads_before = {k: None if p.grad is None else p.grad.copy() for k, p in ref.items()}
        (step_fn or SGD.step)(ref_opt)
        torch_opt.step()
        for name in SHAPES:
            if grads_before[name] is not None:
                np.testing.assert_array_equal(ref[name].grad, grads_before[name])  # step never touches .grad
            assert ref[name].data.dtype == dtype
            dev = np.abs(ref[name].data.astype(np.float64) - theirs[name].detach().numpy().astype(np.float64))
            E = np.broadcast_to(bound.E[name], dev.shape)
            over = np.divide(dev, E, out=np.where(dev > 0, np.inf, 0.0), where=E > 0)  # E = 0 allows no deviation
            worst = max(worst, float(over.max()))
    return worst, ref_opt, torch_opt, theirs, bound


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", list(_options()))
def test_sgd_matches_torch_within_the_rounding_bound(options, dtype):
    worst, ref_opt, torch_opt, theirs, bound = _run(options, np.dtype(dtype))
    assert worst <= 1, f"an entry deviates {worst:.3g} times its bound"
    if options["momentum"]:  # the buffers, too (torch keeps them in its state), within their bound M
        for i, name in enumerate(SHAPES):
            torch_buffer = torch_opt.state[theirs[name]]["momentum_buffer"].numpy().astype(np.float64)
            assert np.all(np.abs(ref_opt.momentum_buffers[i] - torch_buffer) <= bound.M[name])
    else:
        assert all(b is None for b in ref_opt.momentum_buffers)


def test_the_bound_catches_a_first_momentum_step_that_is_dampened():
    """A plausible mistake: a buffer that starts at zero, so the first step is b = (1 − τ)·g
    instead of torch's b = g."""
    def from_zero(self):
        for i, p in enumerate(self.params):
            if p.grad is not None and self.momentum_buffers[i] is None:
                self.momentum_buffers[i] = np.zeros_like(p.data)
        SGD.step(self)

    worst, *_ = _run(dict(momentum=0.9, dampening=0.3, weight_decay=0.0, nesterov=False), np.dtype("float32"),
                     step_fn=from_zero)
    assert worst > 100


def test_the_bound_catches_nesterov_read_as_plain_momentum():
    def plain(self):
        self.nesterov = False
        SGD.step(self)

    worst, *_ = _run(dict(momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=True), np.dtype("float32"),
                     step_fn=plain)
    assert worst > 100


def test_the_bound_catches_weight_decay_of_the_wrong_sign():
    def wrong(self):
        self.weight_decay = -abs(self.weight_decay)
        SGD.step(self)
        self.weight_decay = abs(self.weight_decay)

    worst, *_ = _run(dict(momentum=0.0, dampening=0.0, weight_decay=0.01, nesterov=False), np.dtype("float64"),
                     step_fn=wrong)
    assert worst > 100


# --- arguments ----------------------------------------------------------------------------------

def _one():
    return [Parameter(np.zeros(3))]


@pytest.mark.parametrize("name, value", [("lr", -0.1), ("momentum", -0.5), ("weight_decay", -1e-4)])
def test_negative_hyper_parameters_are_refused_like_torch(name, value):
    with pytest.raises(ValueError, match=rf"{name}={value}"):
        SGD(_one(), **{name: value})
    with pytest.raises(ValueError):
        torch.optim.SGD([torch.zeros(3, requires_grad=True)], **{name: value})


@pytest.mark.parametrize("options", [dict(nesterov=True), dict(nesterov=True, momentum=0.9, dampening=0.1)])
def test_nesterov_needs_momentum_and_no_dampening_like_torch(options):
    with pytest.raises(ValueError, match=r"nesterov.*momentum=.*dampening="):
        SGD(_one(), **options)
    with pytest.raises(ValueError):
        torch.optim.SGD([torch.zeros(3, requires_grad=True)], **options)


@pytest.mark.parametrize("name, value", [("lr", "0.1"), ("momentum", None), ("lr", True), ("nesterov", 1)])
def test_non_numbers_are_refused_naming_the_argument(name, value):
    with pytest.raises(TypeError, match=rf"{name}={value!r}"):
        SGD(_one(), **{name: value})


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_learning_rate_is_refused(value):
    """torch accepts a NaN lr (its check is lr < 0); the reference refuses it, as a certain bug."""
    with pytest.raises(ValueError, match="lr=nan|lr=inf"):
        SGD(_one(), lr=value)


def test_parameter_lists_are_checked():
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([])
    with pytest.raises(TypeError, match=r"params\[1\] must be a reference.nn Parameter"):
        SGD([Parameter(np.zeros(2)), np.zeros(2)])
    p = Parameter(np.zeros(2))
    with pytest.raises(ValueError, match="listed twice"):
        SGD([p, p])
    with pytest.raises(TypeError, match="iterable of Parameters"):
        SGD(p)


def test_named_parameters_are_accepted():
    from reference import nn
    net = nn.Linear(3, 2, rng=0)
    assert SGD(net.named_parameters(), lr=0.1).params == list(net.parameters())


def test_zero_grad_forgets_or_zeroes():
    params = [Parameter(np.ones(2)), Parameter(np.ones(3))]
    params[0].grad = np.ones(2)
    opt = SGD(params, lr=0.1)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(params[0].grad, np.zeros(2))
    assert params[1].grad is None
    opt.zero_grad()
    assert params[0].grad is None


def test_state_dict_resumes_exactly():
    """Two steps, save, a fresh optimiser loads the state, two more steps: bit for bit the same as
    four uninterrupted steps (the same arithmetic on the same values)."""
    options = dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)
    rng = np.random.default_rng(3)
    start = rng.standard_normal(4)
    grads = [rng.standard_normal(4) for _ in range(4)]

    straight = Parameter(start.copy())
    opt = SGD([straight], **options)
    for g in grads:
        straight.grad = g
        opt.step()

    resumed = Parameter(start.copy())
    opt = SGD([resumed], **options)
    for g in grads[:2]:
        resumed.grad = g
        opt.step()
    state = opt.state_dict()
    assert set(state) == {"state", "param_groups"} and set(state["state"][0]) == {"momentum_buffer"}
    assert {"lr", "momentum", "dampening", "weight_decay", "nesterov", "params"} <= set(state["param_groups"][0])
    fresh = SGD([resumed], lr=1.0)
    fresh.load_state_dict(state)
    for g in grads[2:]:
        resumed.grad = g
        fresh.step()
    np.testing.assert_array_equal(resumed.data, straight.data)


def test_load_state_dict_refuses_a_wrong_shape():
    opt = SGD([Parameter(np.zeros(3))], lr=0.1, momentum=0.9)
    state = {"state": {0: {"momentum_buffer": np.zeros(4)}}, "param_groups": opt.state_dict()["param_groups"]}
    with pytest.raises(ValueError, match=r"momentum_buffer 0 has shape \(4,\)"):
        opt.load_state_dict(state)
    assert opt.momentum_buffers == [None]


# --- ReduceLROnPlateau ---------------------------------------------------------------------------

# A validation curve with what the rule must get right: a fall, plateaus of every length, values
# equal to the best, changes below the threshold (rel 1e-4 of ~0.5 is 5e-5; abs below), a NaN, a
# rise back and a long tail that drives the rate down to min_lr.
CURVE = [1.0, 0.8, 0.8, 0.79995, 0.81, 0.7, 0.7, 0.7, 0.7, float("nan"), 0.69, 0.5, 0.50004, 0.6, 0.6, 0.6,
         0.49, 0.49, 0.49, 0.49, 0.49, 0.49, 0.49, 0.49, 0.49, 0.49, 0.49, 0.49, 2.0, 0.1]


def _schedules():
    """Every mode, patience and cooldown; the numbers in two sets (torch's defaults with min_lr 0, and
    a slow cut to a floor with a coarse threshold)."""
    for mode, threshold_mode, patience, cooldown, (factor, min_lr, threshold) in itertools.product(
            ("min", "max"), ("rel", "abs"), (0, 2), (0, 1), ((0.1, 0.0, 1e-4), (0.5, 0.02, 0.02))):
        yield pytest.param(dict(mode=mode, threshold_mode=threshold_mode, patience=patience, cooldown=cooldown,
                                factor=factor, min_lr=min_lr, threshold=threshold),
                           id=f"{mode}-{threshold_mode}-p{patience}-c{cooldown}-f{factor}-min{min_lr}-t{threshold}")


@pytest.mark.parametrize("options", list(_schedules()))
def test_reduce_lr_on_plateau_cuts_the_rate_at_the_epochs_torch_does(options):
    """The same curve through both schedulers: after every epoch the two rates are the same
    float (both compute max(lr·factor, min_lr) in Python floats), and the rate did fall."""
    ref_opt = SGD(_one(), lr=0.4)
    torch_opt = torch.optim.SGD([torch.zeros(3, requires_grad=True)], lr=0.4)
    ref, theirs = ReduceLROnPlateau(ref_opt, **options), torch.optim.lr_scheduler.ReduceLROnPlateau(torch_opt, **options)
    rates = []
    for epoch, value in enumerate(CURVE):
        ref.step(value)
        theirs.step(value)
        assert ref_opt.lr == torch_opt.param_groups[0]["lr"], f"epoch {epoch}: {ref_opt.lr} vs torch"
        rates.append(ref_opt.lr)
    assert min(rates) < 0.4  # every option set cuts at least once on this curve


def test_reduce_lr_on_plateau_waits_more_than_patience_epochs():
    """patience=2: the third epoch in a row without a better loss cuts, not the second."""
    opt = SGD(_one(), lr=1.0)
    schedule = ReduceLROnPlateau(opt, factor=0.5, patience=2)
    for value, lr in [(1.0, 1.0), (1.0, 1.0), (2.0, 1.0), (1.0, 0.5), (0.5, 0.5), (0.6, 0.5)]:
        schedule.step(value)
        assert opt.lr == lr


@pytest.mark.parametrize("kwargs, error, text", [
    (dict(factor=1.0), ValueError, "factor=1.0"),
    (dict(factor=0.0), ValueError, "factor=0.0"),
    (dict(patience=-1), ValueError, "patience=-1"),
    (dict(patience=1.5), ValueError, "patience=1.5"),
    (dict(cooldown=-2), ValueError, "cooldown=-2"),
    (dict(min_lr=-1e-3), ValueError, "min_lr=-0.001"),
    (dict(threshold="0.1"), TypeError, "threshold='0.1'"),
    (dict(mode="lowest"), ValueError, "mode='lowest'"),
    (dict(threshold_mode="ratio"), ValueError, "threshold_mode='ratio'"),
])
def test_reduce_lr_on_plateau_refuses_bad_arguments(kwargs, error, text):
    with pytest.raises(error, match=text):
        ReduceLROnPlateau(SGD(_one(), lr=0.1), **kwargs)
    with pytest.raises(TypeError, match="optimiser must be a reference.training.optim.SGD"):
        ReduceLROnPlateau(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1))
