"""The command-line plumbing that oprl-mm's tools share.

Not part of the installed library: a tool imports it from ``tools/``, which
``python tools/<name>.py`` puts on ``sys.path`` (a tool in a subfolder puts
``tools/`` there itself, in one line).

- :mod:`oprl_cli.args`: the model arguments, the ``--thr`` parser, the
  checks of output paths and the loaders that take an ``args`` namespace;
- :mod:`oprl_cli.launch`: the config loader (``--cfg-options``,
  ``--work-dir``) and the process-group start and end of a distributed run;
- :mod:`oprl_cli.dataset_check`: the checker and report behind
  ``tools/misc/verify_dataset.py``.
"""
