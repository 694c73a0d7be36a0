"""Moved out of the library: the dataset checker and its report are
``tools/oprl_cli/dataset_check.py``."""
raise ImportError(
    'oprl_mm.datasets.verify moved to tools/oprl_cli/dataset_check.py '
    '(module oprl_cli.dataset_check, importable with tools/ on sys.path); '
    'its command line is tools/misc/verify_dataset.py.')
