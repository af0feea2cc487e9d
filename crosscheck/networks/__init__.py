"""Apart from the gate, the checks that exist for *this* reference: a ``reference.nn`` module or
network against its ``torch.nn`` twin (:mod:`.twin`, :mod:`.compare`), under the layer-by-layer
bound of :mod:`.bounds`, and the training run against torch step by step (:mod:`.trajectory`,
:mod:`.sgd_bound`, :mod:`.train`, run as ``python -m crosscheck.train``). The only part of the
package that imports ``reference``."""
