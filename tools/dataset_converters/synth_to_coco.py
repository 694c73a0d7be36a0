"""Write the SynthMultiLabel (or SynthEntangled) splits as PNG images plus
COCO annotations.

Example::

    python tools/dataset_converters/synth_to_coco.py --out-dir data/synth
    python tools/dataset_converters/synth_to_coco.py --dataset SynthEntangled \
        --splits val --out-dir data/synth_entangled

gives ``data/synth/<split>/<idx>.png`` and
``data/synth/annotations/instances_<split>.json``, readable by
``CocoMultiLabel(data_root='data/synth',
ann_file='annotations/instances_val.json', data_prefix='val')``.
"""
import argparse

from oprl_mm.datasets.synth import SPLITS, SynthMultiLabel, write_coco
from oprl_mm.datasets.synth_entangled import SynthEntangled

DATASETS = dict(SynthMultiLabel=SynthMultiLabel, SynthEntangled=SynthEntangled)


def parse_args():
    parser = argparse.ArgumentParser(
        description='Export SynthMultiLabel splits in COCO format')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument(
        '--dataset', default='SynthMultiLabel', choices=sorted(DATASETS),
        help='which embedded set (default SynthMultiLabel)')
    parser.add_argument(
        '--splits', nargs='+', default=list(SPLITS), choices=SPLITS,
        help='splits to write')
    parser.add_argument('--seed', type=int, default=0, help='benchmark seed')
    parser.add_argument(
        '--img-size', type=int, default=64, help='image side in pixels')
    parser.add_argument(
        '--num-classes', type=int, default=10, help='number of classes')
    parser.add_argument(
        '--num-images', type=int, default=None,
        help='images per split (default: the split default)')
    return parser.parse_args()


def main():
    args = parse_args()
    for split in args.splits:
        dataset = DATASETS[args.dataset](
            split=split,
            num_images=args.num_images,
            img_size=args.img_size,
            num_classes=args.num_classes,
            seed=args.seed)
        ann_file = write_coco(dataset, args.out_dir)
        print(f'{split}: {len(dataset)} images, annotations in {ann_file}')


if __name__ == '__main__':
    main()
