"""The training script's parts: networks, augmentation, ClassMix, and a two-step run on real frames."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import require_shared
from numazu_geo.errors import ModelError
from numazu_geo.greenview import model as gm
from numazu_geo.greenview import train


@pytest.mark.parametrize("arch", gm.ARCHITECTURES)
def test_networks_return_logits_at_input_size(arch):
    torch.manual_seed(0)
    net = gm.build_network(11, arch).eval()
    with torch.no_grad():
        out = net(torch.rand(1, 3, 120, 168))["out"]
    assert out.shape == (1, 11, 120, 168)
    assert torch.isfinite(out).all()


def test_unknown_architecture_is_refused():
    with pytest.raises(ModelError, match="unknown architecture"):
        gm.build_network(11, "resnet9000")


def _toy_batch():
    # frame 0: left half class 3, right half class 5; frame 1: top half class 0, bottom half class 1
    y = torch.full((2, 8, 12), 3, dtype=torch.long)
    y[0, :, 6:] = 5
    y[1, :4] = 0
    y[1, 4:] = 1
    x = torch.zeros(2, 3, 8, 12)
    x[1] = 1.0  # frame 1 is white, frame 0 black: pasted pixels are easy to find
    return x, y


def test_classmix_pastes_image_and_label_together():
    x, y = _toy_batch()
    gen = torch.Generator().manual_seed(0)
    mx, my = train.classmix(x.clone(), y.clone(), gen, p=1.0, ignore_index=11)
    pasted = mx[0, 0] == 1.0  # pixels of frame 0 that now come from frame 1
    assert 0 < pasted.sum() < pasted.numel()  # half of frame 1's two classes: one of them
    assert set(my[0][pasted].unique().tolist()) <= {0, 1}  # labels travel with the pixels
    assert torch.equal(my[0][~pasted], y[0][~pasted])  # the rest is untouched
    # frame 1 receives from frame 0 (the original, not the already-mixed copy)
    assert set(my[1][mx[1, 0] == 0.0].unique().tolist()) <= {3, 5}
    # same seed, same mix; p=0 leaves the batch alone
    rx, ry = train.classmix(x.clone(), y.clone(), torch.Generator().manual_seed(0), p=1.0, ignore_index=11)
    assert torch.equal(rx, mx) and torch.equal(ry, my)
    nx, ny = train.classmix(x.clone(), y.clone(), gen, p=0.0, ignore_index=11)
    assert torch.equal(nx, x) and torch.equal(ny, y)


def test_augment_batch_keeps_labels_valid():
    gen = torch.Generator().manual_seed(1)
    imgs = torch.randint(0, 255, (3, 3, 36, 48), dtype=torch.uint8)
    labs = torch.randint(0, 12, (3, 36, 48), dtype=torch.uint8)
    x, y = train.augment_batch(imgs, labs, gen, crop_hw=(24, 32), scale_range=(0.5, 1.0), ignore_index=11)
    assert x.shape == (3, 3, 24, 32) and y.shape == (3, 24, 32)
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert set(y.unique().tolist()) <= set(range(12))  # nearest-neighbour labels, padding = ignore


def test_training_refuses_the_test_split(tmp_path):
    with pytest.raises(SystemExit, match="test split"):
        train.main(["--data", str(tmp_path), "--splits", "train,test", "--out", str(tmp_path)])


def test_two_training_steps_on_real_frames_write_loadable_weights(tmp_path):
    camvid = require_shared("data", "camvid")
    rc = train.main(["--data", str(camvid), "--out", str(tmp_path), "--name", "tiny", "--splits", "train",
                     "--architecture", gm.ARCHITECTURE_S4, "--eval-split", "", "--limit", "16", "--epochs", "1",
                     "--max-steps", "2",
                     "--crop", "96", "128", "--input-size", "96", "128", "--bn-images", "8", "--classmix", "0.5"])
    assert rc == 0
    meta = json.loads((tmp_path / "tiny.json").read_text(encoding="utf-8"))
    assert meta["architecture"] == gm.ARCHITECTURE_S4 and meta["training"]["steps_done"] == 2
    assert meta["training"]["stopped_early"] is True  # --max-steps stopped it, and it says so
    assert "ClassMix p=0.5" in meta["training"]["augmentation"]
    net, loaded = gm.load_network(tmp_path / "tiny.safetensors")
    assert loaded["input_size"] == [96, 128]
    with torch.no_grad():
        out = net(torch.rand(1, 3, 96, 128))["out"]
    assert out.shape == (1, 11, 96, 128) and np.isfinite(out.numpy()).all()


def test_hold_out_a_sequence_for_pilot_runs(tmp_path):
    camvid = require_shared("data", "camvid")
    rc = train.main(["--data", str(camvid), "--out", str(tmp_path), "--name", "pilot", "--splits", "train",
                     "--hold-out", "0001TP", "--epochs", "1", "--max-steps", "1", "--crop", "96", "128",
                     "--input-size", "96", "128", "--bn-images", "8"])
    assert rc == 0
    meta = json.loads((tmp_path / "pilot.json").read_text(encoding="utf-8"))
    assert meta["training_data"]["images"] == 367 - 62  # the 62 frames of 0001TP in CamVid train
    scored = meta["metrics"]["hold_0001TP_heldout"]
    assert 0.0 <= scored["tree_iou"] <= 1.0 and len(scored["per_class_iou"]) == 11
    with pytest.raises(SystemExit, match="some but not all"):
        train.main(["--data", str(camvid), "--out", str(tmp_path), "--splits", "train", "--hold-out", "NOPE"])
