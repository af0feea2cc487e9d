"""Tests of reference.training: the digits and MNIST loaders, SGD, the training loop and its program."""
