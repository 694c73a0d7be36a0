"""Multi-label inference on image files and folders.

Every class whose score reaches its threshold is reported, best first::

    python tools/infer.py CONFIG CHECKPOINT img1.jpg img2.jpg
    python tools/infer.py CONFIG CHECKPOINT images/ --out results.json \
        --thr thresholds.json --batch-size 16

``--thr`` is one number or a per-class thresholds file written by
``tools/analysis_tools/calibrate_thresholds.py``; it sets the head's
threshold (default: the config's ``model.head.thr``). Folders are read in
sorted order (their image files only, not recursively), in ``--num-workers``
background workers while the model runs. An image that fails (empty,
truncated, not an image, over ``--max-pixels``, out of memory while decoding,
an error in the test pipeline) is skipped with a warning and listed under
``failed`` in ``--out``; ``--no-skip-unreadable`` stops at the first one
instead, with exit status 1.

``--out`` is checked (a writable file, not a folder) before the model is
built. If the run stops on an error (``--no-skip-unreadable``, a failing batch,
Ctrl-C),
the results of the images done so far are written to ``--out`` with the
error under ``stopped``, and the exit status is 1.
"""
import argparse
import json
import os
import os.path as osp
import sys

from oprl_cli.args import add_model_args, inferencer_from_args
from oprl_mm.datasets.loading import MAX_PIXELS

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif',
                  '.tiff', '.webp')
# flags that were renamed: each fails naming its replacement
RENAMED_FLAGS = {
    '--strict': '--no-skip-unreadable',
    '--topk': '--shown-labels'
}


def parse_args():
    parser = argparse.ArgumentParser(
        description='Multi-label inference on images and folders')
    add_model_args(parser, thr=True)
    parser.add_argument('images', nargs='+', help='image files or folders')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument(
        '--num-workers',
        type=int,
        default=2,
        help='background workers that decode images (default 2)')
    parser.add_argument(
        '--skip-unreadable',
        action=argparse.BooleanOptionalAction,
        default=True,
        help='skip an unreadable image, listing it under failed (default); '
        '--no-skip-unreadable stops at the first one (exit status 1)')
    parser.add_argument(
        '--max-pixels',
        type=int,
        default=None,
        help='refuse images of more pixels before decoding them, listing '
        'them under failed (default 100000000; 0 for no limit)')
    parser.add_argument(
        '--shown-labels',
        type=int,
        default=5,
        help='labels shown per image in the printed table (all are saved)')
    for old in RENAMED_FLAGS:
        parser.add_argument(old, nargs='?', const='', help=argparse.SUPPRESS)
    args = parser.parse_args()
    for old, new in RENAMED_FLAGS.items():
        if getattr(args, old[2:]) is not None:
            parser.error(f'{old} was renamed; use {new}')
    return args


def collect_images(paths):
    """Files as given; folders expanded to their sorted image files."""
    images = []
    for path in paths:
        if osp.isdir(path):
            names = sorted(
                n for n in os.listdir(path)
                if n.lower().endswith(IMG_EXTENSIONS)
                and osp.isfile(osp.join(path, n)))
            if not names:
                raise FileNotFoundError(f'folder {path!r} holds no image')
            images += [osp.join(path, n) for n in names]
        elif osp.isfile(path):
            images.append(path)
        else:
            raise FileNotFoundError(f'image or folder {path!r} does not exist')
    return images


def run(inferencer, images, args, results):
    """Infer the images under mmpretrain's progress bar, appending each
    batch's results to ``results`` as it finishes."""
    inferencer(
        images,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        skip_unreadable=args.skip_unreadable,
        on_results=results.extend)


def print_table(results, failed, args, console):
    from rich.table import Table

    table = Table(
        title=f'{len(results) + len(failed)} images, thr='
        f'{"model.head.thr" if args.thr is None else args.thr}')
    table.add_column('image', overflow='fold')
    table.add_column('labels (score)')
    for result in results:
        scores = result['pred_scores']
        shown = [f'{name} ({scores[i]:.3f})' for name, i in zip(
            result['pred_classes'], result['pred_labels'])][:args.shown_labels]
        more = len(result['pred_labels']) - len(shown)
        text = ', '.join(shown) + (f', +{more} more' if more > 0 else '')
        table.add_row(result['image'], text or '-')
    for failure in failed:
        table.add_row(failure['image'], f'unreadable: {failure["reason"]}')
    console.print(table)


def write_json(path, inferencer, results, failed, args, stopped=None):
    """The results, written to a temporary file renamed over ``path``."""
    content = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        classes=inferencer.classes,
        thresholds=[round(t, 6) for t in inferencer.thresholds.tolist()],
        results=results,
        failed=failed)
    if stopped is not None:
        content['stopped'] = stopped
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        json.dump(content, f, indent=1)
    os.replace(tmp, path)


def main():
    args = parse_args()
    from rich.console import Console

    from oprl_cli.args import check_output_file
    from oprl_mm.datasets import UnreadableImageError

    check_output_file(args.out, '--out')
    images = collect_images(args.images)
    max_pixels = {None: MAX_PIXELS, 0: None}.get(args.max_pixels,
                                                 args.max_pixels)
    inferencer = inferencer_from_args(args, max_pixels=max_pixels)
    console = Console()
    if not console.is_terminal:  # a log file: wide enough for whole paths
        console = Console(width=160)
    results = []
    try:
        run(inferencer, images, args, results)
    except BaseException as e:
        stopped = f'{type(e).__name__}: {e}'
        if args.out:
            write_json(args.out, inferencer, results, inferencer.failed,
                       args, stopped)
            print(f'stopped after {len(results)} images; their results are '
                  f'in {args.out}', file=sys.stderr)
        if isinstance(e, (UnreadableImageError, FileNotFoundError)):
            sys.exit(f'error: {e} (--no-skip-unreadable)')
        raise
    failed = inferencer.failed
    print_table(results, failed, args, console)
    console.print(f'{len(results)} images read, {len(failed)} unreadable '
                  'and skipped' + (':' if failed else ''))
    for failure in failed:
        console.print(f'  {failure["image"]}: {failure["reason"]}')
    if args.out:
        write_json(args.out, inferencer, results, failed, args)
        console.print(f'results written to {args.out}')


if __name__ == '__main__':
    main()
