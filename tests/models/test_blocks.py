"""The shared building blocks: the items' concatenation keeps the layout the convolutions after it expect, and GELU
gives the standard layout's values on channels-last tensors."""

from __future__ import annotations

import pytest
import torch

from neuroicl.models import build_model
from neuroicl.models.blocks import GELU, cat_items, gelu, mean_items

from .conftest import TINY

CL = torch.channels_last


def _items(b: int, l: int, c: int, size: int, seed: int) -> torch.Tensor:
    """``[B, L, C, H, W]`` whose items are channels-last, as a per-item convolution returns them."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b * l, c, size, size, generator=g).contiguous(memory_format=CL).unflatten(0, (b, l))


@pytest.mark.parametrize("channels_last", [True, False])
def test_cat_items_equals_torch_cat_also_with_a_broadcast_target(channels_last):
    context = _items(2, 3, 4, 6, seed=0)
    target = torch.rand(2, 5, 6, 6, generator=torch.Generator().manual_seed(1))
    if channels_last:
        target = target.contiguous(memory_format=CL)
    else:
        context = context.contiguous()
    broadcast = target.unsqueeze(1).expand(-1, 3, -1, -1, -1)
    for parts in ((context, broadcast), (broadcast, context)):
        out = cat_items(*parts)
        assert torch.equal(out, torch.cat(parts, dim=2))
        assert out.flatten(0, 1).is_contiguous(memory_format=CL if channels_last else torch.contiguous_format)


def test_cat_items_passes_the_gradient_of_torch_cat():
    context = _items(2, 3, 4, 6, seed=0).requires_grad_()
    target = torch.rand(2, 4, 6, 6, generator=torch.Generator().manual_seed(1)).contiguous(memory_format=CL)
    target.requires_grad_()
    weight = torch.rand(2, 3, 8, 6, 6, generator=torch.Generator().manual_seed(2))
    grads = []
    for cat in (cat_items, lambda *x: torch.cat(x, dim=2)):
        (cat(context, target.unsqueeze(1).expand_as(context)) * weight).sum().backward()
        grads.append((context.grad.clone(), target.grad.clone()))
        context.grad, target.grad = None, None
    assert all(torch.equal(a, b) for a, b in zip(*grads, strict=True))


@pytest.mark.parametrize("channels_last", [True, False])
def test_mean_items_equals_the_mean_over_l_in_the_items_layout(channels_last):
    items = _items(2, 3, 4, 6, seed=0)
    items = items if channels_last else items.contiguous()
    out = mean_items(items)
    assert torch.equal(out, items.mean(dim=1))
    assert out.is_contiguous(memory_format=CL if channels_last else torch.contiguous_format)


def _layouts() -> dict[str, torch.Tensor]:
    """One tensor in every layout :func:`gelu` meets, with negative and positive values."""
    g = torch.Generator().manual_seed(2)
    x = torch.randn(6, 16, 12, 12, generator=g) * 3
    return {"channels-last": x.contiguous(memory_format=CL), "items": _items(2, 3, 16, 12, seed=3) * 6 - 3,
            "standard": x, "expanded": x[:1].expand(4, -1, -1, -1)}


@pytest.mark.parametrize("layout", ["channels-last", "items", "standard"])
def test_gelu_gives_the_standard_layouts_values_and_gradient_to_the_bit(layout):
    """PyTorch's own kernel (channels-last storage) differs from oneDNN's (contiguous) in the last bits; ours never."""
    x = _layouts()[layout].requires_grad_()
    reference = x.detach().contiguous().requires_grad_()
    out, expected = gelu(x), torch.nn.functional.gelu(reference)
    assert torch.equal(out, expected)
    assert out.stride() == x.stride()
    grad = torch.randn(out.shape, generator=torch.Generator().manual_seed(4))
    out.backward(grad)
    expected.backward(grad)
    assert torch.equal(x.grad, reference.grad)


def test_gelu_of_another_layout_is_torchs():
    x = _layouts()["expanded"]
    assert torch.equal(gelu(x), torch.nn.functional.gelu(x))


def test_gelu_module_is_the_function():
    x = _layouts()["channels-last"]
    assert torch.equal(GELU()(x), gelu(x))


@pytest.mark.parametrize("name", ["neuralizer", "universeg"])
def test_every_convolution_of_a_channels_last_model_gets_a_channels_last_input(name, batch):
    """A convolution given the standard layout converts it to the weights' channels-last, forward and backward."""
    model = build_model(name, generator=torch.Generator().manual_seed(0), **TINY[name]).to(memory_format=CL)
    seen = []
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d) and module.in_channels > 7:  # past the convolutions of the inputs
            module.register_forward_pre_hook(lambda _, args: seen.append(args[0].is_contiguous(memory_format=CL)))
    target_in, context_in, context_out, _ = batch
    model(target_in, context_in, context_out)
    assert seen and all(seen)
