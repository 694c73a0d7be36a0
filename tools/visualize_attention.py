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


def parse_args():
    parser = argparse.ArgumentParser(
        description='Overlay OPRL attention maps on an image')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('image', help='image file')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--thr',
        default='0.5',
        help='score threshold: a number or a thresholds JSON file')
    parser.add_argument(
        '--max-labels', type=int, default=8, help='most rows drawn')
    parser.add_argument(
        '--display-size',
        type=int,
        default=256,
        help='side in pixels of each panel (small images are enlarged)')
    parser.add_argument('--device', default=None)
    return parser.parse_args()


def overlay(image_rgb, heat, alpha=0.55):
    """Blend a [0, 1] heat map (jet) onto an RGB uint8 image."""
    import cv2
    import numpy as np
    colour = cv2.applyColorMap((heat * 255).astype(np.uint8),
                               cv2.COLORMAP_JET)[..., ::-1]
    return (image_rgb * (1 - alpha) + colour * alpha).astype(np.uint8)


def main():
    args = parse_args()
    import cv2
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    from mmengine.dataset import pseudo_collate

    from oprl_mm.apis import MultiLabelInferencer, head_maps, upsample_maps

    try:
        thr = float(args.thr)
    except ValueError:
        thr = args.thr
    inferencer = MultiLabelInferencer(
        args.config, args.checkpoint, device=args.device, thr=thr)
    model = inferencer.model
    data = model.data_preprocessor(
        pseudo_collate([inferencer.prepare(args.image)]), False)
    with torch.no_grad():
        outputs = head_maps(model, data['inputs'])
    scores = outputs['logits'].sigmoid()
    result = inferencer.postprocess(scores.float().cpu())[0]
    labels = result['pred_labels'][:args.max_labels]
    below = not labels
    if below:
        labels = [int(scores[0].argmax())]

    image = data['data_samples'][0].metainfo
    img = cv2.imread(args.image, cv2.IMREAD_COLOR)
    height, width = image.get('img_shape', img.shape[:2])
    img = cv2.resize(img, (width, height))[..., ::-1]
    scale = args.display_size / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    shown = cv2.resize(
        np.ascontiguousarray(img), size[::-1],
        interpolation=cv2.INTER_NEAREST if scale > 1 else cv2.INTER_AREA)

    index = torch.tensor(labels)
    maps = {
        'SPA weights': outputs['attention'][0, index],
        'saliency S': outputs['saliency'][0, index],
    }
    tau = model.head.spa.filter_ratio
    rows = len(labels)
    fig_height = 3.1 * rows + 0.5
    fig, axes = plt.subplots(
        rows, 3, figsize=(9, fig_height), squeeze=False)
    for row, label in enumerate(labels):
        name = inferencer.classes[label]
        score = result['pred_scores'][label]
        tag = ' (below thr)' if below else ''
        axes[row, 0].imshow(shown)
        axes[row, 0].set_title(f'{name}: {score:.3f}{tag}', fontsize=10)
        for col, (title, values) in enumerate(maps.items(), start=1):
            heat = upsample_maps(values[row][None, None].float(),
                                 size)[0, 0].cpu().numpy()
            heat = (heat - heat.min()) / max(heat.max() - heat.min(), 1e-12)
            axes[row, col].imshow(overlay(shown, heat))
            if title == 'SPA weights':
                title = f'SPA weights (tau={tau:g}), max ' \
                        f'{float(values[row].max()):.2f}'
            else:
                title = f'raw S, range [{float(values[row].min()):.1f}, ' \
                        f'{float(values[row].max()):.1f}]'
            axes[row, col].set_title(title, fontsize=9)
    for ax in axes.flat:
        ax.axis('off')
    fig.suptitle(
        f'{osp.basename(args.image)}: {len(result["pred_labels"])} labels '
        f'>= thr', fontsize=11)
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
