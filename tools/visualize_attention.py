"""Draw OPRL's class attention over an image, one row per predicted label.

For each predicted label (score >= threshold, best first; the best label,
marked "below thr", when none is) the row shows the image, the SPA weights
after masking (paper Eq. 6-7, with the model's tau) and the raw saliency
S_c (Eq. 3), both upsampled to the image and overlaid on it. Writes one PNG,
``OUT/<image name>_attention.png``::

    python tools/visualize_attention.py CONFIG CHECKPOINT img.png --out vis/

Works for any backbone whose output is a feature map (it uses
``OPRLHead.forward_outputs``). The maps cover the image the model sees,
i.e. after the test pipeline's resize.
"""
import argparse
import os
import os.path as osp

from oprl_cli.args import add_model_args, inferencer_from_args


def parse_args():
    parser = argparse.ArgumentParser(
        description='Overlay OPRL attention maps on an image')
    add_model_args(parser, thr=True)
    parser.add_argument('image', help='image file')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--max-labels', type=int, default=8, help='most rows drawn')
    parser.add_argument(
        '--display-size',
        type=int,
        default=256,
        help='side in pixels of each panel (small images are enlarged)')
    return parser.parse_args()


def overlay(image_rgb, heat, alpha=0.55):
    """Blend a [0, 1] heat map (jet) onto an RGB uint8 image."""
    import cv2
    import numpy as np
    color = cv2.applyColorMap((heat * 255).astype(np.uint8),
                              cv2.COLORMAP_JET)[..., ::-1]
    return (image_rgb * (1 - alpha) + color * alpha).astype(np.uint8)


def head_outputs(inferencer, image):
    """The head's maps for one image, and its (H, W) after the pipeline."""
    import torch
    from mmengine.dataset import pseudo_collate

    from oprl_mm.apis import head_maps

    model = inferencer.model
    data = model.data_preprocessor(
        pseudo_collate([inferencer.prepare(image)]), False)
    with torch.no_grad():
        outputs = head_maps(model, data['inputs'])
    shape = data['data_samples'][0].metainfo.get('img_shape')
    return outputs, shape


def chosen_labels(inferencer, scores, max_labels):
    """The labels drawn: those >= their threshold, best first, else the best
    one, marked below the threshold."""
    labels = inferencer.labels(scores)[:max_labels].tolist()
    if labels:
        return labels, False
    return [int(scores.argmax())], True


def display_image(path, shape, display_size):
    """The image as the model sees it (RGB, resized by the pipeline),
    scaled to ``display_size``; and that panel's (H, W)."""
    import cv2
    import numpy as np

    img = cv2.imread(path, cv2.IMREAD_COLOR)
    height, width = shape or img.shape[:2]
    img = cv2.resize(img, (width, height))[..., ::-1]
    scale = display_size / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    shown = cv2.resize(
        np.ascontiguousarray(img), size[::-1],
        interpolation=cv2.INTER_NEAREST if scale > 1 else cv2.INTER_AREA)
    return shown, size


def map_title(title, values, tau):
    if title == 'SPA weights':
        return f'SPA weights (tau={tau:g}), max {float(values.max()):.2f}'
    return (f'raw S, range [{float(values.min()):.1f}, '
            f'{float(values.max()):.1f}]')


def draw_rows(inferencer, outputs, labels, below, shown, size):
    """One row per label: the image, the SPA weights, the saliency."""
    import matplotlib.pyplot as plt
    import torch

    from oprl_mm.apis import upsample_maps

    index = torch.tensor(labels)
    maps = {
        'SPA weights': outputs['attention'][0, index],
        'saliency S': outputs['saliency'][0, index],
    }
    scores = outputs['logits'][0].sigmoid()
    tau = inferencer.model.head.spa.filter_ratio
    fig_height = 3.1 * len(labels) + 0.5
    fig, axes = plt.subplots(
        len(labels), 3, figsize=(9, fig_height), squeeze=False)
    for row, label in enumerate(labels):
        tag = ' (below thr)' if below else ''
        axes[row, 0].imshow(shown)
        axes[row, 0].set_title(
            f'{inferencer.classes[label]}: {float(scores[label]):.3f}{tag}',
            fontsize=10)
        for col, (title, values) in enumerate(maps.items(), start=1):
            heat = upsample_maps(values[row][None, None].float(),
                                 size)[0, 0].cpu().numpy()
            heat = (heat - heat.min()) / max(heat.max() - heat.min(), 1e-12)
            axes[row, col].imshow(overlay(shown, heat))
            axes[row, col].set_title(
                map_title(title, values[row], tau), fontsize=9)
    for ax in axes.flat:
        ax.axis('off')
    return fig, fig_height


def main():
    args = parse_args()
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    inferencer = inferencer_from_args(args)
    outputs, shape = head_outputs(inferencer, args.image)
    scores = outputs['logits'][0].sigmoid()
    labels, below = chosen_labels(inferencer, scores, args.max_labels)
    shown, size = display_image(args.image, shape, args.display_size)
    fig, fig_height = draw_rows(inferencer, outputs, labels, below, shown,
                                size)
    predicted = 0 if below else len(inferencer.labels(scores))
    fig.suptitle(
        f'{osp.basename(args.image)}: {predicted} labels >= thr',
        fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig_height))
    os.makedirs(args.out, exist_ok=True)
    out = osp.join(args.out,
                   osp.splitext(osp.basename(args.image))[0] +
                   '_attention.png')
    fig.savefig(out, dpi=100)
    plt.close(fig)
    print(f'attention of {len(labels)} labels written to {out}')


if __name__ == '__main__':
    main()
