"""An implementation that brings its process down: ``conv1d`` aborts on a strided, dilated call
(``stride=2, dilation=2``, as XLA aborted on dilated, strided conv2d calls) and ``sigmoid``
never returns. Everything else is :mod:`reference.functional`. The subject of the crash
isolation's tests: every other case must still be reported."""
import os
import time

from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    if stride == 2 and dilation == 2:
        os.abort()
    return _ref.conv1d(input, weight, bias, stride, padding, dilation, groups)


def sigmoid(input):
    time.sleep(3600)
