"""Multi-label inference on image files and folders.

Every class whose score reaches its threshold is reported, best first::

    python tools/infer.py CONFIG CHECKPOINT img1.jpg img2.jpg
    python tools/infer.py CONFIG CHECKPOINT images/ --out results.json \
        --thr thresholds.json --batch-size 16

``--thr`` is one number or a per-class thresholds file written by
``tools/analysis_tools/calibrate_thresholds.py``. Folders are read in sorted
order (their image files only, not recursively).
"""
import argparse
import json
import os
import os.path as osp

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif',
                  '.tiff', '.webp')


def parse_args():
    parser = argparse.ArgumentParser(
        description='Multi-label inference on images and folders')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('images', nargs='+', help='image files or folders')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument(
        '--thr',
        default='0.5',
        help='score threshold: a number, or a thresholds JSON file '
        '(default 0.5)')
    parser.add_argument('--device', default=None, help='e.g. cpu, cuda:0')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument(
        '--topk',
        type=int,
        default=5,
        help='labels shown per image in the printed table (all are saved)')
    return parser.parse_args()


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


def parse_thr(value):
    try:
        return float(value)
    except ValueError:
        return value


def main():
    args = parse_args()
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from oprl_mm.apis import MultiLabelInferencer

    images = collect_images(args.images)
    inferencer = MultiLabelInferencer(
        args.config, args.checkpoint, device=args.device,
        thr=parse_thr(args.thr))
    console = Console()
    if not console.is_terminal:  # a log file: wide enough for whole paths
        console = Console(width=160)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task('Inference', total=len(images))
        results = inferencer(
            images,
            batch_size=args.batch_size,
            progress=lambda n: progress.advance(task, n))

    table = Table(title=f'{len(images)} images, thr={args.thr}')
    table.add_column('image', overflow='fold')
    table.add_column('labels (score)')
    for path, result in zip(images, results):
        scores = result['pred_scores']
        shown = [f'{name} ({scores[i]:.3f})' for name, i in zip(
            result['pred_classes'], result['pred_labels'])][:args.topk]
        more = len(result['pred_labels']) - len(shown)
        text = ', '.join(shown) + (f', +{more} more' if more > 0 else '')
        table.add_row(path, text or '-')
    console.print(table)

    if args.out:
        folder = osp.dirname(osp.abspath(args.out))
        os.makedirs(folder, exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(
                dict(
                    config=args.config,
                    checkpoint=args.checkpoint,
                    classes=inferencer.classes,
                    thresholds=[
                        round(t, 6) for t in inferencer.thresholds.tolist()
                    ],
                    results=[
                        dict(image=path, **result)
                        for path, result in zip(images, results)
                    ]),
                f,
                indent=1)
        console.print(f'results written to {args.out}')


if __name__ == '__main__':
    main()
