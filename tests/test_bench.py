"""Smoke tests of the benchmarks: they run end to end on tiny cases and write valid JSON; the
reference network has the right shapes; the alternative CPU back-ends match eager."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from bench import cpu_backends, throughput
from bench.reference import ReferenceEngine, count_convolutions
from ultrais_core.engine import Engine
from ultrais_core.model import DualStreamNet
from ultrais_core.model.compact_sr import SRVGGNetCompact

ROOT = Path(__file__).resolve().parent.parent
GROUPS = {"convolutions", "attention", "upsampler", "layernorm/elementwise", "data movement"}


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_reference_network_has_the_compact_shape(scale):
    model = SRVGGNetCompact(scale).eval()
    assert count_convolutions(model) == 18  # first + 16 body + last
    assert model.body[0].out_channels == 64
    x = torch.rand(1, 3, 24, 40)
    with torch.inference_mode():
        out = model(x, torch.zeros(1, 7))
    assert out.shape == (1, 3, 24 * scale, 40 * scale)


def test_reference_runs_through_the_engine_with_the_ds_tiling(weights_dir):
    ds = Engine(weights_dir, device="cpu", tile=64, overlap=16)
    reference = ReferenceEngine(ds)
    assert (reference.tile, reference.overlap) == (64, 16)
    image = np.random.default_rng(0).random((70, 90, 3), dtype=np.float32) * 0.1
    out = reference.enhance(image, 2, out_dtype=np.uint8)
    assert out.shape == (140, 180, 3) and out.dtype == np.uint8
    _, descriptor = reference.model_for(2)
    assert descriptor.size_multiple == ds.model_for(2)[1].size_multiple
    assert reference.last_run is not None and reference.last_run.tile == 64


def test_ops_are_grouped_by_kind():
    assert throughput.op_group("aten::mkldnn_convolution") == "convolutions"
    assert throughput.op_group("aten::_slow_conv2d_forward") == "convolutions"
    assert throughput.op_group("aten::bmm") == "attention"
    assert throughput.op_group("aten::_softmax") == "attention"
    assert throughput.op_group("aten::upsample_bilinear2d") == "upsampler"
    assert throughput.op_group("aten::pixel_shuffle") == "upsampler"
    assert throughput.op_group("aten::copy_") == "data movement"
    assert throughput.op_group("aten::constant_pad_nd") == "data movement"
    assert throughput.op_group("aten::gelu") == "layernorm/elementwise"


def test_photo_shapes_and_synthetic_photo():
    height, width = throughput.photo_shape(12)
    assert abs(height * width - 12e6) < 0.01e6 and abs(width / height - 4 / 3) < 0.01
    image = throughput.synthetic_photo(30, 40)
    assert image.shape == (30, 40, 3) and image.dtype == np.float32
    assert image.min() >= 0 and image.max() <= 1


def test_benchmark_in_process_covers_every_section(weights_dir, tmp_path):
    out = tmp_path / "throughput.json"
    report = throughput.main(
        [
            "--quick", "--device", "cpu", "--sizes", "0.02", "--scales", "2", "--threads", "1",
            "--tile", "64", "--overlap", "16", "--profile-mp", "0.01",
            "--weights", str(weights_dir), "--out", str(out), "--in-process",
        ]
    )  # fmt: skip
    data = json.loads(out.read_text())
    assert data["weights"]["2"]["source"] == "given"
    kinds = {(c["model"], c["untiled"]) for c in data["cases"]}
    assert kinds == {("ds", False), ("reference", False), ("ds", True)}
    for case in data["cases"]:
        assert case["seconds"] > 0 and case["input_mp_per_s"] > 0
        assert case["output_mp_per_s"] == pytest.approx(4 * case["input_mp_per_s"])
        assert case["peak_rss_bytes"] > 0
    assert len(data["ratios"]) == 1 and data["ratios"][0]["ratio"] > 0
    assert len(data["tiling_overhead"]) == 1
    assert set(data["profile"]["op_groups_seconds"]) == GROUPS
    assert data["profile"]["model_forward_seconds"] > 0
    assert data["goals"] and report["cases"] == data["cases"]


def test_benchmark_command_isolates_cases_and_writes_json(weights_dir, tmp_path):
    out = tmp_path / "throughput.json"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [
        sys.executable, "-m", "bench", "--quick", "--device", "cpu", "--sizes", "0.01",
        "--scales", "2", "--threads", "1", "--no-reference", "--no-untiled", "--no-profile",
        "--weights", str(weights_dir), "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "in MP/s" in done.stdout
    data = json.loads(out.read_text())
    (case,) = data["cases"]
    assert case["isolated"] is True and case["seconds"] > 0
    assert case["peak_rss_bytes"] > 50e6  # the child's own peak: torch alone is more than this


@pytest.fixture
def tiny_model(tiny_config):
    torch.manual_seed(0)
    return DualStreamNet(scale=2, **tiny_config).eval()


def test_onnx_runtime_matches_eager(tiny_model, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    multiple = tiny_model.config.size_multiple
    x = torch.rand(1, 3, 2 * multiple, 3 * multiple) * 0.2
    context = torch.zeros(1, 7)
    path = tmp_path / "tiny.onnx"
    info = cpu_backends.export_onnx(tiny_model, x, context, path, multiple=multiple, dynamic=False)
    assert info["file_bytes"] > 0
    session = cpu_backends.OnnxModel(path, threads=1)
    with torch.inference_mode():
        expected = tiny_model(x, context)
    assert cpu_backends.max_abs_diff(session(x, context), expected) <= 1 / 255


def test_torch_compile_matches_eager(tiny_model):
    if not cpu_backends.compiler_available():
        pytest.skip("no C++ compiler for inductor")
    if os.environ.get("ULTRAIS_SLOW_TESTS") != "1":
        pytest.skip("compiling takes minutes on 2 cores; set ULTRAIS_SLOW_TESTS=1")
    multiple = tiny_model.config.size_multiple
    x = torch.rand(1, 3, 2 * multiple, 2 * multiple) * 0.2
    context = torch.zeros(1, 7)
    compiled = cpu_backends.compile_model(tiny_model)
    with torch.inference_mode():
        expected = tiny_model(x, context)
        got = compiled(x, context)
    assert cpu_backends.max_abs_diff(got, expected) <= 1 / 255
