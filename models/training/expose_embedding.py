"""Give an exported single-output model bundle its pooled embedding as a second output.

Recalibration on the device (issue 22) reads the pooled embedding the classification head
sees. Models exported before 2.0 have one output only, but the embedding is already a tensor
inside them (the global average pool's result, the fully-connected head's input): this adds that
tensor to the model's outputs and its signature, and changes nothing else in the flatbuffer, so
the probabilities are the same bytes as before (checked here on real pictures). It writes, into
OUT: both .tflite files, labels.txt, head.json (the float32 model's head weights), and a
metadata.json with `outputs`, `head`, the new sha256 of each file, the new version and the
digests of the bundle it came from.

    python3 models/training/expose_embedding.py --bundle models/ --out /tmp/hv-1.3.1 \
        --version 1.3.1 --check ../shared/datasets/pbc-wbc4/val
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import contract_preprocess, list_labelled, model_digests, quiet_tensorflow  # noqa: E402

quiet_tensorflow()
from tensorflow.lite.tools import flatbuffer_utils as fu  # noqa: E402
from tensorflow.lite.python import schema_py_generated as schema  # noqa: E402

import evaluate  # noqa: E402
from train import HEAD_FILE, head_agreement, head_json, output_layout  # noqa: E402

FILES = ("hematovision-wbc4.tflite", "hematovision-wbc4-float32.tflite")
EMBEDDING_NAME = "output_1"


def opcode(model: schema.ModelT, op: schema.OperatorT) -> int:
    code = model.operatorCodes[op.opcodeIndex]
    return max(code.builtinCode, code.deprecatedBuiltinCode)


def head_op(model: schema.ModelT) -> schema.OperatorT:
    """The fully-connected operator that feeds the softmax producing the model's only output."""
    sg = model.subgraphs[0]
    if len(sg.outputs) != 1:
        raise SystemExit(f"the model has {len(sg.outputs)} outputs; expected one")
    producers = {int(t): op for op in sg.operators for t in op.outputs}
    softmax = producers.get(int(sg.outputs[0]))
    if softmax is None or opcode(model, softmax) != schema.BuiltinOperator.SOFTMAX:
        raise SystemExit("the model's output is not a softmax")
    fc = producers.get(int(softmax.inputs[0]))
    if fc is None or opcode(model, fc) != schema.BuiltinOperator.FULLY_CONNECTED:
        raise SystemExit("the softmax is not fed by a fully-connected head")
    return fc


def add_output(src: Path, dst: Path) -> int:
    """Write src with the head's input tensor as a second output; returns that tensor's index."""
    model = fu.read_model(str(src))
    sg = model.subgraphs[0]
    embedding = int(head_op(model).inputs[0])
    sg.outputs = np.append(np.asarray(sg.outputs, np.int32), np.int32(embedding))
    for sig in model.signatureDefs or []:
        entry = schema.TensorMapT()
        entry.name = EMBEDDING_NAME
        entry.tensorIndex = embedding
        sig.outputs.append(entry)
    fu.write_model(model, str(dst))
    return embedding


def float_head(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The head's kernel [embedding][classes] and bias, from a float32 model's weights."""
    model = fu.read_model(str(path))
    sg = model.subgraphs[0]
    fc = head_op(model)

    def tensor(i: int) -> np.ndarray:
        t = sg.tensors[int(i)]
        if t.type != schema.TensorType.FLOAT32:
            raise SystemExit(f"{path}: the head's weights are not float32")
        data = np.frombuffer(bytes(model.buffers[t.buffer].data), np.float32)
        return data.reshape(tuple(int(d) for d in t.shape))

    weights, bias = tensor(fc.inputs[1]), tensor(fc.inputs[2])  # weights are [classes][embedding]
    return weights.T.copy(), bias.copy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, required=True, help="folder with both .tflite files and metadata.json")
    ap.add_argument("--out", type=Path, required=True, help="folder to write the new bundle into")
    ap.add_argument("--version", required=True, help="version of the new bundle (e.g. 1.3.1)")
    ap.add_argument("--check", type=Path, required=True,
                    help="labelled folder DIR/CLASS/* whose pictures must get the same probabilities")
    ap.add_argument("--check-images", type=int, default=200)
    args = ap.parse_args()

    meta = json.loads((args.bundle / "metadata.json").read_text())
    labels = meta["labels"]
    args.out.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        add_output(args.bundle / name, args.out / name)
    shutil.copy(args.bundle / "labels.txt", args.out / "labels.txt")
    kernel, bias = float_head(args.bundle / FILES[1])
    head_path = args.out / HEAD_FILE
    head_path.write_text(head_json(kernel, bias, labels))
    outputs = output_layout(args.out / FILES[1], len(labels), kernel.shape[0])
    if output_layout(args.out / FILES[0], len(labels), kernel.shape[0]) != outputs:
        raise SystemExit("the int8 and float32 models order their outputs differently")

    # The same pictures through the old and the new files: the probabilities must not move.
    items = list_labelled(args.check)[:: max(1, len(list_labelled(args.check)) // args.check_images)]
    size = meta["input_size"]
    images = np.stack([contract_preprocess(path, size, bool(meta.get("illumination"))) for path, _ in items])
    for name in FILES:
        old = evaluate.TfliteClassifier(args.bundle / name, threads=2)
        new = evaluate.TfliteClassifier(args.out / name, threads=2)
        for x in images:
            p_old = old.probabilities(x)
            p_new = new.outputs(x, outputs)[0]
            if not np.array_equal(p_old, p_new):
                raise SystemExit(f"{name}: probabilities changed on a check picture")
    check = {name: head_agreement(args.out / name, kernel, bias, images, outputs) for name in FILES}

    origin = {"version": meta["version"], "sha256": meta.get("sha256", {})}
    meta.update({
        "version": args.version,
        "output": "probabilities",
        "outputs": outputs,
        "head": {"file": HEAD_FILE, "embedding_size": int(kernel.shape[0]), "classes": len(labels),
                 "activation": "softmax", "dtype": "float32",
                 "formula": "probabilities = softmax(embedding @ kernel + bias); kernel[embedding_size][classes]",
                 "max_abs_difference_from_model_output": check},
        "sha256": model_digests([args.out / FILES[0], args.out / FILES[1], head_path]),
        "derived_from": {**origin, "change": "the pooled embedding (the head's input) added as a second "
                         "output; weights, operators and probabilities unchanged (expose_embedding.py, "
                         f"checked on {len(images)} pictures of {args.check})"},
    })
    (args.out / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps({"outputs": outputs, "head_agreement": check, "checked_pictures": len(images)}, indent=1))


if __name__ == "__main__":
    main()
