"""Train, export and validate the HematoVision white-cell classifier (MobileNetV2 alpha 0.35).

One command, from the project root:

    python3 models/training/train.py --data ../shared/datasets --out models/

Stages (wall time of each is recorded in metadata.json):
 1. load every training/validation image once through the preprocessing contract
    (decode RGB -> centre square -> bilinear resize) at each candidate input size;
 2. per candidate size: cache frozen-backbone features (clean + augmented copies),
    train the softmax head on them, measure pbc-wbc4/val accuracy and LiteRT latency;
 3. choose the input size (rule in choose_size) and export the head-only model;
 4. fine-tune the upper blocks at a low learning rate with on-line augmentation (half the
    PBC images also get the Kaggle camera's look, augment.camera_look), keeping the epoch
    with the best pbc-wbc4/val accuracy;
 5. export float32 + full-integer int8 .tflite, labels.txt, metadata.json, and
    evaluate both with the LiteRT interpreter (evaluate.py).

Training data: kaggle-wbc4/train (minus a hold-out grouped by original cell) + pbc-wbc4/train
+ pbc-extra/train (BASOPHIL, ERYTHROBLAST, IG; since 2.0).
Selection: the mean accuracy over pbc-wbc4/val, pbc-extra/val and the Kaggle cell hold-out
(selection_score; none of them is trained on). jtsc-wbc4 and cvblog-wbc4 are never read here.
Since 2.0 every picture's background is normalised first (illumination.py, --illumination), and
the exported model has a second output, the pooled embedding, with the head's weights in head.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    CLASSES,
    EXTRA,
    FOUR,
    MEAN,
    STD,
    WEIGHTS_NAME,
    contract_preprocess,
    list_labelled,
    load_square_rgb,
    model_digests,
    quiet_tensorflow,
)

quiet_tensorflow()
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

import augment  # noqa: E402
from averaging import WeightAverager, keep_average  # noqa: E402
import evaluate  # noqa: E402
import illumination  # noqa: E402
import twins  # noqa: E402

# The file names stay those of 1.x (the configuration and the Debian package name them);
# the model inside has seven classes since 2.0.
MODEL_NAME = "hematovision-wbc4"
META_NAME = "hematovision-wbc7"
MODEL_VERSION = "2.0.0"
HEAD_FILE = "head.json"
ARCHITECTURE = "MobileNetV2 alpha=0.35"
# A cell on a slide has no "up" and training turns and mirrors every image, so the daemon
# averages each cell over its 8 turns and mirrors (metadata "views"; the config can lower it).
VIEWS = 8
SOURCES = ("kaggle", "pbc")
FEATURE_CACHE = {"hits": 0, "misses": 0}  # feature_s in the sweep is near zero on a hit
ILLUM = {"on": True}  # set from --illumination: augmented pictures are re-normalised after augmentation


def after_augment(x: tf.Tensor) -> tf.Tensor:
    """An augmented picture (float 0..255) as the daemon would see it: background normalised again
    (the cached pictures were normalised exactly; augmentation moves their background)."""
    return illumination.normalise_tf(x) if ILLUM["on"] else x


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ----------------------------------------------------------------------------- data


def split_kaggle(items, holdout_fraction: float, seed: int, threads: int):
    """Split kaggle-wbc4/train by original cell so augmented twins never straddle the split.

    The cells are found by appearance (twins.py): the file names do not identify them.
    """
    groups, held = twins.held_out_cells(items, holdout_fraction, seed, threads)
    train = [it for k, idx in groups.items() if k not in held for it in (items[i] for i in idx)]
    hold = [it for k, idx in groups.items() if k in held for it in (items[i] for i in idx)]
    train.sort(key=lambda t: str(t[0]))
    hold.sort(key=lambda t: str(t[0]))
    originals = {c: sum(1 for k in groups if k.startswith(c + ":")) for c in CLASSES}
    held_per_class = {c: sum(1 for k in held if k.startswith(c + ":")) for c in CLASSES}
    return train, hold, originals, held_per_class


def load_images(items, sizes: list[int], cache_dir: Path, name: str, threads: int,
                illum: bool = False) -> dict[int, np.ndarray]:
    """Contract-preprocessed (not yet normalised) images, rounded to uint8, per size; cached on disk.

    With `illum` the background is normalised first (illumination.normalise, whole picture).
    """
    key = hashlib.sha1(("\n".join(str(p) for p, _ in items) + f"|illum={illum}").encode()).hexdigest()[:10]
    paths = {s: cache_dir / f"{name}-{s}-{key}.npy" for s in sizes}
    missing = [s for s in sizes if not paths[s].exists()]
    if missing:
        t0 = time.time()
        out = {s: np.zeros((len(items), s, s, 3), np.uint8) for s in missing}

        def work(i: int) -> None:
            sq = tf.convert_to_tensor(load_square_rgb(items[i][0], illum), tf.float32)
            for s in missing:
                y = tf.image.resize(sq, (s, s), method="bilinear", antialias=False)
                out[s][i] = np.clip(np.round(y.numpy()), 0, 255).astype(np.uint8)

        with ThreadPoolExecutor(threads) as ex:
            list(ex.map(work, range(len(items))))
        cache_dir.mkdir(parents=True, exist_ok=True)
        for s in missing:
            np.save(paths[s], out[s])
        log(f"loaded {name}: {len(items)} images at sizes {missing} in {time.time() - t0:.0f}s")
    return {s: np.load(paths[s]) for s in sizes}


def kaggle_look_stats(images: np.ndarray, space: str = "rgb") -> np.ndarray:
    """Per-image mean and std of the Kaggle images in colour space `space` (augment.LOOK_COLOUR_SPACES),
    for the camera look given to PBC images.

    Pixels whose R+G+B is 90 or less are left out: they are the black corners that the Kaggle
    set's rotations left, not stain.
    """
    rows = []
    for x in images:
        v = x[x.astype(np.int32).sum(-1) > 90].astype(np.float32)
        v = np.asarray(augment.to_look_space(tf.constant(v), space))
        rows.append(np.concatenate([v.mean(0), v.std(0)]))
    return np.stack(rows).astype(np.float32)


def normalise_u8(x: np.ndarray | tf.Tensor) -> tf.Tensor:
    return (tf.cast(x, tf.float32) - MEAN) / STD


def selection_score(accuracies: dict[str, float | None]) -> float:
    """The number that picks the head epoch and the fine-tune epoch: the mean accuracy over the
    selection sets (pbc-wbc4/val, pbc-extra/val, the Kaggle cell hold-out); a set that is
    missing (None) is left out. Higher is better; the first epoch wins a tie."""
    vals = [v for v in accuracies.values() if v is not None]
    if not vals:
        raise ValueError("no selection set")
    return float(np.mean(vals))


def balanced_weights(labels: np.ndarray, sources: np.ndarray, kaggle_weight: float = 1.0) -> np.ndarray:
    """Sample weights giving every (source, class) cell the same total weight (mean 1).

    With `kaggle_weight` != 1 each kaggle-wbc4 (source 0) class cell weighs that many times a
    pbc-wbc4 one.
    """
    w = np.zeros(len(labels), np.float32)
    cells = {(s, c) for s, c in zip(sources, labels)}
    for s, c in cells:
        m = (sources == s) & (labels == c)
        w[m] = (kaggle_weight if s == 0 else 1.0) / m.sum()
    return w * len(w) / w.sum()


# ----------------------------------------------------------------------------- model


def build_model(size: int, weights: Path, dropout: float) -> tuple[keras.Model, keras.Model]:
    """MobileNetV2 0.35 backbone (no rescaling layer: inputs are already in -1..1) + softmax head."""
    base = keras.applications.MobileNetV2(
        alpha=0.35, include_top=False, weights=str(weights), input_shape=(size, size, 3)
    )
    inp = keras.Input((size, size, 3), name="image")
    x = base(inp, training=False)  # BatchNorm stays in inference mode, also when fine-tuning
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    out = keras.layers.Dense(len(CLASSES), activation="softmax", name="probabilities")(x)
    return keras.Model(inp, out, name=MODEL_NAME), base


def export_model(model: keras.Model) -> keras.Model:
    """The trained network with two outputs: the probabilities, then the pooled embedding the
    head reads (dropout is inactive at inference, so probabilities = softmax(embedding @ W + b))."""
    return keras.Model(model.input, [model.output, model.get_layer("pool").output], name=model.name)


def cached_features(base: keras.Model, images: np.ndarray, copy: int, seed: int, size: int, batch: int,
                    cache_dir: Path, name: str) -> np.ndarray:
    """extract_features, memoised on disk (keyed by images, copy, seed and augmentation settings)."""
    h = hashlib.sha1(images.tobytes())
    h.update(repr((copy, seed, size, augment.describe(), WEIGHTS_NAME, ILLUM["on"])).encode())
    path = cache_dir / f"feat-{name}-{size}-c{copy}-{h.hexdigest()[:10]}.npy"
    if path.exists():
        FEATURE_CACHE["hits"] += 1
        return np.load(path)
    FEATURE_CACHE["misses"] += 1
    t0 = time.time()
    f = extract_features(base, images, copy, seed, size, batch)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, f)
    log(f"features {name} size {size} copy {copy}: {len(images)} images in {time.time() - t0:.0f}s")
    return f


def extract_features(base: keras.Model, images: np.ndarray, copy: int, seed: int, size: int,
                     batch: int) -> np.ndarray:
    """Pooled backbone features; copy 0 = clean image, copy k>0 = k-th augmented copy."""
    pool = keras.layers.GlobalAveragePooling2D()
    feats = []
    for start in range(0, len(images), 1024):  # chunks: never one >2 GB tensor
        chunk = images[start : start + 1024]
        idx = np.arange(start, start + len(chunk), dtype=np.int32)
        ds = tf.data.Dataset.from_tensor_slices((chunk, idx))
        if copy == 0:
            ds = ds.map(lambda im, i: normalise_u8(im))
        else:
            ds = ds.map(
                lambda im, i: (after_augment(augment.augment(im, size, tf.stack([seed + 1000 * copy, i]))) - MEAN) / STD,
                num_parallel_calls=2,
            )
        ds = ds.batch(batch).prefetch(2)
        feats.extend(pool(base(x, training=False)).numpy() for x in ds)
    return np.concatenate(feats).astype(np.float32)


def train_head(head: keras.layers.Layer, dropout: float, feats: np.ndarray, labels: np.ndarray,
               weights: np.ndarray, val_sets: dict[str, tuple[np.ndarray, np.ndarray]], epochs: int,
               lr: float, seed: int) -> tuple[list[dict], int]:
    """Train Dense softmax on cached features; keeps the epoch with the best selection_score over
    `val_sets` (name -> (features, labels))."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((feats.shape[1],))
    m = keras.Model(inp, head(keras.layers.Dropout(dropout)(inp)))
    m.compile(keras.optimizers.Adam(lr), "sparse_categorical_crossentropy", weighted_metrics=["accuracy"])
    best, best_w, best_ep, hist = -1.0, None, 0, []
    for ep in range(epochs):
        m.fit(feats, labels, sample_weight=weights, batch_size=128, epochs=1, shuffle=True, verbose=0)
        accs = {k: float(np.mean(np.argmax(m.predict(f, verbose=0, batch_size=512), 1) == lbl))
                for k, (f, lbl) in val_sets.items()}
        acc = selection_score(accs)
        hist.append({**accs, "score": acc})
        if acc > best:
            best, best_w, best_ep = acc, [w.copy() for w in head.get_weights()], ep + 1
    head.set_weights(best_w)
    return hist, best_ep


