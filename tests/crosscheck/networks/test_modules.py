"""crosscheck.networks.compare_module must be able to fail: planted bugs in every kind of layer.

Each reference module here is wrong in one way (a gradient doubled or flipped, a forward off by a
relative 1e-9, a state key missing, the input mutated, a call torch refuses accepted); the twin
comparison must name the quantity that is wrong.
"""
import numpy as np
import pytest
import torch

from crosscheck.networks.compare import compare_module
from reference import nn
from tests.helpers.twins import TORCH_DTYPES, random_input


class _Conv2dWrongBackward(nn.Conv2d):
    def backward(self, grad_output):
        return 2 * super().backward(grad_output)


class _Conv2dWrongWeightGrad(nn.Conv2d):
    def backward(self, grad_output):
        grad_input = super().backward(grad_output)
        self.weight.grad = np.flip(self.weight.grad, axis=-1).copy()  # a kernel flip: the classic bug
        return grad_input


class _Conv2dSlightlyOff(nn.Conv2d):
    def forward(self, x):
        return super().forward(x) * (1 + 1e-9)


class _Conv2dModifiesInput(nn.Conv2d):
    def forward(self, x):
        y = super().forward(x)
        x[(0,) * x.ndim] += 1.0
        return y


def _twins(cls, dtype="float64", torch_kwargs=None, **kwargs):
    ref = cls(3, 4, (3, 2), padding=1, dtype=dtype, rng=0, **kwargs)
    twin = torch.nn.Conv2d(3, 4, (3, 2), padding=1, dtype=TORCH_DTYPES[dtype], **(torch_kwargs or kwargs))
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 6)).astype(dtype)
    return ref, twin, x


@pytest.mark.parametrize(
    "cls, kwargs, torch_kwargs, quantity",
    [
        (nn.Conv2d, dict(padding_mode="reflect"), dict(padding_mode="zeros"), "output"),
        (_Conv2dSlightlyOff, {}, None, "output"),
        (_Conv2dWrongBackward, {}, None, "grad_input"),
        (_Conv2dWrongWeightGrad, {}, None, "grad_weight"),
        (nn.Conv2d, dict(bias=False), dict(bias=True), "state_dict"),
        (_Conv2dModifiesInput, {}, None, "input"),
    ],
    ids=["padding-mode", "relative-1e-9", "grad-input", "flipped-grad-weight", "keys", "modified-input"],
)
def test_compare_module_detects(cls, kwargs, torch_kwargs, quantity):
    ref, twin, x = _twins(cls, torch_kwargs=torch_kwargs, **kwargs)
    result = compare_module(ref, twin, x)
    assert result.status == "failed"
    assert result.failure.quantity == quantity, str(result)


def test_compare_module_detects_an_accepted_call_torch_rejects():
    class Lenient(nn.Conv2d):
        def forward(self, x):
            return super().forward(np.pad(x, [(0, 0)] * (x.ndim - 2) + [(2, 2), (2, 2)]))

    ref, twin, _ = _twins(Lenient, padding_mode="reflect")
    result = compare_module(ref, twin, np.zeros((1, 3, 1, 1)))
    assert result.rejected and result.status == "failed" and result.failure.quantity == "rejection"


class _ReLUPassesEverything(nn.ReLU):
    def backward(self, grad_output):
        self._saved()
        return grad_output.copy()


class _ReLUAliasesTheUpstream(nn.ReLU):
    def backward(self, grad_output):
        (x,) = self._saved()
        return grad_output if (x > 0).all() else super().backward(grad_output)  # right values, shared memory


class _MaxPoolShiftedGradient(nn.MaxPool2d):
    def backward(self, grad_output):
        return np.roll(super().backward(grad_output), 1, axis=-1)


class _AvgPoolIgnoresPadding(nn.AvgPool2d):
    def forward(self, x):
        self.count_include_pad = not self.count_include_pad
        try:
            return super().forward(x)
        finally:
            self.count_include_pad = not self.count_include_pad


class _SigmoidSlopeFromInput(nn.Sigmoid):
    def backward(self, grad_output):
        (x,) = self._saved()
        y = 1 / (1 + np.exp(-x))
        return grad_output * y  # forgets the (1 − y)


class _TanhInHalfPrecision(nn.Tanh):
    def forward(self, x):
        return super().forward(x).astype(np.float16).astype(x.dtype)


