"""nn.Module: registration, traversal, modes, hooks, freezing, state dicts and repr."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import nn
from autograd_cv.autograd.engine import topological_order


class Affine(nn.Module):
    """y = x @ w.T + b with core ops only (so these tests need no F.*)."""

    def __init__(self, fan_in: int, fan_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(np.full((fan_out, fan_in), 0.5, np.float32))
        self.bias = nn.Parameter(np.zeros(fan_out, np.float32))
        self.register_buffer("calls", ag.tensor(np.array(0, np.int64)))

    def forward(self, x):
        self.calls.data += 1
        return x @ self.weight.T + self.bias

    def extra_repr(self) -> str:
        return f"{self.weight.shape[1]}, {self.weight.shape[0]}"


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = Affine(3, 4)
        self.heads = nn.ModuleList([Affine(4, 2), Affine(4, 1)])
        self.scale = nn.Parameter(np.ones(1, np.float32))

    def forward(self, x):
        hidden = self.encoder(x)
        return self.heads[0](hidden).sum() + self.heads[1](hidden).sum() * self.scale


def test_parameters_are_registered_in_assignment_order_with_dotted_names():
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == ["scale", "encoder.weight", "encoder.bias", "heads.0.weight",
                     "heads.0.bias", "heads.1.weight", "heads.1.bias"]  # fmt: skip
    assert [p for p in net.parameters()] == [p for _, p in net.named_parameters()]
    assert all(isinstance(p, nn.Parameter) and isinstance(p, ag.Tensor) for p in net.parameters())
    assert [n for n, _ in net.named_buffers()] == [
        "encoder.calls",
        "heads.0.calls",
        "heads.1.calls",
    ]
    assert [n for n, _ in net.named_children()] == ["encoder", "heads"]
    assert [n for n, _ in net.named_modules()] == ["", "encoder", "heads", "heads.0", "heads.1"]
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]


def test_state_dict_order_is_torchs_params_then_buffers_per_module():
    keys = list(Net().state_dict())
    assert keys == ["scale", "encoder.weight", "encoder.bias", "encoder.calls",
                    "heads.0.weight", "heads.0.bias", "heads.0.calls",
                    "heads.1.weight", "heads.1.bias", "heads.1.calls"]  # fmt: skip


def test_shared_parameters_are_listed_once():
    net = nn.Module()
    layer = Affine(2, 2)
    net.a = layer
    net.b = layer
    assert len(list(net.parameters())) == 2
    assert [n for n, _ in net.named_modules()] == ["", "a"]


def test_reassignment_keeps_position_and_type_errors_are_clear():
    net = Net()
    net.encoder = Affine(3, 4)
    assert [n for n, _ in net.named_children()] == ["encoder", "heads"]
    with pytest.raises(TypeError, match="parameter 'scale'"):
        net.scale = np.ones(1)
    net.scale = None
    assert "scale" not in dict(net.named_parameters())
    with pytest.raises(AttributeError, match="before Module.__init__"):

        class Broken(nn.Module):
            def __init__(self) -> None:
                self.w = nn.Parameter(np.zeros(1))

        Broken()


def test_train_eval_zero_grad_and_freeze():
    net = Net()
    assert all(m.training for m in net.modules())
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())

    net(ag.ones(2, 3)).backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())

    net.encoder.requires_grad_(False)
    net(ag.ones(2, 3)).backward()
    assert net.encoder.weight.grad is None and net.heads[0].weight.grad is not None


def test_forward_hook_captures_activations_and_can_be_removed():
    net = Net()
    captured = []
    handle = net.encoder.register_forward_hook(lambda m, inputs, out: captured.append(out.shape))
    net(ag.ones(5, 3))
    handle.remove()
    net(ag.ones(5, 3))
    assert captured == [(5, 4)]
    replaced = net.encoder.register_forward_hook(lambda m, inputs, out: out * 0.0)
    assert net(ag.ones(5, 3)).item() == 0.0
    replaced.remove()


def test_call_span_brackets_exactly_the_nodes_the_forward_created():
    net = Net()
    x = ag.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    out = net(x)
    nodes = topological_order([out.node])
    first, last = net.encoder._call_span
    inside = [n for n in nodes if first < n.sequence < last]
    assert sorted(n.name for n in inside) == ["add", "matmul", "transpose"]
    outer_first, outer_last = net._call_span
    assert all(outer_first < n.sequence < outer_last for n in nodes)


def test_apply_visits_children_before_parents():
    net = Net()
    order = []
    net.apply(lambda m: order.append(type(m).__name__))
    assert order == ["Affine", "Affine", "Affine", "ModuleList", "Net"]


def test_state_dict_round_trip_copies_and_strict_errors_name_key_and_shapes():
    net, other = Net(), Net()
    for p in net.parameters():
        p.data[...] = ag.randn(*p.shape).data
    sd = net.state_dict()
    sd["scale"][...] = 7.0
    assert net.scale.item() != 7.0  # a copy, not a view
    weight = other.encoder.weight
    result = other.load_state_dict(sd)
    assert other.encoder.weight is weight  # loaded in place
    missing, unexpected = result
    assert missing == [] and unexpected == []
    for key, value in other.state_dict().items():
        np.testing.assert_array_equal(value, sd[key])

    bad = net.state_dict()
    bad["heads.0.weight"] = np.zeros((3, 4), np.float32)
    del bad["encoder.bias"]
    bad["extra"] = np.zeros(1)
    with pytest.raises(RuntimeError) as error:
        other.load_state_dict(bad)
    message = str(error.value)
    assert "'heads.0.weight'" in message and "(2, 4)" in message and "(3, 4)" in message
    assert "encoder.bias" in message and "extra" in message


def test_non_strict_load_skips_and_reports():
    net, other = Net(), Net()
    before = other.heads[0].weight.data.copy()
    sd = net.state_dict()
    sd["heads.0.weight"] = np.zeros((3, 4), np.float32)
    del sd["scale"]
    sd["unused"] = np.zeros(2)
    result = other.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["scale"]
    assert result.unexpected_keys == ["unused"]
    assert result.mismatched_keys == [("heads.0.weight", (2, 4), (3, 4))]
    assert result.skipped == ["scale", "heads.0.weight"]
    np.testing.assert_array_equal(other.heads[0].weight.data, before)
    np.testing.assert_array_equal(other.encoder.weight.data, net.encoder.weight.data)


def test_non_persistent_buffers_are_not_saved():
    module = nn.Module()
    module.register_buffer("kept", ag.zeros(2))
    module.register_buffer("scratch", ag.zeros(2), persistent=False)
    assert list(module.state_dict()) == ["kept"]
    assert [n for n, _ in module.named_buffers()] == ["kept", "scratch"]


def test_repr_is_nested_like_torch():
    assert repr(Net()) == (
        "Net(\n"
        "  (encoder): Affine(3, 4)\n"
        "  (heads): ModuleList(\n"
        "    (0): Affine(4, 2)\n"
        "    (1): Affine(4, 1)\n"
        "  )\n"
        ")"
    )
    p = nn.Parameter([1.0, 2.0])
    assert repr(p).startswith("Parameter containing:\ntensor([1., 2.]")
    assert p.dtype == np.float32 and p.requires_grad and p.is_leaf
    assert not hasattr(p, "__dict__")


def test_sequential_indexing_slicing_and_named_entries():
    seq = nn.Sequential(Affine(3, 4), Affine(4, 2), Affine(2, 1))
    assert len(seq) == 3
    assert isinstance(seq[1], Affine) and seq[-1] is seq[2]
    assert [n for n, _ in seq[1:].named_children()] == ["1", "2"]
    assert seq(ag.ones(2, 3)).shape == (2, 1)
    with pytest.raises(IndexError, match="out of range for 3 modules"):
        seq[3]
    named = nn.Sequential(OrderedDict(first=Affine(3, 4), second=Affine(4, 1)))
    assert [n for n, _ in named.named_parameters()][:2] == ["first.weight", "first.bias"]
    named[1] = Affine(4, 5)
    assert named(ag.ones(1, 3)).shape == (1, 5)
    assert [n for n, _ in named.named_children()] == ["first", "second"]