def predict_accuracy(model: keras.Model, images: np.ndarray, labels: np.ndarray, batch: int = 64) -> float:
    ds = tf.data.Dataset.from_tensor_slices(images).map(normalise_u8).batch(batch)
    pred = np.concatenate([np.argmax(model(x, training=False).numpy(), 1) for x in ds])
    return float(np.mean(pred == labels))


# ----------------------------------------------------------------------------- export


def convert(model: keras.Model, rep: np.ndarray | None) -> bytes:
    """float32 TFLite (rep None) or full-integer int8 with int8 input/output."""
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if rep is not None:
        conv.optimizations = [tf.lite.Optimize.DEFAULT]

        def gen():
            for x in rep:
                yield [x[None].astype(np.float32)]

        conv.representative_dataset = gen
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    return conv.convert()


def latency_ms(model_bytes: bytes, runs: int) -> dict:
    """Median/p90 single-image invoke latency with 1 LiteRT thread on this machine."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=model_bytes, num_threads=1)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    rng = np.random.default_rng(0)
    if d["dtype"] == np.int8:
        x = rng.integers(-128, 128, d["shape"], dtype=np.int8)
    else:
        x = rng.uniform(-1, 1, d["shape"]).astype(np.float32)
    it.set_tensor(d["index"], x)
    for _ in range(5):
        it.invoke()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        it.invoke()
        ts.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": float(np.median(ts)), "p90_ms": float(np.percentile(ts, 90)), "runs": runs}


def representative(items, size: int, n: int, seed: int) -> np.ndarray:
    """n training images through the exact preprocessing contract, for int8 calibration."""
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(items), size=min(n, len(items)), replace=False)
    return np.stack([contract_preprocess(items[i][0], size, ILLUM["on"]) for i in sorted(pick)])


def limit_per_class(items, n: int | None):
    """The first n items of each class (all when n is None): for smoke runs only."""
    if not n:
        return items
    seen: dict[int, int] = {}
    out = []
    for it in items:
        seen[it[1]] = seen.get(it[1], 0) + 1
        if seen[it[1]] <= n:
            out.append(it)
    return out


def write_bundle(out: Path, model: keras.Model, size: int, rep: np.ndarray, cell_fraction: float,
                 training: dict) -> dict[str, Path]:
    """Write both .tflite files, labels.txt and metadata.json into out/."""
    out.mkdir(parents=True, exist_ok=True)
    f32 = out / f"{MODEL_NAME}-float32.tflite"
    i8 = out / f"{MODEL_NAME}.tflite"
    two = export_model(model)
    f32.write_bytes(convert(two, None))
    i8.write_bytes(convert(two, rep))
    (out / "labels.txt").write_text("\n".join(CLASSES) + "\n")
    head = model.get_layer("probabilities")
    kernel, bias = (np.asarray(w, np.float32) for w in head.get_weights())
    head_path = out / HEAD_FILE
    head_path.write_text(head_json(kernel, bias))
    outputs = output_layout(f32, len(CLASSES), kernel.shape[0])
    if output_layout(i8, len(CLASSES), kernel.shape[0]) != outputs:
        raise RuntimeError("the int8 and float32 models order their outputs differently")
    check = {p.name: head_agreement(p, kernel, bias, rep[:20], outputs) for p in (i8, f32)}
    meta = {
        "name": META_NAME,
        "version": MODEL_VERSION,
        "architecture": ARCHITECTURE,
        "input_size": size,
        "color_order": "RGB",
        "crop": "center_square",
        "resize": "bilinear",
        "normalization": {"mean": MEAN, "std": STD},
        "labels": CLASSES,
        "extra_classes": EXTRA,
        "output": "probabilities",
        "outputs": outputs,
        "head": {"file": HEAD_FILE, "embedding_size": int(kernel.shape[0]), "classes": len(CLASSES),
                 "activation": "softmax", "dtype": "float32",
                 "formula": "probabilities = softmax(embedding @ kernel + bias); kernel[embedding_size][classes]",
                 "max_abs_difference_from_model_output": check},
        "illumination": illumination.describe() if ILLUM["on"] else None,
        "cell_fraction": cell_fraction,
        "views": VIEWS,
        "sha256": model_digests([i8, f32, head_path]),
        "training": training,
        # Pictures are trained as the datasets crop them; framing.py is the shared definition
        # the daemon re-frames crops with (reframe_crops: whether that helps this model).
        "framing": {"trained_on": "dataset_crop", "cell_fraction": cell_fraction,
                    "pad": "background", "reframe_crops": False},
    }
    if meta["illumination"] is None:
        del meta["illumination"]
    (out / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")
    log(f"head agreement (max |softmax(embedding @ W + b) - probabilities|): {check}")
    log(f"wrote {i8} ({i8.stat().st_size} B), {f32} ({f32.stat().st_size} B), labels.txt, metadata.json")
    return {"int8": i8, "float32": f32}


def head_json(kernel: np.ndarray, bias: np.ndarray, labels: list[str] = CLASSES) -> str:
    """head.json: the dense head's float32 kernel (one row per embedding value) and bias, each
    number written as the shortest decimal that reads back to the same float32."""
    f = lambda v: np.format_float_positional(np.float32(v), unique=True, trim="-")  # noqa: E731
    rows = ",\n  ".join("[" + ", ".join(f(v) for v in row) + "]" for row in kernel)
    return ('{\n "format": "dense_softmax",\n "labels": ' + json.dumps(labels) + ',\n'
            f' "embedding_size": {kernel.shape[0]},\n "classes": {kernel.shape[1]},\n'
            ' "bias": [' + ", ".join(f(v) for v in bias) + '],\n'
            ' "kernel": [\n  ' + rows + '\n ]\n}\n')


def output_layout(path: Path, classes: int, embedding: int) -> dict:
    """Index and signature name of the probabilities and embedding outputs of a .tflite file, as
    LiteRT's signature lists them (the daemon matches the name)."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    runner = it.get_signature_runner()
    details = runner.get_output_details()
    names = list(it.get_signature_list()[next(iter(it.get_signature_list()))]["outputs"])
    found = {}
    for i, name in enumerate(names):
        size = int(np.prod(details[name]["shape"]))
        kind = "probabilities" if size == classes else "embedding" if size == embedding else None
        if kind is None or kind in found:
            raise RuntimeError(f"{path}: cannot tell output {name!r} (size {size}) apart")
        found[kind] = {"index": i, "name": name, "size": size}
    return {"probabilities": found["probabilities"], "embedding": found["embedding"]}


