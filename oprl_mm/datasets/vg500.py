"""VG500: Visual Genome restricted to its 500 most frequent categories."""
import os.path as osp
from typing import List, Optional, Sequence, Union

from mmpretrain.datasets import MultiLabelDataset
from mmpretrain.registry import DATASETS

from ..renamed import renamed_arguments
from .utils import (check_dir, check_file, check_label_range,
                    check_unique_names, class_names_from_arg,
                    filter_empty_gt, read_json, read_text_lines)

NUM_VG500_CLASSES = 500
_NAME_FILES = ('vg_category_500.json', 'vg_category_500.txt')


@DATASETS.register_module()
class VG500(MultiLabelDataset):
    """Visual Genome with the 500 most frequent object categories (VG500).

    The split of SSGRL, also used by Query2Label and the OPRL paper. Files
    under ``data_root``::

        VG_100K/*.jpg
        train_list_500.txt               one image file name a line
        test_list_500.txt
        vg_category_500_labels_index.json  {file name: [class indices 0-499]}

    Class names: the ``classes`` argument (a list or a file with one name a
    line) if given; else ``vg_category_500.json`` (a list of names, or a
    ``{name: index}`` mapping) or ``vg_category_500.txt`` under
    ``data_root`` if present; else ``class_0`` ... ``class_499``. The names
    only label reports: the indices in the label file are what is trained.

    Checks (each failure names the file and the image): the files are UTF-8
    (a byte-order mark is accepted) and the JSON files valid JSON; the
    label file is one object that names no image twice; every label entry
    is a list of integers (a string such as ``"317"``, a float or a boolean
    is refused, never read digit by digit or rounded) in ``[0, 500)``; every
    listed image has an entry and is listed once; class names are unique.

    Args:
        data_root (str): The VG500 root folder.
        split (str): ``'train'`` or ``'test'``.
        classes (str | Sequence[str], optional): Class names, see above.
            Defaults to None.
        filter_cfg (dict, optional): ``dict(filter_empty_gt=False)`` keeps
            listed images that have no label. Defaults to None: they are
            dropped (``filter_empty_gt=True``).
        data_prefix (str | dict): Image folder relative to ``data_root``.
            Defaults to ``'VG_100K'``.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`.
    """

    @renamed_arguments(
        filter_empty='filter_cfg=dict(filter_empty_gt=...)')
    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 classes: Union[str, Sequence[str], None] = None,
                 filter_cfg: Optional[dict] = None,
                 data_prefix: Union[str, dict] = 'VG_100K',
                 metainfo: Optional[dict] = None,
                 **kwargs):
        if split not in ('train', 'test'):
            raise ValueError(
                f"split must be 'train' or 'test', got {split!r}")
        self.split = split
        self.filter_empty_gt = filter_empty_gt(filter_cfg, 'VG500')
        names = class_names_from_arg(classes)
        if names is None and not (metainfo or {}).get('classes'):
            names = self._names_from_root(data_root)
        if names is not None and len(names) != NUM_VG500_CLASSES:
            raise ValueError(
                f'VG500 needs {NUM_VG500_CLASSES} class names, got '
                f'{len(names)}')
        super().__init__(
            ann_file='',
            data_root=data_root,
            data_prefix=data_prefix,
            metainfo=metainfo,
            classes=names,
            filter_cfg=filter_cfg,
            **kwargs)

    @staticmethod
    def _names_from_root(data_root: str) -> List[str]:
        for name in _NAME_FILES:
            path = osp.join(data_root, name)
            if not osp.isfile(path):
                continue
            if name.endswith('.txt'):
                return class_names_from_arg(path)
            obj = read_json(path, 'VG500 class name file')
            if isinstance(obj, dict):  # {name: index}
                names = [
                    k for k, _ in sorted(obj.items(), key=lambda x: x[1])
                ]
            elif isinstance(obj, list):
                names = [str(n) for n in obj]
            else:
                raise ValueError(
                    f'{osp.abspath(path)} should hold a list of class names '
                    f'or a {{name: index}} object, got a '
                    f'{type(obj).__name__}')
            check_unique_names(names, osp.abspath(path))
            return names
        return [f'class_{i}' for i in range(NUM_VG500_CLASSES)]

    def load_data_list(self) -> List[dict]:
        """Read the split's image list and the label index file."""
        list_file = osp.join(self.data_root, f'{self.split}_list_500.txt')
        label_file = osp.join(self.data_root,
                              'vg_category_500_labels_index.json')
        check_file(list_file, 'VG500 image list')
        check_file(label_file, 'VG500 label file')
        check_dir(self.img_prefix, 'VG500 image folder')
        labels = read_json(label_file, 'VG500 label file')
        if not isinstance(labels, dict):
            raise ValueError(f'{osp.abspath(label_file)} should map file '
                             'names to lists of class indices, got a '
                             f'{type(labels).__name__}')
        num_classes = len(self.CLASSES)
        data_list = []
        names = read_text_lines(list_file, 'VG500 image list')
        listed = set()
        for line_no, name in enumerate(names, 1):
            if name in listed:
                raise ValueError(
                    f'image {name!r} is listed twice in '
                    f'{osp.abspath(list_file)} (non-blank line {line_no})')
            listed.add(name)
            if name not in labels:
                raise ValueError(
                    f'image {name!r} of {osp.abspath(list_file)} has no '
                    f'entry in {osp.abspath(label_file)}')
            gt = _label_indices(labels[name], name, label_file)
            check_label_range(gt, num_classes, label_file, name)
            if self.filter_empty_gt and not gt:
                continue
            data_list.append(
                dict(img_path=osp.join(self.img_prefix, name), gt_label=gt))
        return data_list

    def extra_repr(self) -> List[str]:
        return [
            f'Root: \t{self.data_root}', f'Split: \t{self.split}',
            f'Prefix of images: \t{self.img_prefix}'
        ]


def _label_indices(value, image: str, label_file: str) -> List[int]:
    """The sorted, unique class indices of one label entry, which must be a
    list of JSON integers: ``int()`` would read ``"317"`` as 3, 1, 7, round
    3.7 to 3 and take ``true`` for 1."""
    if not isinstance(value, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in value):
        raise ValueError(
            f'labels of image {image!r} in {osp.abspath(label_file)} must '
            f'be a list of integer class indices such as [3, 17], got '
            f'{value!r}')
    return sorted(set(value))
