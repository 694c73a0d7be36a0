import ast
import inspect

import numpy as np
import pytest
import torch

from oprl_mm.models.layers import (BidirectionalRefinement, GroupWiseLinear,
                                   SemanticAssociationGCN,
                                   SpatialPurifiedAttention, average_matrix,
                                   cooccurrence_matrix, spa)
from oprl_mm.models.layers.spa import num_kept_positions


def spa_pool(tau, saliency, features):
    """The pooled B x C x D representations of SPA alone."""
    return SpatialPurifiedAttention(tau)(saliency, features)[0]


def plain_softmax_pool(saliency, features):
    w = saliency.flatten(2).softmax(-1)
    return torch.einsum('bcn,bdn->bcd', w, features.flatten(2))


class TestSpatialPurifiedAttention:

    def test_shape(self):
        s, f = torch.randn(2, 5, 4, 6), torch.randn(2, 7, 4, 6)
        x, w = SpatialPurifiedAttention(0.5)(s, f)
        assert x.shape == (2, 5, 7) and w.shape == (2, 5, 24)

    def test_tau_zero_is_softmax_pooling(self):
        s, f = torch.randn(3, 4, 5, 5), torch.randn(3, 8, 5, 5)
        out = spa_pool(0.0, s, f)
        torch.testing.assert_close(out, plain_softmax_pool(s, f))

    def test_filtered_positions_do_not_matter(self):
        torch.manual_seed(0)
        s, f = torch.randn(1, 1, 6, 6), torch.randn(1, 3, 6, 6)
        out = spa_pool(0.5, s, f)
        # the 18 largest of 36 positions are kept
        z = s.flatten().sort(descending=True).values[17]
        below = (s < z).expand_as(f)
        f2 = f.clone()
        f2[below] = torch.randn(int(below.sum())) * 100
        torch.testing.assert_close(spa_pool(0.5, s, f2), out)
        # and the kept positions do matter
        f3 = f.clone()
        f3[~below] += 1.0
        assert not torch.allclose(spa_pool(0.5, s, f3), out)

    @pytest.mark.parametrize('tau,size,kept', [
        (0.5, 14, 98), (0.9, 14, 20), (0.0, 14, 196), (1.0, 14, 1),
        (0.99, 14, 2), (0.5, 7, 25), (0.5, 4, 8), (0.3, 10, 70),
        (0.29, 10, 71), (0.75, 3, 3), (0.5, 1, 1)])
    def test_floor_tau_n_positions_removed(self, tau, size, kept):
        # Eq. 6 read as: floor(tau * N) of N = H*W removed, at least 1 kept
        assert num_kept_positions(size * size, tau) == kept
        s = torch.randn(2, 3, size, size)  # continuous: no ties
        w = SpatialPurifiedAttention(tau).attention_weights(s)
        assert torch.equal((w > 0).sum(-1), torch.full((2, 3), kept))
        torch.testing.assert_close(w.sum(-1), torch.ones(2, 3))
        # the kept positions are the largest ones, the maximum among them
        top = s.flatten(2).topk(kept, dim=-1).indices
        assert bool((w.gather(-1, top) > 0).all())

    def test_ties_at_threshold_are_kept(self):
        # 4 positions, tau 0.5 keeps 2; the 2nd and 3rd largest tie
        s = torch.tensor([0., 1., 1., 2.]).reshape(1, 1, 2, 2)
        w = SpatialPurifiedAttention(0.5).attention_weights(s)
        assert torch.equal(w > 0, torch.tensor([[[False, True, True, True]]]))

    def test_tau_one_is_argmax_feature(self):
        s, f = torch.randn(2, 4, 5, 5), torch.randn(2, 6, 5, 5)
        out = spa_pool(1.0, s, f)
        idx = s.flatten(2).argmax(-1)  # B x C
        expected = torch.stack([f.flatten(2)[b][:, idx[b]].t()
                                for b in range(2)])
        torch.testing.assert_close(out, expected)

    @pytest.mark.parametrize('tau', [0.0, 0.5, 0.99, 1.0])
    def test_constant_and_tied_saliency_no_nan(self, tau):
        f = torch.randn(2, 3, 4, 4)
        const = torch.zeros(2, 2, 4, 4)
        out = spa_pool(tau, const, f)
        assert torch.isfinite(out).all()
        # a constant map keeps every position: mean of the features
        torch.testing.assert_close(
            out, f.flatten(2).mean(-1)[:, None, :].expand(2, 2, 3))
        tied = torch.tensor([0., 1., 1., 0.]).repeat(4).reshape(1, 1, 4, 4)
        out = spa_pool(tau, tied.repeat(2, 2, 1, 1), f)
        assert torch.isfinite(out).all()
        # gradients stay finite too
        s = torch.zeros(1, 2, 4, 4, requires_grad=True)
        spa_pool(tau, s, f[:1]).sum().backward()
        assert torch.isfinite(s.grad).all()

    def test_batch_equals_samples_one_by_one(self):
        s, f = torch.randn(4, 3, 5, 7), torch.randn(4, 6, 5, 7)
        batch = spa_pool(0.5, s, f)
        for i in range(4):
            torch.testing.assert_close(
                batch[i:i + 1], spa_pool(0.5, s[i:i + 1], f[i:i + 1]))

    def test_no_python_loop_in_forward(self):
        tree = ast.parse(inspect.getsource(spa))
        loops = (ast.For, ast.While, ast.ListComp, ast.GeneratorExp)
        assert not any(isinstance(n, loops) for n in ast.walk(tree))

    @pytest.mark.parametrize('tau', [1.5, -0.1, float('nan')])
    def test_bad_filter_ratio(self, tau):
        with pytest.raises(ValueError, match='filter_ratio'):
            SpatialPurifiedAttention(tau)

    def test_shape_mismatch(self):
        with pytest.raises(ValueError, match='share B, H and W'):
            SpatialPurifiedAttention()(
                torch.randn(1, 2, 4, 4), torch.randn(1, 3, 5, 5))


