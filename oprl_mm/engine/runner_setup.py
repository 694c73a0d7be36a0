"""Moved out of the library: config loading and the process-group start of
the tools are ``tools/oprl_cli/launch.py``."""
raise ImportError(
    'oprl_mm.engine.runner_setup moved to tools/oprl_cli/launch.py (module '
    'oprl_cli.launch, importable with tools/ on sys.path): config loading '
    'for the tools and the process-group start live with the tools.')
