"""Layer 3, the front ends that gate any implementation: the CLI (:mod:`.cli`,
``python -m crosscheck``), its report (:mod:`.report`: one failure template, the summary and the
JSON), the pytest plugin (:mod:`.plugin`, the ``pytest11`` entry point behind
``pytest --pyargs crosscheck.suite``), the known deviations a project may declare
(:mod:`.deviations`) and the loading of the module under test (:mod:`.impl`)."""
