"""Tests of reference/checks.py: the refusals every op shares, each naming op, argument and value.
"""
import numpy as np
import pytest

import reference.functional as F
from crosscheck.specs import OPS
from reference import checks
from reference.nn import Conv2d
from tests.helpers.calls import LAYERS, valid_call, refusal



def _float_arguments():
    for op in LAYERS:
        for position, name in enumerate(OPS[op].arrays):
            if not (op == "cross_entropy" and name == "target"):
                yield op, position, name


@pytest.mark.parametrize("op, position, name", list(_float_arguments()))
def test_an_argument_that_is_not_an_array_is_named_with_its_value(op, position, name):
    """Guards the refusal of a non-array for every array argument of every op: op, argument and value named, forward and backward.

    Kills the mutants that drop or change the op's name, the argument's name or the value in
    ``checks.float_array(op, "NAME", NAME)`` (``None``, ``"XXweightXX"``, ``"WEIGHT"``,
    ``_describe(None)``) across conv, dense, losses, padding and pooling, and in their
    backwards' checks of the same arguments."""
    arrays, kwargs = valid_call(op)
    arrays[position] = arrays[position].tolist()
    expected = f"{op}: {name} must be a numpy.ndarray, got {name}={arrays[position]!r}"
    assert refusal(getattr(F, op), *arrays, **kwargs) == expected
    grad = np.ones(1)
    assert refusal(getattr(F, op + "_backward"), grad, *arrays, **kwargs).startswith(f"{op}_backward: ")


@pytest.mark.parametrize("op, position, name", list(_float_arguments()))
def test_an_argument_of_an_integer_dtype_is_named_with_its_dtype(op, position, name):
    """Guards the refusal of an integer dtype for every float argument of every op, naming `NAME.dtype`.

    The same mutants through the dtype check, which names ``NAME.dtype``."""
    arrays, kwargs = valid_call(op)
    arrays[position] = np.arange(arrays[position].size).reshape(arrays[position].shape)
    message = refusal(getattr(F, op), *arrays, **kwargs)
    assert message == f"{op}: {name} must have dtype float32 or float64, got {name}.dtype=int64"


@pytest.mark.parametrize("op", list(LAYERS))
def test_mixed_dtypes_are_listed_argument_by_argument(op):
    """Guards the mixed-dtype refusal, which lists every argument's dtype, forward and backward.

    Kills the mutants of ``checks.same_dtype`` and of its callers: ``op`` → ``None``, an
    argument left out (``same_dtype(op, input=input)``, ``grad_output=None``, ``input=None``) and
    the listing's separator (``", "`` → ``"XX, XX"``). The backward gets a float32 upstream
    gradient for float64 arguments; the forward, where it has a second float argument, a
    float32 one."""
    arrays, kwargs = valid_call(op)
    output = getattr(F, op)(*arrays, **kwargs)
    output = output[0] if isinstance(output, tuple) else output
    message = refusal(getattr(F, op + "_backward"), np.ones(output.shape, np.float32), *arrays, **kwargs)
    assert message.startswith(f"{op}_backward: arrays must share one dtype, got "), message
    listing = message.split(", got ", 1)[1].split(", ")
    assert "grad_output.dtype=float32" in listing and "input.dtype=float64" in listing, message
    floats = [i for i, name in enumerate(OPS[op].arrays) if i and not (op == "cross_entropy" and name == "target")]
    for position in floats:
        mixed = list(arrays)
        mixed[position] = mixed[position].astype(np.float32)
        name = OPS[op].arrays[position]
        message = refusal(getattr(F, op), *mixed, **kwargs)
        assert message.startswith(f"{op}: arrays must share one dtype, got "), message
        assert f"{name}.dtype=float32" in message.split(", got ", 1)[1].split(", "), message


_OUT_OF_RANGE = [  # op family, argument, value, the words of the refusal
    ("conv{}d", "stride", 0, "stride must be positive, got stride=0"),
    ("conv{}d", "padding", -1, "padding must be non-negative, got padding=-1"),
    ("conv{}d", "dilation", 0, "dilation must be positive, got dilation=0"),
    ("conv{}d", "groups", 1.0, "groups must be an int, got groups=1.0"),
    ("conv_transpose{}d", "stride", 0, "stride must be positive, got stride=0"),
    ("conv_transpose{}d", "padding", -1, "padding must be non-negative, got padding=-1"),
    ("conv_transpose{}d", "output_padding", -1, "output_padding must be non-negative, got output_padding=-1"),
    ("conv_transpose{}d", "dilation", 0, "dilation must be positive, got dilation=0"),
    ("max_pool{}d", "kernel_size", 0, "kernel_size must be positive, got kernel_size=0"),
    ("max_pool{}d", "stride", 0, "stride must be positive, got stride=0"),
    ("max_pool{}d", "padding", -1, "padding must be non-negative, got padding=-1"),
    ("max_pool{}d", "dilation", 0, "dilation must be positive, got dilation=0"),
    ("max_pool{}d", "ceil_mode", 1, "ceil_mode must be a bool, got ceil_mode=1"),
    ("avg_pool{}d", "kernel_size", 0, "kernel_size must be positive, got kernel_size=0"),
    ("avg_pool{}d", "stride", 0, "stride must be positive, got stride=0"),
    ("avg_pool{}d", "padding", -1, "padding must be non-negative, got padding=-1"),
    ("avg_pool{}d", "ceil_mode", 1, "ceil_mode must be a bool, got ceil_mode=1"),
    ("avg_pool{}d", "count_include_pad", 1, "count_include_pad must be a bool, got count_include_pad=1"),
]


