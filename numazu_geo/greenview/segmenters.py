"""Segmentation backends behind one small protocol.

A :class:`Segmenter` turns RGB images into class maps and says which classes are vegetation, sky and
building. Three backends ship:

* :class:`TorchSegmenter` - the project's own CamVid-trained network (``models/``), the default;
  uses a CUDA GPU automatically when PyTorch sees one.
* :class:`HFSegmenter` - a Hugging Face ``transformers`` semantic-segmentation checkpoint (SegFormer,
  Mask2Former, ...) from a local folder, with Cityscapes / ADE20K labels mapped to the three groups.
  Needs ``pip install numazu-geo[hf]``.
* :class:`ExGSegmenter` - the excess-green colour index with Otsu threshold of MIT Treepedia
  (Li et al. 2015), the baseline the literature compares against.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

from numazu_geo.errors import ModelError

logger = logging.getLogger(__name__)


@runtime_checkable
class Segmenter(Protocol):
    """What :func:`numazu_geo.green_view_index` needs from a segmentation backend.

    ``segment`` takes a list of ``(H, W, 3)`` uint8 RGB arrays (sizes may differ) and returns one
    integer class map of the same ``(H, W)`` per image. ``classes`` names the class ids;
    ``vegetation_ids``, ``sky_ids`` and ``building_ids`` say which ids count as each (an empty
    tuple means "this backend cannot tell", and the share is reported as NaN). ``licence`` states
    the terms of the weights behind the results (e.g. ``"CC BY-NC 4.0"``); it travels into the
    ``attrs`` of survey tables so that nobody publishes non-commercial results by accident.
    """

    name: str
    licence: str
    classes: Sequence[str]
    vegetation_ids: tuple[int, ...]
    sky_ids: tuple[int, ...]
    building_ids: tuple[int, ...]

    def segment(self, images: Sequence[np.ndarray]) -> list[np.ndarray]: ...


# ------------------------------------------------------------------------------------ shipped model
def default_device() -> str:
    """``"cuda"`` when PyTorch sees a GPU, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


#: Network input pixels per forward pass on the CPU. Small batches keep the activations in cache: with the
#: 18 views of a panorama, one view per pass at 360 x 480 took 1.0 s and all 18 at once 2.1 s; at
#: 192 x 256, three per pass 0.31 s and 18 at once 0.57 s (2 cores, `benchmarks/bench_greenview.py`).
CPU_BATCH_PIXELS = 150_000
#: Smallest network input side (px): the backbone's output stride is 32.
MIN_INPUT_PX = 32


