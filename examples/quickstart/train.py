#!/usr/bin/env python3
"""Logistic regression on synthetic data, with the Python standard library.

Logs the loss per epoch, then writes metrics.json and model.json to
$NEURAL_OUTPUT_DIR, where every neural-host platform collects outputs.
"""
import argparse
import json
import math
import os
import random


def make_data(n, dims, rng):
    true_w = [rng.uniform(-2, 2) for _ in range(dims)]
    rows = []
    for _ in range(n):
        x = [rng.gauss(0, 1) for _ in range(dims)]
        z = sum(w * v for w, v in zip(true_w, x)) + rng.gauss(0, 0.5)
        rows.append((x, 1 if z > 0 else 0))
    return rows


def sigmoid(z):
    if z < -30:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


def evaluate(w, b, rows):
    loss, correct = 0.0, 0
    for x, y in rows:
        p = sigmoid(sum(wi * xi for wi, xi in zip(w, x)) + b)
        p = min(max(p, 1e-9), 1 - 1e-9)
        loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
        correct += int((p >= 0.5) == bool(y))
    return loss / len(rows), correct / len(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--learning-rate", type=float, default=0.5)
    ap.add_argument("--samples", type=int, default=400)
    ap.add_argument("--dims", type=int, default=4)
    args = ap.parse_args()

    rng = random.Random(int(os.environ.get("SEED", "0")))
    data = make_data(args.samples, args.dims, rng)
    split = int(len(data) * 0.8)
    train, val = data[:split], data[split:]

    w, b = [0.0] * args.dims, 0.0
    for epoch in range(1, args.epochs + 1):
        gw, gb = [0.0] * args.dims, 0.0
        for x, y in train:
            err = sigmoid(sum(wi * xi for wi, xi in zip(w, x)) + b) - y
            for i, xi in enumerate(x):
                gw[i] += err * xi
            gb += err
        w = [wi - args.learning_rate * g / len(train) for wi, g in zip(w, gw)]
        b -= args.learning_rate * gb / len(train)
        loss, acc = evaluate(w, b, train)
        print(f"epoch {epoch:3d}  loss {loss:.4f}  accuracy {acc:.3f}", flush=True)

    val_loss, val_acc = evaluate(w, b, val)
    train_loss, train_acc = evaluate(w, b, train)
    out = os.environ.get("NEURAL_OUTPUT_DIR", "outputs")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump({"loss": train_loss, "accuracy": train_acc, "val_loss": val_loss,
                   "val_accuracy": val_acc, "epochs": args.epochs}, f, indent=2)
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump({"weights": w, "bias": b}, f, indent=2)
    print(f"done: val_loss {val_loss:.4f} val_accuracy {val_acc:.3f}", flush=True)


if __name__ == "__main__":
    main()
