"""conv-crosscheck's NumPy reference: convolutional networks, forward and backward.

``reference.functional`` mirrors ``torch.nn.functional``; ``reference.nn`` mirrors
``torch.nn``; ``reference.definitional`` is the loop-by-loop tier the fast code is held
against; ``reference.unroll`` writes a convolution as its tied, sparse matrix. For training,
``reference.training``: ``data`` (the digits, MNIST's IDX files), ``optim`` (SGD, torch's rule),
``lenet`` (the network), ``fit`` (the loop with early stopping) and ``train``, the program
``python -m reference.train`` runs. NumPy only: this package never imports torch.
"""
__version__ = "0.1.0"
