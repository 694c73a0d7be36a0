"""Moved out of the library: the tools' argparse helpers are
``tools/oprl_cli/args.py``."""
raise ImportError(
    'oprl_mm.apis.cli moved to tools/oprl_cli/args.py (module oprl_cli.args, '
    'importable with tools/ on sys.path): command-line plumbing lives with '
    'the tools. A script that only loads a model uses '
    'oprl_mm.apis.load_model or MultiLabelInferencer.')
