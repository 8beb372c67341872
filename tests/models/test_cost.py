"""Model size and inference cost against Table 6 (Neuralizer supplement Sec. H)."""

import pytest
import torch

from neuroicl.models import build_model
from neuroicl.models.cost import (
    CONTEXT_SIZES,
    TABLE6,
    cost_table,
    cost_table_markdown,
    count_parameters,
    inference_flops,
)

PAPER = 192


def _meta(name, **hparams):
    return build_model(name, device="meta", **hparams)


@pytest.mark.parametrize(
    ("name", "hparams", "paper_m"),
    [
        ("neuralizer", {}, 1.27),
        ("unet", {"channels": 64}, 0.62),
        ("unet", {"channels": 256}, 9.84),
        ("universeg", {}, 1.18),
    ],
)
def test_parameter_count_within_1_percent_of_paper(name, hparams, paper_m):
    assert count_parameters(_meta(name, **hparams)) / 1e6 == pytest.approx(paper_m, rel=0.01)


def test_neuralizer_parameter_count_matches_arithmetic():
    c = 64
    unit = 2 * (9 * c * c + c)  # residual unit: two 3x3 convs
    one_by_one = 2 * c * c + c  # 1x1 conv 2C -> C
    level = 2 * unit + 2 * one_by_one  # target + context units, two interaction convs
    embeddings = (3 * c + c) + (6 * c + c)
    head = unit + (3 * c + 3)
    expected = 7 * level + 3 * 2 * one_by_one + embeddings + head  # 4 encoder + 3 decoder levels
    assert count_parameters(_meta("neuralizer")) == expected == 1_273_859


@pytest.mark.parametrize(("context_size", "paper_gflops"), [(1, 39.1), (32, 610.5)])
def test_neuralizer_flops_within_1_percent_of_paper(context_size, paper_gflops):
    gflops = inference_flops(_meta("neuralizer"), PAPER, context_size) / 1e9
    assert gflops == pytest.approx(paper_gflops, rel=0.01)


@pytest.mark.parametrize(("channels", "paper_gflops"), [(64, 20.7), (256, 329.7)])
def test_unet_flops_within_1_percent_of_paper(channels, paper_gflops):
    gflops = inference_flops(_meta("unet", channels=channels), PAPER, 1) / 1e9
    assert gflops == pytest.approx(paper_gflops, rel=0.01)


@pytest.mark.parametrize("name", ["neuralizer", "universeg"])
def test_flops_are_linear_in_context_size(name):
    model = _meta(name)
    flops = {l: inference_flops(model, PAPER, l) for l in (1, 2, 32)}
    per_item = flops[2] - flops[1]
    assert per_item > 0
    assert flops[32] == flops[1] + 31 * per_item


def test_unet_flops_do_not_depend_on_context_size():
    model = _meta("unet")
    assert inference_flops(model, PAPER, 1) == inference_flops(model, PAPER, 32)


def test_meta_flops_equal_real_flops():
    real = build_model(
        "neuralizer", channels=8, levels=3, generator=torch.Generator().manual_seed(0)
    )
    meta = _meta("neuralizer", channels=8, levels=3)
    assert inference_flops(real, 32, 2) == inference_flops(meta, 32, 2) > 0


def test_table_has_a_row_per_model_and_context_size():
    table = cost_table(image_size=32, context_sizes=[1, 4])
    assert len(table) == 2 * len(TABLE6)
    assert list(table.columns[:4]) == ["model", "context_size", "params_m", "gflops"]
    assert table["paper_gflops"].isna().all()  # paper values hold only at 192x192


def test_paper_table_reproduced_within_1_percent():
    table = cost_table(image_size=PAPER, context_sizes=CONTEXT_SIZES)
    compared = table[["params_rel_err", "gflops_rel_err"]]
    assert compared["gflops_rel_err"].notna().sum() == 2 + 2 * len(CONTEXT_SIZES)
    assert (compared.abs().fillna(0.0) < 0.01).all().all()


def test_markdown_has_a_line_per_row():
    table = cost_table(image_size=32, context_sizes=[1])
    lines = cost_table_markdown(table).splitlines()
    assert len(lines) == 2 + len(table)
    assert lines[2].startswith("| Neuralizer")


@pytest.mark.parametrize(
    ("image_size", "context_sizes"), [(0, [1]), (32, []), (32, [0]), (32.0, [1])]
)
def test_bad_sizes_raise(image_size, context_sizes):
    with pytest.raises(ValueError, match="image_size|context_sizes"):
        cost_table(image_size=image_size, context_sizes=context_sizes)