class TestSAPM:

    def test_average_matrix(self):
        k = average_matrix(5)
        assert k.shape == (5, 5)
        assert torch.equal(k.diagonal(), torch.ones(5))
        off = k[~torch.eye(5, dtype=torch.bool)]
        assert torch.allclose(off, torch.full_like(off, 0.25))
        assert torch.equal(average_matrix(1), torch.ones(1, 1))

    def test_cooccurrence_matrix_exact(self):
        # class 0 in 4 images, class 1 in 2 (both with 0), class 3 never
        labels = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [1, 0, 0, 0],
                           [1, 0, 1, 0], [0, 0, 1, 0]])
        a = cooccurrence_matrix(labels)
        expected = torch.tensor([[1.0, 2 / 4, 2 / 4, 0.0],
                                 [2 / 2, 1.0, 1 / 2, 0.0],
                                 [2 / 3, 1 / 3, 1.0, 0.0],
                                 [0.0, 0.0, 0.0, 1.0]])
        torch.testing.assert_close(a, expected)
        assert torch.isfinite(a).all()

    def test_gcn_alternates_a_and_k(self):
        gcn = SemanticAssociationGCN(4, 6, num_layers=4)
        a = torch.rand(4, 4)
        gcn.set_cooccurrence(a)
        assert torch.equal(gcn.message_matrix(0), a)
        assert torch.equal(gcn.message_matrix(1), average_matrix(4))
        assert torch.equal(gcn.message_matrix(2), a)
        assert torch.equal(gcn.message_matrix(3), average_matrix(4))
        no_amp = SemanticAssociationGCN(4, 6, 3, use_average_message=False)
        no_amp.set_cooccurrence(a)
        assert all(
            torch.equal(no_amp.message_matrix(i), a) for i in range(3))

    def test_gcn_maps_have_no_bias(self):
        # Eq. 10 is delta(A X W): a zero input gives a zero message
        gcn = SemanticAssociationGCN(3, 5, num_layers=3)
        assert all(linear.bias is None for linear in gcn.weights)
        assert not any('bias' in name for name, _ in gcn.named_parameters())
        x = torch.zeros(2, 3, 5)
        torch.testing.assert_close(gcn(x), x)

    def test_gcn_forward_matches_equations(self):
        torch.manual_seed(0)
        gcn = SemanticAssociationGCN(3, 5, num_layers=2)
        a = torch.rand(3, 3)
        gcn.set_cooccurrence(a)
        x = torch.randn(2, 3, 5)
        act = torch.nn.LeakyReLU(0.2)
        h = act(gcn.weights[0](a @ x))
        h = act(gcn.weights[1](average_matrix(3) @ h))
        torch.testing.assert_close(gcn(x), x + h)

    def test_set_cooccurrence_checks_shape(self):
        gcn = SemanticAssociationGCN(4, 6)
        with pytest.raises(ValueError, match='4 x 4'):
            gcn.set_cooccurrence(torch.eye(5))


