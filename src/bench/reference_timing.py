"""Times the reference LiteRT Python interpreter on the exact input tensor the daemon built.

Usage: python3 reference_timing.py MODEL INPUT.bin THREADS ITERATIONS
Prints one JSON object: {"median_ms": ..., "p95_ms": ..., "output": [...]} (output dequantised).
"""
import json
import sys
import time

import numpy as np
from ai_edge_litert.interpreter import Interpreter


def main():
    model, tensor, threads, iterations = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    interpreter = Interpreter(model_path=model, num_threads=threads)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    data = np.fromfile(tensor, dtype=inp["dtype"]).reshape(inp["shape"])
    interpreter.set_tensor(inp["index"], data)
    for _ in range(5):
        interpreter.invoke()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        interpreter.invoke()
        times.append((time.perf_counter() - start) * 1000.0)
    times.sort()
    result = interpreter.get_tensor(out["index"]).reshape(-1).astype(float)
    scale, zero_point = out["quantization"]
    if scale:
        result = (result - zero_point) * scale
    result = result.tolist()
    print(json.dumps({
        "median_ms": times[len(times) // 2],
        "p95_ms": times[min(len(times) - 1, int(len(times) * 0.95))],
        "output": result,
    }))


if __name__ == "__main__":
    main()