def head_agreement(path: Path, kernel: np.ndarray, bias: np.ndarray, images: np.ndarray, outputs: dict) -> float:
    """Largest |softmax(embedding @ kernel + bias) - probabilities| over `images` (normalised
    inputs), with both outputs read (and dequantised) from the model at `path`."""
    cls = evaluate.TfliteClassifier(path, threads=1)
    worst = 0.0
    for x in images:
        p, e = cls.outputs(x, outputs)
        z = e.astype(np.float64) @ kernel.astype(np.float64) + bias
        q = np.exp(z - z.max())
        worst = max(worst, float(np.abs(q / q.sum() - p).max()))
    return worst


# ----------------------------------------------------------------------------- main


def choose_size(sweep: dict, tolerance_pt: float) -> int:
    """Fastest size whose head-only pbc-wbc4/val accuracy is within tolerance_pt of the best."""
    best = max(v["pbc_val_acc_head"] for v in sweep.values())
    ok = [s for s, v in sweep.items() if v["pbc_val_acc_head"] * 100 >= best * 100 - tolerance_pt]
    return int(min(ok, key=lambda s: sweep[s]["int8_latency"]["median_ms"]))


def main() -> None:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="datasets root (../shared/datasets)")
    ap.add_argument("--weights", type=Path, help=f"default: DATA/../weights/{WEIGHTS_NAME}")
    ap.add_argument("--out", type=Path, required=True, help="output folder (models/)")
    ap.add_argument("--sizes", default="128,160,224", help="candidate input sizes for the sweep")
    ap.add_argument("--size", type=int, help="skip the choice and use this input size")
    ap.add_argument("--size-tolerance", type=float, default=0.5,
                    help="accuracy points a faster size may lose against the best head-only size")
    ap.add_argument("--aug-copies", type=int, default=1, help="augmented feature copies for the head")
    ap.add_argument("--kaggle-feature-stride", type=int, default=3,
                    help="use every k-th kaggle-wbc4/train image for the cached head features")
    ap.add_argument("--head-epochs", type=int, default=30)
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--finetune-epochs", type=int, default=10)
    ap.add_argument("--finetune-lr", type=float, default=1e-4)
    ap.add_argument("--unfreeze-from", default="block_6_expand",
                    help="first backbone layer trained in the fine-tune phase")
    ap.add_argument("--camera-look", type=float, default=augment.LOOK_PROBABILITY,
                    help="share of PBC images given the Kaggle camera's look while fine-tuning (0 = off)")
    ap.add_argument("--look-colour", choices=augment.LOOK_COLOUR_SPACES, default="rgb",
                    help="colour space in which the camera look matches a Kaggle image's colours")
    ap.add_argument("--average-from", type=int, default=0,
                    help="also try the mean of the weights of fine-tune epochs N..last (0 = off)")
    ap.add_argument("--average-tolerance", type=int, default=2,
                    help="keep the weight average unless an epoch beats it by more than this many "
                         "pbc-wbc4/val images")
    ap.add_argument("--kaggle-weight", type=float, default=1.0,
                    help="weight of kaggle-wbc4 against pbc-wbc4 while fine-tuning (the head phase keeps 1)")
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--kaggle-holdout", type=float, default=0.1,
                    help="fraction of kaggle original cells (per class) held out, grouped")
    ap.add_argument("--cell-fraction", type=float, required=True,
                    help="measured WBC diameter / crop side of the training crops (see MODEL_CARD.md)")
    ap.add_argument("--rep-images", type=int, default=300)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=here / ".cache")
    ap.add_argument("--skip-eval", action="store_true")
    ap.add_argument("--illumination", action=argparse.BooleanOptionalAction, default=True,
                    help="normalise every picture's background (illumination.py; recorded in metadata.json)")
    ap.add_argument("--limit", type=int, help="at most this many images per class and set (smoke runs only)")
    args = ap.parse_args()
    ILLUM["on"] = args.illumination

    t_start = time.time()
    walls: dict[str, float] = {}
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(args.seed)
    weights = args.weights or (args.data.parent / "weights" / WEIGHTS_NAME)
    sizes = [args.size] if args.size else [int(s) for s in args.sizes.split(",")]

    # 1. data --------------------------------------------------------------------------
    t0 = time.time()
    kag_all = list_labelled(args.data / "kaggle-wbc4" / "train")
    kag, kag_hold, originals, held = split_kaggle(kag_all, args.kaggle_holdout, args.seed, args.threads)
    kag, kag_hold = limit_per_class(kag, args.limit), limit_per_class(kag_hold, args.limit)
    pbc4 = limit_per_class(list_labelled(args.data / "pbc-wbc4" / "train"), args.limit)
    extra = limit_per_class(list_labelled(args.data / "pbc-extra" / "train"), args.limit)
    pbc = pbc4 + extra  # one source: the same scanner and stain
    val = limit_per_class(list_labelled(args.data / "pbc-wbc4" / "val"), args.limit)
    xval = limit_per_class(list_labelled(args.data / "pbc-extra" / "val"), args.limit)
    log(f"kaggle train {len(kag)} (held out {len(kag_hold)} images of {held} originals; "
        f"originals per class {originals}), pbc train {len(pbc4)} + extra {len(extra)}, "
        f"pbc val {len(val)}, extra val {len(xval)}; illumination {args.illumination}")
    train_items = kag + pbc
    il = args.illumination
    Xk = load_images(kag, sizes, args.cache, "kaggle-train", args.threads, il)
    Xp = load_images(pbc4, sizes, args.cache, "pbc-train", args.threads, il)
    Xe = load_images(extra, sizes, args.cache, "pbc-extra-train", args.threads, il)
    X = {s: np.concatenate([Xk.pop(s), Xp.pop(s), Xe.pop(s)]) for s in sizes}
    y = np.array([lbl for _, lbl in train_items], np.int32)
    src = np.array([0] * len(kag) + [1] * len(pbc), np.int32)
    Xval = load_images(val, sizes, args.cache, "pbc-val", args.threads, il)
    yval = np.array([lbl for _, lbl in val], np.int32)
    Xxval = load_images(xval, sizes, args.cache, "pbc-extra-val", args.threads, il)
    yxval = np.array([lbl for _, lbl in xval], np.int32)
    Xhold = load_images(kag_hold, sizes, args.cache, "kaggle-holdout", args.threads, il) if kag_hold else None
    yhold = np.array([lbl for _, lbl in kag_hold], np.int32)

    def selection_accuracies(model: keras.Model, s: int) -> dict[str, float | None]:
        return {"pbc_val_acc": predict_accuracy(model, Xval[s], yval),
                "pbc_extra_val_acc": predict_accuracy(model, Xxval[s], yxval),
                "kaggle_holdout_acc": predict_accuracy(model, Xhold[s], yhold) if Xhold is not None else None}
    # kaggle-wbc4 is ~36 augmented twins per original cell: every k-th one is enough for the head
    kag_feat = np.arange(0, len(kag), args.kaggle_feature_stride)
    feat_idx = np.concatenate([kag_feat, np.arange(len(kag), len(kag) + len(pbc))])
    walls["load_s"] = time.time() - t0

    # 2. per-size frozen backbone: cached features + head -------------------------------
    sweep: dict[int, dict] = {}
    heads: dict[int, list[np.ndarray]] = {}
    for s in sizes:
        t0 = time.time()
        model, base = build_model(s, weights, args.dropout)
        feats = [cached_features(base, X[s][feat_idx], c, args.seed, s, 64, args.cache, "train")
                 for c in range(args.aug_copies + 1)]
        val_sets = {"pbc_val_acc": (cached_features(base, Xval[s], 0, args.seed, s, 64, args.cache, "pbc-val"), yval),
                    "pbc_extra_val_acc": (cached_features(base, Xxval[s], 0, args.seed, s, 64, args.cache,
                                                          "pbc-extra-val"), yxval)}
        if Xhold is not None:
            val_sets["kaggle_holdout_acc"] = (cached_features(base, Xhold[s], 0, args.seed, s, 64, args.cache,
                                                              "kaggle-holdout"), yhold)
        t_feat = time.time() - t0
        head = model.get_layer("probabilities")
        hist, best_ep = train_head(
            head, args.dropout, np.concatenate(feats), np.tile(y[feat_idx], len(feats)),
            np.tile(balanced_weights(y[feat_idx], src[feat_idx]), len(feats)),
            val_sets, args.head_epochs, args.head_lr, args.seed)
        heads[s] = head.get_weights()
        head_accs = selection_accuracies(model, s)
        acc, hold_acc = head_accs["pbc_val_acc"], head_accs["kaggle_holdout_acc"]
        rep = representative(train_items, s, 100, args.seed)
        lat = {"int8_latency": latency_ms(convert(export_model(model), rep), 50),
               "float32_latency": latency_ms(convert(export_model(model), None), 50)}
        sweep[s] = {"pbc_val_acc_head": acc, "kaggle_holdout_acc_head": hold_acc,
                    "pbc_extra_val_acc_head": head_accs["pbc_extra_val_acc"],
                    "selection_score_head": selection_score(head_accs), "head_best_epoch": best_ep,
                    "head_val_history": hist, "feature_s": t_feat, "stage_s": time.time() - t0, **lat}
        log(f"size {s}: head pbc-val acc {acc:.4f}, kaggle-holdout acc {hold_acc}, "
            f"int8 {lat['int8_latency']['median_ms']:.2f} ms, float32 {lat['float32_latency']['median_ms']:.2f} ms, "
            f"features {t_feat:.0f}s, stage {time.time() - t0:.0f}s")
        keras.backend.clear_session()
    walls["sweep_s"] = sum(v["stage_s"] for v in sweep.values())
    size = args.size or choose_size(sweep, args.size_tolerance)
    log(f"chosen input size {size}")
    results_dir = here / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "size_sweep.json").write_text(json.dumps(
        {"rule": f"fastest int8 size within {args.size_tolerance} pt of the best head-only pbc-wbc4/val accuracy",
         "chosen": size, "latency_note": "LiteRT Python interpreter, 1 thread, x86_64 dev machine shared with "
         "other jobs; relative, not Raspberry Pi figures",
         "sizes": {str(k): v for k, v in sweep.items()}}, indent=2) + "\n")

    model, base = build_model(size, weights, args.dropout)
    model.get_layer("probabilities").set_weights(heads[size])
    rep = representative(train_items, size, args.rep_images, args.seed + 1)

    def training_info(stage: str, stage_fields: dict) -> dict:
        return {
            "stage": stage,
            "datasets": {
                "train": {"kaggle-wbc4/train": len(kag), "pbc-wbc4/train": len(pbc4),
                          "pbc-extra/train": len(extra)},
                "kaggle_holdout_grouped_by_original": {"images": len(kag_hold), "originals": held},
                "kaggle_originals_per_class": originals,
                "selection": {"pbc-wbc4/val": len(val), "pbc-extra/val": len(xval),
                              "kaggle_cell_holdout": len(kag_hold),
                              "rule": "highest mean accuracy over the three (first on a tie), head epochs and "
                                      "fine-tune epochs alike; jtsc-wbc4 and cvblog-wbc4 are never read"},
                "limit_per_class": args.limit,
            },
            "weights": WEIGHTS_NAME,
            "sample_weighting": "every (source, class) pair has equal total weight (kaggle: 4 classes, "
                                "pbc incl. pbc-extra: 7)",
            "augmentation": augment.describe(),
            "background_renormalised_after_augmentation": args.illumination,
            "head": {"epochs": args.head_epochs, "lr": args.head_lr, "aug_copies": args.aug_copies,
                     "cached_feature_images": int(len(feat_idx)), "kaggle_feature_stride": args.kaggle_feature_stride,
                     "dropout": args.dropout, "optimizer": "Adam"},
            "size_sweep": {str(k): {"pbc_val_acc_head": v["pbc_val_acc_head"],
                                    "int8_median_ms_x86_1thread": v["int8_latency"]["median_ms"]}
                           for k, v in sweep.items()},
            "int8_calibration": {"representative_images": len(rep), "from": "kaggle-wbc4/train + pbc-wbc4/train"},
            "feature_cache": dict(FEATURE_CACHE),
            "seed": args.seed,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
            "wall_time_s": {k: round(v, 1) for k, v in {**walls, "total_so_far_s": time.time() - t_start}.items()},
            **stage_fields,
        }

    # 3. export the head-only model right away (a usable model even if fine-tuning is cut short)
    t0 = time.time()
    head_accs = selection_accuracies(model, size)
    head_acc = selection_score(head_accs)
    write_bundle(args.out, model, size, rep, args.cell_fraction,
                 training_info("head-only", {"keras_selection": head_accs}))
    walls["export_head_s"] = time.time() - t0

    # 4. fine-tune upper blocks -----------------------------------------------------------
    t0 = time.time()
    base.trainable = True
    names = [layer.name for layer in base.layers]
    start = names.index(args.unfreeze_from)
    for i, layer in enumerate(base.layers):
        layer.trainable = i >= start and not isinstance(layer, keras.layers.BatchNormalization)
    n_trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    steps_per_epoch = (2 * len(pbc)) // args.batch
    sched = keras.optimizers.schedules.CosineDecay(args.finetune_lr, steps_per_epoch * args.finetune_epochs,
                                                   alpha=0.1)
    model.compile(keras.optimizers.Adam(sched), "sparse_categorical_crossentropy", weighted_metrics=["accuracy"])
    X_tf = tf.constant(X[size])
    look_stats = tf.constant(kaggle_look_stats(X[size][src == 0], args.look_colour))
    best = {"epoch": 0, "acc": head_acc, "weights": model.get_weights()}
    history = [{"epoch": 0, **head_accs, "selection_score": head_acc}]
    rng = np.random.default_rng(args.seed + 7)
    kag_idx = np.where(src == 0)[0]
    pbc_idx = np.where(src == 1)[0]
    averager = WeightAverager(args.average_from)
    for ep in range(1, args.finetune_epochs + 1):
        te = time.time()
        # every PBC image + as many kaggle images (kaggle is ~350 cells augmented many times)
        idx = np.concatenate([pbc_idx, rng.choice(kag_idx, size=min(len(pbc_idx), len(kag_idx)), replace=False)])
        idx = idx[rng.permutation(len(idx))].astype(np.int32)
        ew = balanced_weights(y[idx], src[idx], args.kaggle_weight)
        ds = tf.data.Dataset.from_tensor_slices((idx, y[idx], ew, src[idx] == 1))
        ds = ds.map(lambda i, lbl, w, is_pbc: (
            (after_augment(augment.augment_look(tf.gather(X_tf, i), size, tf.stack([args.seed + 100 + ep, i]),
                                                look_stats, is_pbc, args.camera_look, args.look_colour)) - MEAN) / STD,
            lbl, w), num_parallel_calls=2).batch(args.batch).prefetch(2)
        hist = model.fit(ds, epochs=1, verbose=0)
        accs = selection_accuracies(model, size)
        acc = selection_score(accs)
        rec = {"epoch": ep, "loss": float(hist.history["loss"][-1]), "train_acc": float(hist.history.get("accuracy", [float("nan")])[-1]),
               **accs, "selection_score": acc, "epoch_s": time.time() - te}
        history.append(rec)
        log(f"fine-tune epoch {ep}: {rec}")
        weights = model.get_weights()
        if acc > best["acc"]:
            best = {"epoch": ep, "acc": acc, "weights": weights}
        averager.add(ep, weights)
    if averager.count:
        mean_weights = averager.mean()
        model.set_weights(mean_weights)
        avg_accs = selection_accuracies(model, size)
        avg_acc = selection_score(avg_accs)
        label = averager.label()
        history.append({"epoch": label, **avg_accs, "selection_score": avg_acc})
        log(f"weight average {label}: {avg_accs}")
        if keep_average(avg_acc, best["acc"], len(yval), args.average_tolerance):
            best = {"epoch": label, "acc": avg_acc, "weights": mean_weights}
    model.set_weights(best["weights"])
    walls["finetune_s"] = time.time() - t0
    model.save(args.cache / f"selected-{size}.keras")  # lets the export be redone without retraining
    log(f"selected fine-tune weights: epoch {best['epoch']}, selection score {best['acc']:.4f}")

    # 5. export + LiteRT validation --------------------------------------------------------------
    t0 = time.time()
    info = training_info("fine-tuned" if best["epoch"] != 0 else "head-only (fine-tuning did not improve pbc-val)", {
        "fine_tune": {"epochs": args.finetune_epochs, "lr": args.finetune_lr, "schedule": "cosine to 0.1x",
                      "unfrozen_from": args.unfreeze_from, "batchnorm": "frozen (inference mode)",
                      "camera_look": augment.describe_look(args.camera_look, args.look_colour),
                      "kaggle_weight": args.kaggle_weight,
                      "weight_average": {"from_epoch": args.average_from,
                                         "kept_unless_an_epoch_beats_it_by_images": args.average_tolerance}
                      if args.average_from else "off",
                      "trainable_params": n_trainable, "batch": args.batch,
                      "per_epoch": "all pbc-wbc4/train + an equal random draw of kaggle-wbc4/train",
                      "selected_epoch": best["epoch"], "history": history},
        "keras_selection_score": best["acc"],
    })
    paths = write_bundle(args.out, model, size, rep, args.cell_fraction, info)
    walls["export_s"] = time.time() - t0
    if not args.skip_eval:
        t0 = time.time()
        evaluate.evaluate([paths["int8"], paths["float32"]], args.data,
                          ["pbc-wbc4/val", "pbc-extra/val", "kaggle-wbc4/test"], args.threads)
        walls["litert_eval_s"] = time.time() - t0
    walls["total_s"] = time.time() - t_start
    meta_path = args.out / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["training"]["wall_time_s"] = {k: round(v, 1) for k, v in walls.items()}
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    log(f"done; wall times {meta['training']['wall_time_s']}")


if __name__ == "__main__":
    main()