class TorchSegmenter:
    """The project's own network (default: the shipped CamVid model in ``models/``).

    Parameters
    ----------
    weights : model name or path of a ``.safetensors`` file (its ``.json`` metadata must sit beside it).
    device : ``"cpu"``, ``"cuda"``... (default: CUDA when available).
    batch_size : images per forward pass (default: on the CPU, as many as fit :data:`CPU_BATCH_PIXELS`;
        elsewhere 32).
    tta : also run the horizontally flipped image and average the scores (2x slower, a little more accurate).
    threads : CPU threads for PyTorch (default: leave PyTorch's setting).
    input_size : ``(H, W)`` pixel budget of the network per image (default: the model's ``input_size``);
        smaller is faster and coarser (the model card gives figures for both settings).
    calibrated : add the vegetation logit offset chosen on held-out frames (metadata ``calibration``;
        the one fitted at ``input_size`` when the metadata has one, see
        :func:`numazu_geo.greenview.calibration.logit_offsets_for`) before the arg-max (default True;
        False gives the raw arg-max).
    """

    def __init__(self, weights: str | os.PathLike | None = None, *, device: str | None = None, batch_size: int | None = None,
                 tta: bool = False, threads: int | None = None, input_size: tuple[int, int] | None = None,
                 calibrated: bool = True):
        import torch

        from numazu_geo.greenview.calibration import logit_offsets_for
        from numazu_geo.greenview.model import fold_batchnorm, load_network

        if threads:
            torch.set_num_threads(int(threads))
        self.device = device or default_device()
        self.net, self.meta = load_network(weights, device=self.device)
        self.net = fold_batchnorm(self.net).to(memory_format=torch.channels_last)
        self.name = f"model:{self.meta.get('name', 'custom')}"
        self.classes = tuple(self.meta["classes"])
        self.vegetation_ids = tuple(int(i) for i in self.meta["vegetation_classes"])
        self.sky_ids = tuple(int(i) for i in self.meta.get("sky_classes", ()))
        self.building_ids = tuple(int(i) for i in self.meta.get("building_classes", ()))
        self.input_size = tuple(int(v) for v in (input_size or self.meta["input_size"]))
        if len(self.input_size) != 2 or min(self.input_size) < MIN_INPUT_PX:
            raise ValueError(f"input_size {input_size!r}: give (height, width), each at least {MIN_INPUT_PX} px "
                             f"(the model's own is {tuple(self.meta['input_size'])})")
        self.batch_size = int(batch_size) if batch_size else None
        self.tta = bool(tta)
        offsets = logit_offsets_for(self.meta, self.input_size) if calibrated else {}
        self.logit_offsets = {k: v for k, v in offsets.items() if v != 0.0}
        self._mean = torch.tensor(self.meta["mean"], dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(self.meta["std"], dtype=torch.float32, device=self.device).view(1, 3, 1, 1)

    @property
    def licence(self) -> str:
        return str(self.meta.get("licence", "unknown"))

    def network_size(self, shape: tuple[int, int]) -> tuple[int, int]:
        """Size the network sees for an image of ``shape``: about the training input area, aspect kept."""
        h, w = shape
        area = self.input_size[0] * self.input_size[1]
        s = (area / float(h * w)) ** 0.5
        return max(MIN_INPUT_PX, int(round(h * s / 8)) * 8), max(MIN_INPUT_PX, int(round(w * s / 8)) * 8)

    def segment(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        import torch
        import torch.nn.functional as F

        out: list[np.ndarray | None] = [None] * len(images)
        groups: dict[tuple[int, int], list[int]] = {}
        for i, im in enumerate(images):
            groups.setdefault(tuple(im.shape[:2]), []).append(i)
        with torch.inference_mode():
            for shape, idx in groups.items():
                net_hw = self.network_size(shape)
                step = self.batch_size or (max(1, CPU_BATCH_PIXELS // (net_hw[0] * net_hw[1]))
                                           if self.device == "cpu" else 32)
                for s in range(0, len(idx), step):
                    chunk = idx[s:s + step]
                    arr = np.stack([_as_rgb_uint8(images[i]) for i in chunk])
                    x = torch.from_numpy(arr).to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
                    if tuple(x.shape[-2:]) != net_hw:
                        x = F.interpolate(x, size=net_hw, mode="bilinear", align_corners=False,
                                          antialias=x.shape[-1] > net_hw[1])
                    x = ((x - self._mean) / self._std).contiguous(memory_format=torch.channels_last)
                    logits = self.net(x)["out"]
                    if self.tta:
                        logits = (logits + self.net(x.flip(-1))["out"].flip(-1)) * 0.5
                    for c, off in self.logit_offsets.items():
                        logits[:, c] += off
                    small = shape[0] * shape[1] <= 4 * net_hw[0] * net_hw[1]
                    if small and tuple(logits.shape[-2:]) != shape:
                        logits = F.interpolate(logits, size=shape, mode="bilinear", align_corners=False)
                    lab = logits.argmax(1).to(torch.uint8).cpu().numpy()
                    for j, i in enumerate(chunk):
                        m = lab[j]
                        if m.shape != shape:
                            import cv2

                            m = cv2.resize(m, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
                        out[i] = m
        return out  # type: ignore[return-value]


def _as_rgb_uint8(im: np.ndarray) -> np.ndarray:
    im = np.asarray(im)
    if im.ndim != 3 or im.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {im.shape}")
    if im.dtype != np.uint8:
        im = np.clip(im, 0, 255).astype(np.uint8)
    return im


# ---------------------------------------------------------------------------------- ExG baseline
#: Treepedia colour rules (Li et al. 2015; MIT Treepedia public code), channels scaled to 0..1:
#: ExG = (G - R) + (G - B); Otsu threshold clamped to 0.05..0.10; a green pixel must also have
#: R < 0.6, G < 0.9, B < 0.6; dark pixels (all channels < 0.3) count when ExG > 0.05.
EXG_THRESHOLD_MIN = 0.05
EXG_THRESHOLD_MAX = 0.10
EXG_COLOUR_LIMITS = (0.6, 0.9, 0.6)
EXG_DARK_LIMIT = 0.3
EXG_DARK_THRESHOLD = 0.05
#: Mean-shift filter parameters of the Treepedia code (spatial radius 6 px, colour radius 7).
EXG_MEANSHIFT_SPATIAL = 6
EXG_MEANSHIFT_RANGE = 7


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's (1979) threshold maximising the between-class variance of ``values`` (float array)."""
    v = np.asarray(values, np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0 or v.min() == v.max():
        return float(v.min()) if v.size else 0.0
    hist, edges = np.histogram(v, bins=bins)
    centres = 0.5 * (edges[:-1] + edges[1:])
    p = hist / hist.sum()
    w0 = np.cumsum(p)
    mu = np.cumsum(p * centres)
    mu_t = mu[-1]
    w1 = 1.0 - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu_t * w0 - mu) ** 2 / (w0 * w1)
    between[~np.isfinite(between)] = -1.0
    k = int(np.argmax(between))
    return float(edges[k + 1])


def exg_vegetation_mask(rgb: np.ndarray, *, mean_shift: bool = True) -> np.ndarray:
    """Boolean vegetation mask by the Treepedia excess-green rules (see the ``EXG_*`` constants)."""
    import cv2

    rgb = _as_rgb_uint8(rgb)
    if mean_shift:
        rgb = cv2.pyrMeanShiftFiltering(np.ascontiguousarray(rgb), EXG_MEANSHIFT_SPATIAL, EXG_MEANSHIFT_RANGE)
    x = rgb.astype(np.float32) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    exg = (g - r) + (g - b)
    thr = min(max(otsu_threshold(exg), EXG_THRESHOLD_MIN), EXG_THRESHOLD_MAX)
    lr, lg, lb = EXG_COLOUR_LIMITS
    bright = (exg > thr) & (r < lr) & (g < lg) & (b < lb)
    dark = (r < EXG_DARK_LIMIT) & (g < EXG_DARK_LIMIT) & (b < EXG_DARK_LIMIT) & (exg > EXG_DARK_THRESHOLD)
    return bright | dark


class ExGSegmenter:
    """Treepedia's excess-green colour baseline as a :class:`Segmenter` (classes: other, vegetation)."""

    name = "exg"
    licence = "none (colour rule, no trained weights)"
    classes = ("other", "vegetation")
    vegetation_ids = (1,)
    sky_ids: tuple[int, ...] = ()
    building_ids: tuple[int, ...] = ()

    def __init__(self, *, mean_shift: bool = True):
        self.mean_shift = bool(mean_shift)

    def segment(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [exg_vegetation_mask(im, mean_shift=self.mean_shift).astype(np.uint8) for im in images]


# ------------------------------------------------------------------------------- Hugging Face backend
#: Cityscapes train ids (Cordts et al. 2016): building 2, vegetation 8, terrain 9, sky 10.
#: Terrain (grass, soil, sand) counts as vegetation, as green-view studies usually count lawns.
CITYSCAPES_GROUPS = {"vegetation": (8, 9), "sky": (10,), "building": (2,)}
#: ADE20K 150-class ids, 0-based (Zhou et al. 2017): building 1, sky 2, tree 4, grass 9, plant 17,
#: house 25, skyscraper 48, palm 72.
ADE20K_GROUPS = {"vegetation": (4, 9, 17, 72), "sky": (2,), "building": (1, 25, 48)}

_GROUP_PATTERNS = {
    "vegetation": r"\b(vegetation|terrain|tree|trees|grass|plant|plants|palm|flora|bush|shrub|hedge|flower)\b",
    "sky": r"\bsky\b",
    "building": r"\b(building|buildings|house|skyscraper|edifice)\b",
}


def map_label_groups(id2label: Mapping[int | str, str]) -> dict[str, tuple[int, ...]]:
    """Map a checkpoint's ``id2label`` to vegetation / sky / building class ids.

    Known label sets (Cityscapes 19 classes, ADE20K 150) use the fixed tables above; other label sets
    are matched by name (``tree``, ``grass``, ``vegetation``... ; ``sky`` ; ``building``, ``house``...).
    """
    labels = {int(k): str(v) for k, v in id2label.items()}
    names = [labels[k].lower().replace("_", " ").replace("-", " ") for k in sorted(labels)]
    n = len(labels)
    if n == 19 and names[8] == "vegetation" and names[10] == "sky" and names[2] == "building":
        return dict(CITYSCAPES_GROUPS)
    if n == 150 and names[4].startswith("tree") and names[2] == "sky" and names[1].startswith("building"):
        return dict(ADE20K_GROUPS)
    out: dict[str, tuple[int, ...]] = {}
    for group, pat in _GROUP_PATTERNS.items():
        out[group] = tuple(k for k in sorted(labels) if re.search(pat, labels[k].lower().replace("_", " ")))
    if not out["vegetation"]:
        raise ModelError(f"no vegetation class found among the checkpoint's {n} labels ({', '.join(names[:20])}...)")
    return out


class HFSegmenter:
    """A ``transformers`` semantic-segmentation checkpoint from a local folder (SegFormer, Mask2Former...).

    Needs the optional dependency: ``pip install numazu-geo[hf]``. Nothing is downloaded: the folder
    must hold the model's ``config.json``, weights and preprocessor config.
    """

    def __init__(self, path: str | os.PathLike, *, device: str | None = None, batch_size: int = 4):
        path = Path(path)
        if not path.is_dir():
            raise ModelError(f"{path}: not a folder holding a transformers checkpoint (config.json, weights)")
        transformers = import_transformers()
        self.device = device or default_device()
        self.processor = transformers.AutoImageProcessor.from_pretrained(str(path), local_files_only=True)
        model = None
        errors = []
        for cls_name in ("AutoModelForSemanticSegmentation", "AutoModelForUniversalSegmentation"):
            cls = getattr(transformers, cls_name, None)
            if cls is None:
                continue
            try:
                model = cls.from_pretrained(str(path), local_files_only=True)
                break
            except (ValueError, OSError, KeyError) as exc:
                errors.append(f"{cls_name}: {exc}")
        if model is None:
            raise ModelError(f"{path}: cannot load a segmentation model ({'; '.join(errors)})")
        self.model = model.to(self.device).eval()
        id2label = getattr(model.config, "id2label", None) or {}
        groups = map_label_groups(id2label)
        self.name = f"hf:{path.name}"
        self.classes = tuple(str(id2label[k]) for k in sorted(id2label, key=int))
        self.vegetation_ids = groups["vegetation"]
        self.sky_ids = groups["sky"]
        self.building_ids = groups["building"]
        self.batch_size = int(batch_size)
        self.licence = checkpoint_licence(path)

    def segment(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        import torch

        out = []
        for s in range(0, len(images), self.batch_size):
            chunk = [_as_rgb_uint8(im) for im in images[s:s + self.batch_size]]
            inputs = self.processor(images=chunk, return_tensors="pt").to(self.device)
            with torch.inference_mode():
                outputs = self.model(**inputs)
            maps = self.processor.post_process_semantic_segmentation(
                outputs, target_sizes=[im.shape[:2] for im in chunk])
            out += [m.cpu().numpy().astype(np.int32) for m in maps]
        return out


def import_transformers():
    """Import ``transformers`` or raise a :class:`ModelError` saying how to install it."""
    try:
        import transformers  # noqa: F401
    except ImportError as exc:
        raise ModelError(
            "the Hugging Face backend needs the optional 'transformers' package: pip install numazu-geo[hf]"
        ) from exc
    return transformers


def checkpoint_licence(path: str | os.PathLike) -> str:
    """The ``license:`` of a Hugging Face checkpoint folder's model card (README.md front matter), or
    ``"unknown (see the checkpoint's model card)"``."""
    card = Path(path) / "README.md"
    if card.is_file():
        m = re.search(r"^license:\s*(\S.*)$", card.read_text(encoding="utf-8", errors="replace"), re.MULTILINE)
        if m:
            return m.group(1).strip().strip("'\"")
    return "unknown (see the checkpoint's model card)"


# ------------------------------------------------------------------------------------------ choose
_DEFAULT_CACHE: dict[tuple, TorchSegmenter] = {}


def load_default_segmenter(*, device: str | None = None, tta: bool = False) -> TorchSegmenter:
    """The default shipped CamVid model, loaded once per process (and per device / TTA setting)."""
    key = (device or default_device(), bool(tta))
    seg = _DEFAULT_CACHE.get(key)
    if seg is None:
        seg = _DEFAULT_CACHE[key] = TorchSegmenter(device=key[0], tta=tta)
    return seg


@dataclass(frozen=True)
class SegmenterBackend:
    """One entry of :data:`SEGMENTER_BACKENDS`: ``factory(argument)`` builds the segmenter; ``argument``
    is what follows ``"<name>:"`` in a segmenter spec (None for the bare name)."""

    name: str
    factory: Callable[[str | None], Segmenter]
    description: str
    argument: str = ""  # what the argument means ("" = takes none)


def _model_backend(arg: str | None) -> Segmenter:
    return load_default_segmenter() if arg in (None, "", "default") else TorchSegmenter(arg)


def _exg_backend(arg: str | None) -> Segmenter:
    if arg:
        raise ModelError(f"exg:{arg}: the ExG colour baseline takes no argument")
    return ExGSegmenter()


def _hf_backend(arg: str | None) -> Segmenter:
    if not arg:
        raise ModelError("hf: needs a folder, e.g. hf:/path/to/segformer-checkpoint")
    return HFSegmenter(arg)


#: The one registry of segmentation backends: ``get_segmenter``, the CLI's ``--method`` choices and
#: ``numazu_geo.greenview.evaluate`` all read it. Add a backend with :func:`register_segmenter`.
SEGMENTER_BACKENDS: dict[str, SegmenterBackend] = {}


def register_segmenter(name: str, factory: Callable[[str | None], Segmenter], description: str, *,
                       argument: str = "") -> None:
    """Add (or replace) a backend; ``get_segmenter("<name>")`` / ``"<name>:<argument>"`` then builds it."""
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
        raise ValueError(f"backend name {name!r}: use lower-case letters, digits, '-' or '_'")
    SEGMENTER_BACKENDS[name] = SegmenterBackend(name, factory, description, argument)


register_segmenter("model", _model_backend, "the project's own network (default: the shipped default model)",
                   argument="a shipped model name (see models/) or a .safetensors path")
register_segmenter("exg", _exg_backend, "Treepedia's excess-green colour index (Li et al. 2015), the baseline")
register_segmenter("hf", _hf_backend, "a local Hugging Face transformers checkpoint (pip install numazu-geo[hf])",
                   argument="a checkpoint folder")


def segmenter_names() -> tuple[str, ...]:
    """Names of the registered backends (the CLI's ``--method`` choices)."""
    return tuple(SEGMENTER_BACKENDS)


def shipped_models() -> tuple[str, ...]:
    """Names of the models in ``models/`` (each loadable as ``"model:<name>"`` or by its name)."""
    from numazu_geo.paths import models_dir

    d = models_dir()
    return tuple(sorted(p.stem for p in d.glob("*.safetensors") if p.with_suffix(".json").is_file()))


def get_segmenter(segmenter=None, *, method: str | None = None) -> Segmenter:
    """Resolve ``segmenter`` / ``method`` arguments to a :class:`Segmenter` through :data:`SEGMENTER_BACKENDS`.

    ``segmenter`` may be a Segmenter instance, ``None`` (the default model), a backend name (``"model"``,
    ``"exg"``...), ``"<backend>:<argument>"`` (``"model:greenview_lraspp_mnv3_camvid"``, ``"hf:/path"``),
    the name of a shipped model, a ``.safetensors`` path, or a folder holding a transformers checkpoint.
    ``method`` names a backend when ``segmenter`` is None.
    """
    if segmenter is not None and not isinstance(segmenter, (str, os.PathLike)):
        if not isinstance(segmenter, Segmenter):
            missing = [a for a in ("name", "licence", "classes", "vegetation_ids", "sky_ids", "building_ids",
                                   "segment") if not hasattr(segmenter, a)]
            raise TypeError(f"segmenter must implement the Segmenter protocol, got {type(segmenter).__name__}"
                            + (f" (missing: {', '.join(missing)})" if missing else ""))
        return segmenter
    choice = method if segmenter is None else segmenter
    if choice is None:
        return load_default_segmenter()
    text = os.fspath(choice)
    if text == "default":
        text = "model"
    backend, sep, arg = text.partition(":")
    if backend in SEGMENTER_BACKENDS and (sep or not Path(text).exists()):
        return SEGMENTER_BACKENDS[backend].factory(arg if sep else None)
    p = Path(text)
    if p.suffix == ".safetensors" or text in shipped_models():
        return TorchSegmenter(p if p.suffix == ".safetensors" else text)
    if p.is_dir():
        return HFSegmenter(p)
    raise ModelError(f"{choice}: unknown segmenter (backends: {', '.join(SEGMENTER_BACKENDS)}; shipped models: "
                     f"{', '.join(shipped_models()) or 'none'}; or a .safetensors file or a transformers folder)")