@pytest.mark.parametrize("family, name, value, words", _OUT_OF_RANGE, ids=lambda v: str(v))
@pytest.mark.parametrize("dims", (1, 2, 3))
def test_an_integer_argument_out_of_range_is_named_with_its_bound(family, name, value, words, dims):
    """Guards the bound words ('positive', 'non-negative', 'an int', 'a bool') and argument names of the integer-argument refusals of conv, conv_transpose and pooling.

    Kills the mutants of ``checks.int_tuple``'s bound word (``"positive"`` / ``"non-negative"``,
    ``minimum == 1`` → ``!= 1`` or ``== 2``, the word replaced or ``None``) and of the argument
    names passed to it and to ``_flag``/``int_arg`` in conv, conv_transpose and pooling
    (``"XXstrideXX"``, ``"DILATION"``, ``None``, the op ``None``)."""
    op = family.format(dims)
    arrays, kwargs = valid_call(op)
    kwargs[name] = value
    assert refusal(getattr(F, op), *arrays, **kwargs) == f"{op}: {words}"
    assert refusal(getattr(F, op + "_backward"), np.ones(1), *arrays, **kwargs) == f"{op}_backward: {words}"


@pytest.mark.parametrize("op", ["conv1d", "conv2d", "conv3d", "max_pool2d", "avg_pool3d", "conv_transpose2d"])
def test_an_input_of_the_wrong_rank_is_told_the_ranks_it_may_have(op):
    """Guards the rank refusal's 'N or M dimensions' listing for conv and pooling inputs.

    Kills ``checks.rank``'s ``" or ".join(...)`` mutants (``None``, ``"XX or XX"``, ``" OR "``,
    ``str(None)``) and ``"input"`` → ``"XXinputXX"`` in the rank checks of conv and pooling."""
    arrays, kwargs = valid_call(op)
    dims = int(op[-2])
    arrays[0] = arrays[0][(0,) * 2]  # two axes fewer: (*spatial)
    message = refusal(getattr(F, op), *arrays, **kwargs)
    assert message == (f"{op}: input must have {dims + 1} or {dims + 2} dimensions, "
                       f"got input.shape={arrays[0].shape}")


@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d", "max_pool2d", "pad"])
def test_a_backward_names_a_grad_output_that_is_not_an_array(op):
    """Guards the backwards' refusal of a non-array `grad_output` (conv, conv_transpose, pooling, pad), naming `OP_backward`, the argument and the value.

    Kills ``float_array(op, "grad_output", grad_output)`` → op ``None``, name ``None``,
    ``"XXgrad_outputXX"``, ``"GRAD_OUTPUT"`` and ``op = geo.op`` → ``None`` in the grad_output
    checks of conv, conv_transpose, pooling and padding, and the backward's op name
    (``"pad_backward"`` → ``None``, ``"XXpad_backwardXX"``, ``"PAD_BACKWARD"``)."""
    arrays, kwargs = valid_call(op)
    message = refusal(getattr(F, op + "_backward"), [1.0], *arrays, **kwargs)
    assert message == f"{op}_backward: grad_output must be a numpy.ndarray, got grad_output=[1.0]"


@pytest.mark.parametrize("op", ["conv_transpose2d", "pad"])
def test_a_backward_gives_the_shape_it_wanted(op):
    """Guards the `grad_output` shape message of the conv_transpose and pad backwards, which names the output shape.

    Kills ``raise ValueError(f"...grad_output must have the output's shape...")`` →
    ``ValueError(None)`` (conv_transpose) and the op name of pad_backward's shape check."""
    arrays, kwargs = valid_call(op)
    output = getattr(F, op)(*arrays, **kwargs)
    message = refusal(getattr(F, op + "_backward"), np.ones((1, 1)), *arrays, **kwargs)
    assert message == f"{op}_backward: grad_output must have the output's shape {output.shape}, got grad_output.shape=(1, 1)"


@pytest.mark.parametrize("given, resolved", [(None, np.float32), ("float32", np.float32), (np.float64, np.float64),
                                             (np.dtype("float64"), np.float64)])
def test_a_dtype_argument_resolves_as_torch_does(given, resolved):
    """Guards ``checks.float_dtype``, the ``dtype=`` of the reference.nn modules and the data
    loaders: None is torch's default float32, and the two float dtypes are taken as given.

    Kills ``checks.x_float_dtype__mutmut_3`` (None resolved as NumPy's float64)."""
    assert checks.float_dtype("Conv2d", given) == np.dtype(resolved)
    assert Conv2d(1, 1, 1, dtype=given).weight.data.dtype == np.dtype(resolved)


@pytest.mark.parametrize("given", ["int8", np.float16, "not a dtype", object(), bool])
def test_a_dtype_argument_that_is_not_a_float_dtype_is_named_with_its_value(given):
    """Guards the refusal of any other ``dtype=``, including what NumPy cannot read as a dtype.

    Kills ``checks.x_float_dtype__mutmut_6, 7`` (an unreadable dtype resolved as None or as
    float64, which pass) and ``_9`` (the message dropped)."""
    with pytest.raises(TypeError) as info:
        checks.float_dtype("Conv2d", given)
    assert str(info.value) == f"Conv2d: dtype must be float32 or float64, got dtype={given!r}"
