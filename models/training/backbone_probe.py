"""Would a wider backbone help? A frozen-feature (linear probe) comparison.

The only float ImageNet MobileNetV2 here is width 0.35. Width 1.0 exists only as Google's
uint8 ImageNet .tflite, which cannot be fine-tuned as it is. Before dequantising it into a
trainable network (and paying ~5x the inference time on a Pi), this measures what its frozen
features are worth against 0.35's on the same images: the pooled 1280 features of each
network, a softmax layer on top, trained on the same images the head phase of train.py uses
(one in four Kaggle train images, whole cells held out; all of pbc-wbc4/train), no
augmentation. Prints accuracy on pbc-wbc4/val, the Kaggle cell hold-out and kaggle-wbc4/test,
and writes results/backbone_probe.json.

    python3 models/training/backbone_probe.py --data ../shared/datasets
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train  # noqa: E402
from common import list_labelled, quiet_tensorflow  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "backbone_probe.json"
WIDE = "imagenet-mobilenet-v2/mobilenet_v2_1.0_224_quant.tflite"
POOL = "MobilenetV2/Logits/AvgPool"


def features_wide(model: Path, images: np.ndarray, threads: int) -> np.ndarray:
    """Pooled features of the uint8 width-1.0 network (its input is the 0-255 picture)."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(model), num_threads=threads,
                     experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    pool = next(t for t in it.get_tensor_details() if t["name"] == POOL)
    scale, zero = pool["quantization"]
    inp = it.get_input_details()[0]["index"]
    out = np.zeros((len(images), int(pool["shape"][-1])), np.float32)
    for i, x in enumerate(images):
        it.set_tensor(inp, x[None])
        it.invoke()
        out[i] = (it.get_tensor(pool["index"]).reshape(-1).astype(np.float32) - zero) * scale
    return out


def features_narrow(weights: Path, images: np.ndarray) -> np.ndarray:
    """Pooled features of the float width-0.35 network train.py starts from."""
    import keras

    base = keras.applications.MobileNetV2(input_shape=images.shape[1:], alpha=0.35,
                                          include_top=False, pooling="avg", weights=str(weights))
    return base.predict((images.astype(np.float32) - train.MEAN) / train.STD, batch_size=64, verbose=0)


def probe(feats: dict[str, np.ndarray], labels: dict[str, np.ndarray], weights: np.ndarray,
          seed: int) -> dict[str, float]:
    """A softmax layer on standardised features; accuracy on every set but train."""
    import keras

    mu = feats["train"].mean(0)
    sd = feats["train"].std(0) + 1e-6
    keras.utils.set_random_seed(seed)
    head = keras.Sequential([
        keras.Input((feats["train"].shape[1],)),
        keras.layers.Dense(len(train.CLASSES), activation="softmax",
                           kernel_regularizer=keras.regularizers.l2(1e-3)),
    ])
    head.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    head.fit((feats["train"] - mu) / sd, labels["train"], sample_weight=weights, epochs=60,
             batch_size=256, verbose=0)
    return {k: float((head.predict((f - mu) / sd, verbose=0).argmax(1) == labels[k]).mean())
            for k, f in feats.items() if k != "train"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="datasets root (../shared/datasets)")
    ap.add_argument("--cache", type=Path, default=Path(__file__).resolve().parent / ".cache")
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    quiet_tensorflow()
    weights_dir = args.data.parent / "weights"
    size = 224

    kaggle, hold, _, _ = train.split_kaggle(list_labelled(args.data / "kaggle-wbc4" / "train"),
                                             0.1, args.seed, args.threads)
    parts = {
        "kaggle_train": kaggle[::4],
        "pbc_train": list_labelled(args.data / "pbc-wbc4" / "train"),
        "pbc_val": list_labelled(args.data / "pbc-wbc4" / "val"),
        "kaggle_holdout": hold,
        "kaggle_test": list_labelled(args.data / "kaggle-wbc4" / "test"),
    }
    images = {k: train.load_images(v, [size], args.cache, f"probe-{k}", args.threads)[size]
              for k, v in parts.items()}
    labels = {k: np.array([lbl for _, lbl in v], np.int32) for k, v in parts.items()}
    images["train"] = np.concatenate([images.pop("kaggle_train"), images.pop("pbc_train")])
    labels["train"] = np.concatenate([labels.pop("kaggle_train"), labels.pop("pbc_train")])
    source = np.array([0] * len(parts["kaggle_train"]) + [1] * len(parts["pbc_train"]), np.int32)
    weights = train.balanced_weights(labels["train"], source)

    report: dict = {"images": {k: int(len(v)) for k, v in labels.items()}, "backbones": {}}
    backbones = {
        "MobileNetV2 0.35, float (train.py's start)":
            lambda x: features_narrow(weights_dir / train.WEIGHTS_NAME, x),
        "MobileNetV2 1.0, uint8 ImageNet .tflite": lambda x: features_wide(weights_dir / WIDE, x, args.threads),
    }
    for name, extract in backbones.items():
        t0 = time.time()
        feats = {k: extract(v) for k, v in images.items()}
        acc = probe(feats, labels, weights, args.seed)
        report["backbones"][name] = {"accuracy": acc, "features_s": round(time.time() - t0, 1)}
        print(f"{name}: " + ", ".join(f"{k} {v * 100:.2f}%" for k, v in acc.items()), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
