"""OPRL head: Map, SAS, Ctransform, SPA, SAPM, BRRM and the classifier."""
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmpretrain.models.heads import MultiLabelClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import Tensor

from ...renamed import renamed_arguments
from ..layers import (BidirectionalRefinement, GroupWiseLinear,
                      SemanticAssociationGCN, SpatialPurifiedAttention)
from .class_maps import ClassMapsMixin


@MODELS.register_module()
class OPRLHead(ClassMapsMixin, MultiLabelClsHead):
    """Object-Purified Representation Learning head (paper Sec. 4, Eq. 3-16).

    From the (neck-refined) feature map F_bar, B x D x H x W::

        S      = Map(F_bar)                      1x1 conv D -> C       (3)
        p_aux  = mean(top-K(sigmoid(S)))         over H*W              (4)
        F_hat  = Ctransform(F_bar)               1x1 conv D -> D       (5)
        X      = SPA(S, F_hat)                   B x C x D          (6-7)
        X_hat  = X + G(X)                        SAPM GCN        (8-10)
        X_bar  = BRRM(X_hat)                                     (11-13)
        logits = GroupWiseLinear(X_bar)          p_cls = sigmoid      (14)
        loss   = ASL(p_cls, y) + lambda * ASL(p_aux, y)          (14-16)

    ``loss()`` returns ``loss_cls`` and ``loss_aux`` separately; ``predict()``
    scores by p_cls only. Every module can be switched off, so the paper's
    ablations (Tables 5 and 6) are config changes:

    - ``use_spa=False``: plain softmax-weighted pooling (tau = 0).
    - ``use_aux_loss=False``: no SAS supervision (no ``loss_aux``).
    - ``use_sapm=False``: SAPM is the identity.
    - ``use_average_message=False``: SAPM uses A in every layer (no AMP).
    - ``use_brrm=False``: BRRM is the identity.
    - the neck (Encoder_t, Eq. 2) is dropped with ``neck=None`` in the model.

    Large vocabularies (docs/large_vocabulary.md): at the defaults the head
    is the paper's, whose cost grows as C^2 (SAPM's C x C messages, BRRM's
    C -> C -> C category MLPs). Three options, all off by default, make it
    linear in C:

    - ``embed_dims=d``: Ctransform maps D -> d (Eq. 5), so SPA pools a d-dim
      F_hat and SAPM, BRRM and the classifier work at width d.
    - ``cooccurrences_per_class=k``: SAPM keeps each class's k strongest
      co-occurrences and computes AMP's K X as a mean (C k d, C d).
    - ``brrm_c_hidden_dims=h``: BRRM's category MLPs are C -> h -> C.

    The co-occurrence matrix A is a buffer: it comes from ``cooccurrence_file``
    (a C x C ``.npy``) when given, otherwise from the training labels through
    :class:`~oprl_mm.engine.CooccurrenceHook` before the first iteration.

    Initialisation (``init_cfg=None``), each layer as its nearest
    counterpart in the code lineage, where one exists:

    - Map and Ctransform (1x1 convolutions): torch's default, uniform in
      +-1/sqrt(D) for weights and biases, as Query2Label's ``input_proj``
      (the 1x1 convolution it applies to the backbone map).
    - SAPM's W_i: torch's default for a linear map (uniform in +-1/sqrt(D));
      the lineage has no GCN, so this is this project's choice.
    - BRRM's MLPs: torch's default, as SADCL's projection MLP
      (``models/ffn.py`` ``MLP``, whose ``init_weights`` call is commented
      out).
    - the classifier: uniform in +-1/sqrt(D), weights and biases, as
      Query2Label's ``GroupWiseLinear``.

    Args:
        num_classes (int): C.
        in_channels (int): D, channels of the last feature map.
        filter_ratio (float): tau of SPA (Eq. 6). Defaults to 0.5.
        aux_num_positions (int): K of SAS (Eq. 4), the number of positions
            whose saliency values, the largest, are averaged into p_aux.
            Defaults to 3. (``topk`` keeps mmpretrain's meaning, the
            prediction top-k of ``MultiLabelClsHead``, unused: OPRL predicts
            with ``thr``.)
        num_gcn_layers (int): L of SAPM (Eq. 10). Defaults to 3.
        aux_loss_weight (float): lambda of Eq. 16. Defaults to 1.0.
        use_spa (bool): SPA (Eq. 6). Defaults to True.
        use_aux_loss (bool): SAS supervision (Eq. 4, 15). Defaults to True.
        use_sapm (bool): SAPM (Eq. 8-10). Defaults to True.
        use_average_message (bool): AMP in SAPM (Eq. 9-10). Defaults to True.
        use_brrm (bool): BRRM (Eq. 11-13). Defaults to True.
        brrm_r_hidden_ratio (float): hidden width of the r-dim (the
            representation axis) MLPs / d. Defaults to 0.25.
        brrm_c_hidden_ratio (float): hidden width of the c-dim (the category
            axis) MLPs / C. Defaults to 1.0.
        cooccurrence_file (str, optional): ``.npy`` file holding A.
        embed_dims (int, optional): d, the width of F_hat (Ctransform's
            output, Eq. 5) and so of X in SPA, SAPM, BRRM and the
            classifier (the layers' ``embed_dims``). Defaults to None:
            d = D (the paper).
        cooccurrences_per_class (int, optional): k, co-occurrences (A's
            strongest off-diagonal entries) kept per class in SAPM's A
            message, with AMP in its mean form (see
            :class:`~oprl_mm.models.layers.SemanticAssociationGCN`).
            Defaults to None: dense C x C messages (the paper).
        brrm_c_hidden_dims (int, optional): fixed hidden width h of BRRM's
            c-dim MLPs, overriding ``brrm_c_hidden_ratio``. Defaults to
            None (h = ``brrm_c_hidden_ratio`` x C).
        loss (dict): loss of p_cls, on logits. Defaults to
            ``LogitAsymmetricLoss`` with gamma_neg 4, gamma_pos 0, clip 0,
            eps 1e-5 and the focal weight detached: the authors' own
            Query2Label run on COCO (SADCL's
            ``checkpoint/Q2L/ResNet_448_MSCOCO14/config.json``); the paper
            gives none.
        aux_loss (dict): loss of p_aux, on probabilities. Defaults to
            ``ProbAsymmetricLoss`` with the same parameters.
        thr (float): score threshold of ``pred_label``, the project's one
            threshold: ``MLCMetric`` counts ``pred_label`` and
            ``MultiLabelInferencer`` reports and sets it. Defaults to 0.5.
        keep_class_maps (bool): ``predict()`` also stores each image's S
            (``class_saliency``) and SPA weights (``class_attention``),
            C x H x W, in its data sample, for
            :class:`~oprl_mm.evaluation.AttentionLocalization`. Defaults to
            False.
        init_cfg (dict, optional): initialisation config. Defaults to None:
            each layer keeps the initialisation it is built with
            ("Initialisation" above).
    """

    @renamed_arguments(
        aux_topk='aux_num_positions',
        label_dims='embed_dims',
        cooccurrence_topk='cooccurrences_per_class')
    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 filter_ratio: float = 0.5,
                 aux_num_positions: int = 3,
                 num_gcn_layers: int = 3,
                 aux_loss_weight: float = 1.0,
                 use_spa: bool = True,
                 use_aux_loss: bool = True,
                 use_sapm: bool = True,
                 use_average_message: bool = True,
                 use_brrm: bool = True,
                 brrm_r_hidden_ratio: float = 0.25,
                 brrm_c_hidden_ratio: float = 1.0,
                 cooccurrence_file: Optional[str] = None,
                 embed_dims: Optional[int] = None,
                 cooccurrences_per_class: Optional[int] = None,
                 brrm_c_hidden_dims: Optional[int] = None,
                 loss: Dict = dict(
                     type='LogitAsymmetricLoss', gamma_pos=0.0, gamma_neg=4.0,
                     clip=0.0, eps=1e-5),
                 aux_loss: Dict = dict(
                     type='ProbAsymmetricLoss', gamma_pos=0.0, gamma_neg=4.0,
                     clip=0.0, eps=1e-5),
                 thr: float = 0.5,
                 keep_class_maps: bool = False,
                 init_cfg: Optional[dict] = None):
        self._check_args(num_classes, aux_num_positions, embed_dims, thr)
        super().__init__(loss=loss, thr=thr, topk=None, init_cfg=init_cfg)
        self._set_attributes(num_classes, in_channels, aux_num_positions,
                             aux_loss_weight, use_aux_loss, cooccurrence_file,
                             keep_class_maps)
        dims = embed_dims or in_channels  # d, the width of X
        self._build_pooling(dims, filter_ratio, use_spa)
        self._build_relations(dims, num_gcn_layers, use_sapm,
                              use_average_message, cooccurrences_per_class,
                              use_brrm, brrm_r_hidden_ratio,
                              brrm_c_hidden_ratio, brrm_c_hidden_dims)
        self._build_outputs(dims, aux_loss, use_aux_loss)
        self._load_cooccurrence(cooccurrence_file)

    @staticmethod
    def _check_args(num_classes: int, aux_num_positions: int,
                    embed_dims: Optional[int], thr: float) -> None:
        if thr is None:
            raise ValueError('OPRLHead predicts with a score threshold: thr '
                             'must be a number (0.5 by default)')
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}')
        if aux_num_positions < 1:
            raise ValueError(
                'aux_num_positions (K of Eq. 4) must be >= 1, got '
                f'{aux_num_positions}')
        if embed_dims is not None and embed_dims < 1:
            raise ValueError(f'embed_dims must be >= 1, got {embed_dims}')

    def _set_attributes(self, num_classes: int, in_channels: int,
                        aux_num_positions: int, aux_loss_weight: float,
                        use_aux_loss: bool, cooccurrence_file: Optional[str],
                        keep_class_maps: bool) -> None:
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.aux_num_positions = aux_num_positions
        self.aux_loss_weight = aux_loss_weight
        self.use_aux_loss = use_aux_loss
        self.cooccurrence_file = cooccurrence_file
        self.keep_class_maps = keep_class_maps

    def _build_pooling(self, dims: int, filter_ratio: float,
                       use_spa: bool) -> None:
        """Map (Eq. 3), Ctransform (Eq. 5) and SPA (Eq. 6-7)."""
        # Map
        self.saliency_map = nn.Conv2d(self.in_channels, self.num_classes, 1)
        self.ctransform = nn.Conv2d(self.in_channels, dims, 1)
        self.spa = SpatialPurifiedAttention(
            filter_ratio=filter_ratio if use_spa else 0.0)

    def _build_relations(self, dims: int, num_gcn_layers: int, use_sapm: bool,
                         use_average_message: bool,
                         cooccurrences_per_class: Optional[int],
                         use_brrm: bool, brrm_r_hidden_ratio: float,
                         brrm_c_hidden_ratio: float,
                         brrm_c_hidden_dims: Optional[int]) -> None:
        """SAPM (Eq. 8-10) and BRRM (Eq. 11-13), each None when off."""
        self.gcn = SemanticAssociationGCN(
            self.num_classes,
            dims,
            num_gcn_layers,
            use_average_message,
            cooccurrences_per_class=cooccurrences_per_class) \
            if use_sapm else None
        self.brrm = BidirectionalRefinement(
            self.num_classes,
            dims,
            brrm_r_hidden_ratio,
            brrm_c_hidden_ratio,
            c_hidden_dims=brrm_c_hidden_dims) if use_brrm else None

    def _build_outputs(self, dims: int, aux_loss: Dict,
                       use_aux_loss: bool) -> None:
        """The classifier (Eq. 14) and the loss of p_aux (Eq. 15)."""
        self.classifier = GroupWiseLinear(self.num_classes, dims)
        self.aux_loss_module = MODELS.build(aux_loss) if use_aux_loss else None

    def _load_cooccurrence(self, cooccurrence_file: Optional[str]) -> None:
        """Set A from ``cooccurrence_file``, when one is given."""
        if cooccurrence_file is not None:
            if self.gcn is None:
                raise ValueError('cooccurrence_file is set but use_sapm=False:'
                                 ' nothing would use the matrix')
            self.gcn.set_cooccurrence(
                load_cooccurrence_file(cooccurrence_file, self.num_classes))

    @property
    def needs_cooccurrence(self) -> bool:
        """Whether A must still come from the training labels."""
        return self.gcn is not None and self.cooccurrence_file is None

    def set_cooccurrence(self, matrix) -> None:
        """Set the co-occurrence matrix A (C x C) of SAPM."""
        if self.gcn is None:
            raise RuntimeError('SAPM is switched off (use_sapm=False)')
        self.gcn.set_cooccurrence(matrix)

    def forward_outputs(self, feats: Tuple[Tensor, ...]) -> Dict[str, Tensor]:
        """Run the head and return every intermediate a user may look at.

        Args:
            feats (tuple[Tensor]): feature maps; the last, B x D x H x W, is
                used.

        Returns:
            dict: ``logits`` (B x C), ``p_aux`` (B x C, Eq. 4), ``saliency``
            (S, B x C x H x W) and ``attention`` (SPA weights after masking,
            B x C x H x W, Eq. 6-7).
        """
        feat = self.pre_logits(feats)
        if feat.dim() != 4:
            raise ValueError(
                'OPRLHead needs a B x D x H x W feature map from the backbone '
                f'(or neck), got a tensor of shape {tuple(feat.shape)}; for a '
                "ViT, set the backbone's out_type='featmap'")
        saliency = self.saliency_map(feat)  # Eq. 3
        b, c, h, w = saliency.shape
        k = min(self.aux_num_positions, h * w)
        # in float32: under autocast sigmoid would round p_aux near 1
        p_aux = saliency.float().flatten(2).sigmoid().topk(
            k, dim=-1).values.mean(-1)
        features = self.ctransform(feat)  # Eq. 5
        x, attention = self.spa(saliency, features)  # Eq. 6-7, B x C x D
        if self.gcn is not None:
            x = self.gcn(x)  # Eq. 8-10
        if self.brrm is not None:
            x = self.brrm(x)  # Eq. 11-13
        logits = self.classifier(x)  # Eq. 14
        return dict(
            logits=logits,
            p_aux=p_aux,
            saliency=saliency,
            attention=attention.reshape(b, c, h, w))

    def class_maps(self, feats: Tuple[Tensor, ...]) -> Dict[str, Tensor]:
        """``logits``, ``saliency`` (S) and ``attention`` (SPA weights) of
        :meth:`forward_outputs`, for ``keep_class_maps``."""
        return self.forward_outputs(feats)

    def forward(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """Return the B x C logits of p_cls."""
        return self.forward_outputs(feats)['logits']

    def _get_target(self, data_samples: List[DataSample]) -> Tensor:
        """B x C multi-hot target; checks label indices once per batch."""
        if 'gt_score' in data_samples[0]:
            return torch.stack([s.gt_score.float() for s in data_samples])
        labels = [s.gt_label.reshape(-1) for s in data_samples]
        lengths = torch.tensor([len(label) for label in labels])
        flat = torch.cat(labels).long()
        target = torch.zeros(len(labels), self.num_classes,
                             device=flat.device)
        if flat.numel() == 0:
            return target
        bad = (flat < 0) | (flat >= self.num_classes)
        if bad.any():
            rows = torch.repeat_interleave(
                torch.arange(len(labels)), lengths)[bad.cpu()]
            first = int(rows[0])
            raise ValueError(
                f'label index {int(flat[bad][0])} out of range for '
                f'num_classes={self.num_classes} (image '
                f"{data_samples[first].get('img_path', first)}): check the "
                "dataset's classes against the head's num_classes")
        rows = torch.repeat_interleave(
            torch.arange(len(labels), device=flat.device),
            lengths.to(flat.device))
        target[rows, flat] = 1
        return target

    def loss(self, feats: Tuple[Tensor, ...], data_samples: List[DataSample],
             **kwargs) -> dict:
        """Eq. 14-16: ``loss_cls`` on p_cls and ``loss_aux`` on p_aux."""
        outputs = self.forward_outputs(feats)
        target = self._get_target(data_samples).to(outputs['logits'])
        batch = target.size(0)
        losses = dict(
            loss_cls=self.loss_module(
                outputs['logits'], target, avg_factor=batch, **kwargs))
        if self.use_aux_loss:
            losses['loss_aux'] = self.aux_loss_weight * self.aux_loss_module(
                outputs['p_aux'].float(), target.float(), avg_factor=batch)
        return losses


def load_cooccurrence_file(path: str, num_classes: int) -> np.ndarray:
    """Read a C x C co-occurrence matrix from a ``.npy`` file (no pickle)."""
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'cooccurrence_file {path!r} does not exist: point '
            'model.head.cooccurrence_file at a C x C .npy file, or remove it '
            'to compute A from the training labels')
    matrix = np.load(path, allow_pickle=False)
    if matrix.shape != (num_classes, num_classes):
        raise ValueError(
            f'cooccurrence_file {path!r} holds a {matrix.shape} array, but '
            f'the head has num_classes={num_classes}: it must be '
            f'{num_classes} x {num_classes}')
    return matrix