class _MSEWithoutTheTwo(nn.MSELoss):
    def backward(self, grad_output=1.0):
        return super().backward(grad_output) / 2


class _CrossEntropyForgetsTheMean(nn.CrossEntropyLoss):
    def backward(self, grad_output=1.0):
        input, _ = self._saved()
        return super().backward(grad_output) * input.shape[0]


class _CrossEntropySlightlyOff(nn.CrossEntropyLoss):
    def forward(self, input, target):
        return super().forward(input, target) * (1 + 1e-9)


class _ConvTransposeFlippedWeightGrad(nn.ConvTranspose2d):
    def backward(self, grad_output):
        grad = super().backward(grad_output)
        self.weight.grad = np.flip(self.weight.grad, axis=-1).copy()
        return grad


class _ConvTransposeIgnoresOutputPadding(nn.ConvTranspose2d):
    def forward(self, x, output_size=None):
        saved, self.output_padding = self.output_padding, (0, 0)
        try:
            return super().forward(x, output_size)
        finally:
            self.output_padding = saved


class _FlattenTransposed(nn.Flatten):
    def backward(self, grad_output):
        shape, _ = self._saved()
        return grad_output.reshape(shape[:1] + shape[:0:-1]).transpose(0, *range(len(shape) - 1, 0, -1)).copy()


class _LinearSlightlyOff(nn.Linear):
    def forward(self, x):
        return super().forward(x) * (1 + 1e-9)


X4 = random_input((2, 3, 6, 7), "float64")
LOGITS = random_input((4, 5), "float64", scale=2.0)
MUTANTS = [
    ("relu", _ReLUPassesEverything(), torch.nn.ReLU(), X4, None, "grad_input"),
    ("relu-aliases-upstream", _ReLUAliasesTheUpstream(), torch.nn.ReLU(), np.abs(X4) + 0.5, None, "grad_input"),
    ("maxpool", _MaxPoolShiftedGradient(2), torch.nn.MaxPool2d(2), X4, None, "grad_input"),
    ("avgpool", _AvgPoolIgnoresPadding(3, padding=1), torch.nn.AvgPool2d(3, padding=1), X4, None, "output"),
    ("sigmoid", _SigmoidSlopeFromInput(), torch.nn.Sigmoid(), X4, None, "grad_input"),
    ("tanh-float16", _TanhInHalfPrecision(), torch.nn.Tanh(), X4, None, "output"),
    ("mse", _MSEWithoutTheTwo(), torch.nn.MSELoss(), LOGITS, random_input((4, 5), "float64", 1), "grad_input"),
    ("cross-entropy-mean", _CrossEntropyForgetsTheMean(), torch.nn.CrossEntropyLoss(), LOGITS, np.array([0, 1, 4, 2]),
     "grad_input"),
    ("cross-entropy-1e-9", _CrossEntropySlightlyOff(), torch.nn.CrossEntropyLoss(), LOGITS, np.array([0, 1, 4, 2]), "loss"),
    ("conv-transpose-grad", _ConvTransposeFlippedWeightGrad(3, 2, (2, 3), rng=0, dtype="float64"),
     torch.nn.ConvTranspose2d(3, 2, (2, 3), dtype=torch.float64), X4, None, "grad_weight"),
    ("conv-transpose-output-padding", _ConvTransposeIgnoresOutputPadding(3, 2, 2, stride=2, output_padding=1, rng=0, dtype="float64"),
     torch.nn.ConvTranspose2d(3, 2, 2, stride=2, output_padding=1, dtype=torch.float64), X4, None, "output"),
    ("flatten", _FlattenTransposed(), torch.nn.Flatten(), X4, None, "grad_input"),
    ("linear-1e-9", _LinearSlightlyOff(7, 3, rng=0, dtype="float64"), torch.nn.Linear(7, 3, dtype=torch.float64), X4, None,
     "output"),
]


@pytest.mark.parametrize("ref, twin, x, target, quantity", [m[1:] for m in MUTANTS], ids=[m[0] for m in MUTANTS])
def test_compare_module_detects_bugs_in_the_new_layers(ref, twin, x, target, quantity):
    result = compare_module(ref, twin, x, target=target)
    assert result.status == "failed" and result.failure.quantity == quantity, str(result)