class TestBRRM:

    def test_shape(self):
        brrm = BidirectionalRefinement(num_classes=6, embed_dims=16)
        assert brrm(torch.randn(3, 6, 16)).shape == (3, 6, 16)

    def test_mixes_categories(self):
        torch.manual_seed(0)
        brrm = BidirectionalRefinement(num_classes=5, embed_dims=8).eval()
        x = torch.randn(1, 5, 8, requires_grad=True)
        out = brrm(x)
        # output of class 0 depends on the input of class 3
        grad = torch.autograd.grad(out[0, 0].sum(), x)[0]
        assert grad[0, 3].abs().sum() > 0
        x2 = x.detach().clone()
        x2[0, 3] += torch.randn(8)  # not a constant: LN would remove it
        assert not torch.allclose(brrm(x2)[0, 0], out[0, 0])

    def test_batch_independent(self):
        brrm = BidirectionalRefinement(num_classes=4, embed_dims=8).eval()
        x = torch.randn(3, 4, 8)
        torch.testing.assert_close(brrm(x)[1:2], brrm(x[1:2]))


def test_group_wise_linear():
    layer = GroupWiseLinear(num_classes=4, embed_dims=3)
    x = torch.randn(2, 4, 3)
    expected = torch.stack([
        x[:, c] @ layer.weight[c] + layer.bias[c] for c in range(4)
    ], dim=1)
    torch.testing.assert_close(layer(x), expected)


def test_brrm_follows_eq_11_to_13():
    torch.manual_seed(0)
    m = BidirectionalRefinement(num_classes=5, embed_dims=8).eval()
    x = torch.randn(2, 5, 8)
    t = lambda y: y.transpose(1, 2)  # noqa: E731
    x0 = m.norm_in(x)  # Eq. 11
    p1 = m.norm1(m.mix_r1(x0) + x0)  # Eq. 12, path 1
    p1 = t(m.mix_c1(t(p1))) + p1
    p2 = m.norm2(t(m.mix_c2(t(x0))) + x0)  # Eq. 12, path 2
    p2 = m.mix_r2(p2) + p2
    torch.testing.assert_close(m(x), (p1 + p2) / 2)  # Eq. 13
    # hidden widths D/4 (r) and C (c)
    assert m.mix_r1[0].out_features == 2 and m.mix_c1[0].out_features == 5


