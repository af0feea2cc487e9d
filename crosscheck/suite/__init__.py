"""The conformance suite, shipped inside the package so another repository can run it:
``pytest --pyargs crosscheck.suite --impl mypkg.ops``."""