class TestLinearCostSAPM:
    """The linear-cost forms of SAPM (``cooccurrences_per_class``)."""

    def test_average_message_equals_k_product(self):
        from oprl_mm.models.layers import average_message
        for c in (1, 2, 7):
            x = torch.randn(3, c, 5, dtype=torch.float64)
            torch.testing.assert_close(
                average_message(x),
                average_matrix(c).double() @ x)

    def test_c_minus_one_per_class_equals_dense(self):
        torch.manual_seed(0)
        c, d = 6, 5
        a = torch.rand(c, c)
        dense = SemanticAssociationGCN(c, d, num_layers=3)
        sparse = SemanticAssociationGCN(
            c, d, 3, cooccurrences_per_class=c - 1)
        sparse.load_state_dict(
            {k: v for k, v in dense.state_dict().items()
             if k.startswith('weights')}, strict=False)
        dense.set_cooccurrence(a)
        sparse.set_cooccurrence(a)
        torch.testing.assert_close(sparse.sparse_cooccurrence(), a)
        x = torch.randn(4, c, d)
        torch.testing.assert_close(sparse(x), dense(x))
        for layer in range(3):
            torch.testing.assert_close(
                sparse.message(layer, x), dense.message(layer, x))

    def test_keeps_strongest_neighbours(self):
        from oprl_mm.models.layers import cooccurrence_neighbours
        a = torch.tensor([[1.0, 0.1, 0.9, 0.5], [0.2, 1.0, 0.3, 0.4],
                          [0.0, 0.0, 1.0, 0.7], [0.6, 0.8, 0.1, 1.0]])
        index, weight = cooccurrence_neighbours(a, 2)
        assert index.tolist() == [[2, 3], [3, 2], [3, 0], [1, 0]] or \
            index[2].tolist() == [3, 1]  # a tie of zeros in row 2
        torch.testing.assert_close(weight[:, 0], torch.tensor(
            [0.9, 0.4, 0.7, 0.8]))
        gcn = SemanticAssociationGCN(4, 3, cooccurrences_per_class=2)
        gcn.set_cooccurrence(a)
        x = torch.randn(2, 4, 3)
        # message of class 0: itself + 0.9 x_2 + 0.5 x_3, class 1 unused
        expected = x[:, 0] + 0.9 * x[:, 2] + 0.5 * x[:, 3]
        torch.testing.assert_close(gcn.message(0, x)[:, 0], expected)

    def test_buffers_travel_with_state_dict(self):
        gcn = SemanticAssociationGCN(5, 4, cooccurrences_per_class=2)
        keys = set(gcn.state_dict())
        assert {'neighbour_index', 'neighbour_weight', 'self_weight'} <= keys
        assert not {'cooccurrence', 'average'} & keys
        gcn.set_cooccurrence(torch.rand(5, 5))
        other = SemanticAssociationGCN(5, 4, cooccurrences_per_class=2)
        other.load_state_dict(gcn.state_dict())
        x = torch.randn(2, 5, 4)
        torch.testing.assert_close(other(x), gcn(x))

    def test_unset_matrix_is_identity(self):
        # A = I before the hook sets it, as in the dense form
        dense = SemanticAssociationGCN(5, 4, num_layers=1)
        sparse = SemanticAssociationGCN(5, 4, 1, cooccurrences_per_class=3)
        sparse.load_state_dict(dense.state_dict(), strict=False)
        x = torch.randn(2, 5, 4)
        torch.testing.assert_close(sparse(x), dense(x))

    def test_gradient_flow_and_no_amp(self):
        gcn = SemanticAssociationGCN(
            8, 4, 3, use_average_message=False, cooccurrences_per_class=3)
        gcn.set_cooccurrence(torch.rand(8, 8))
        x = torch.randn(2, 8, 4, requires_grad=True)
        gcn(x).square().sum().backward()
        assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
        assert all(w.weight.grad.abs().sum() > 0 for w in gcn.weights)
        # A in every layer: the message of layer 1 is the top-k A one
        torch.testing.assert_close(gcn.message_matrix(1),
                                   gcn.sparse_cooccurrence())

    @pytest.mark.parametrize('per_class', [0, 5])
    def test_bad_per_class(self, per_class):
        with pytest.raises(ValueError, match='cooccurrences_per_class'):
            SemanticAssociationGCN(5, 4, cooccurrences_per_class=per_class)

    def test_old_name_names_the_new_one(self):
        with pytest.raises(TypeError, match='pass cooccurrences_per_class'):
            SemanticAssociationGCN(5, 4, cooccurrence_topk=2)

    def test_no_python_loop_over_classes(self):
        # the messages loop over nothing; forward only over the L layers
        from oprl_mm.models.layers import average_message, sapm
        loops = (ast.For, ast.While, ast.ListComp, ast.GeneratorExp)
        for fn in (average_message, sapm.cooccurrence_neighbours,
                   SemanticAssociationGCN.message,
                   SemanticAssociationGCN.set_cooccurrence):
            tree = ast.parse(inspect.getsource(fn).strip())
            assert not any(isinstance(n, loops) for n in ast.walk(tree))
        tree = ast.parse(
            inspect.getsource(SemanticAssociationGCN.forward).strip())
        found = [n for n in ast.walk(tree) if isinstance(n, loops)]
        assert len(found) == 1 and 'self.weights' in ast.unparse(
            found[0].iter)

    def test_cooccurrence_from_pairs_equals_dense(self):
        from oprl_mm.models.layers import cooccurrence_matrix_from_pairs
        rng = np.random.default_rng(0)
        labels = (rng.random((50, 9)) < 0.3).astype(np.float32)
        labels[:, 8] = 0  # a class that never occurs
        rows, cols = np.nonzero(labels)
        # repeated pairs count once
        rows, cols = np.append(rows, rows[:3]), np.append(cols, cols[:3])
        a = cooccurrence_matrix_from_pairs(rows, cols, 9)
        assert torch.equal(a, cooccurrence_matrix(labels))
        assert a[8, 8] == 1 and a[8].sum() == 1


class TestLowRankBRRM:

    def test_fixed_category_width(self):
        brrm = BidirectionalRefinement(50, 8, c_hidden_dims=4)
        assert brrm.mix_c1[0].out_features == 4
        assert brrm.mix_c2[0].in_features == 50
        x = torch.randn(2, 50, 8, requires_grad=True)
        brrm(x).sum().backward()
        assert x.grad.abs().sum() > 0
        # parameters linear in C: 2 MLPs x (C r + r + r C + C)
        c_params = sum(p.numel() for p in brrm.mix_c1.parameters())
        assert c_params == 50 * 4 + 4 + 4 * 50 + 50

    def test_default_is_ratio(self):
        assert BidirectionalRefinement(
            5, 8, c_hidden_dims=None).mix_c1[0].out_features == 5
        with pytest.raises(ValueError, match='c_hidden_dims'):
            BidirectionalRefinement(5, 8, c_hidden_dims=0)
