"""Cross-validation of the topic model on its training file (tunes classify/data/model.yaml).

    .venv/bin/python bench/classify_cv.py              # the settings in model.yaml
    .venv/bin/python bench/classify_cv.py --grid       # search alpha, temperature, thresholds

Splits agents/classify/data/training.jsonl into k folds (line number mod k), trains the model on
k-1 folds and classifies the left-out fold, and prints topic macro-F1 of the lexicons alone and of
lexicons + model over the left-out predictions: for all lines, for the lines that are also in
tests/data/classify/eval_dev.jsonl (the lexicons were tuned on them, so the lexicons look better
there than they are), and for the other lines (fresh headlines the lexicons never saw). Only the
training file and the dev set are read; the holdout sets are not.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.classify import Classifier  # noqa: E402
from agents.classify.classifier import DATA_DIR  # noqa: E402
from agents.classify.matcher import pad  # noqa: E402
from agents.classify.model import (  # noqa: E402
    ModelSettings,
    NaiveBayes,
    TopicAdder,
    features,
    read_training,
)

DEV = ROOT / "tests" / "data" / "classify" / "eval_dev.jsonl"


def macro_f1(pairs: list[tuple[set[int], set[int]]], n_topics: int) -> float:
    scores = []
    for t in range(n_topics):
        tp = sum(1 for gold, got in pairs if t in gold and t in got)
        fp = sum(1 for gold, got in pairs if t not in gold and t in got)
        fn = sum(1 for gold, got in pairs if t in gold and t not in got)
        if tp + fn:
            scores.append(2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores)


def log_loss(z: list[dict[int, float]], gold: list[set[int]], temperature: float) -> float:
    total = 0.0
    for row, topics in zip(z, gold, strict=True):
        for t, z_t in row.items():
            p = 1 / (1 + math.exp(-max(-30.0, min(30.0, z_t / temperature))))
            total -= math.log(p if t in topics else 1 - p)
    return total / len(z)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--grid", action="store_true", help="search the settings")
    args = parser.parse_args()
    settings = ModelSettings.load(DATA_DIR / "model.yaml")
    lexicons = Classifier.load().with_model(None)
    codes = lexicons.topic_codes
    rows = read_training(DATA_DIR / settings.training, codes)
    dev_titles = {json.loads(line)["title"] for line in DEV.read_text().splitlines() if line}
    index = {c: i for i, c in enumerate(codes)}
    lex = [{index[t.code] for t in lexicons.classify(title).topics} for title, _ in rows]
    padded = [pad(title) for title, _ in rows]
    gold = [topics for _, topics in rows]
    subsets = {"all": range(len(rows)),
               "dev lines": [i for i, (t, _) in enumerate(rows) if t in dev_titles],
               "fresh lines": [i for i, (t, _) in enumerate(rows) if t not in dev_titles]}

    def fold_models(alpha: float, share: float) -> list[NaiveBayes]:
        """The model that has not seen line i, for each line i."""
        per_fold = [NaiveBayes([(features(padded[i], lex[i]), gold[i])
                                for i in range(len(rows)) if i % args.folds != k],
                               len(codes), alpha, share) for k in range(args.folds)]
        return [per_fold[i % args.folds] for i in range(len(rows))]

    def predict(model_of: list[NaiveBayes], s: ModelSettings) -> list[set[int]]:
        adders = {id(m): TopicAdder(m, s) for m in model_of}
        out = []
        for i, model in enumerate(model_of):
            room = max(lexicons.max_topics - len(lex[i]), 0)
            added = adders[id(model)].extra(padded[i], sorted(lex[i]))[:room]
            out.append(lex[i] | {t for t, _ in added})
        return out

    def report(label: str, predicted: list[set[int]]) -> dict[str, float]:
        result = {name: macro_f1([(gold[i], predicted[i]) for i in idx], len(codes))
                  for name, idx in subsets.items() if idx}
        print(f"{label:<58}" + "".join(f"{name} {v:.3f}  " for name, v in result.items()))
        return result

    print(f"{len(rows)} training lines ({len(subsets['dev lines'])} from the dev set), "
          f"{args.folds}-fold cross-validation")
    report("lexicons alone", lex)
    models = {}
    candidates = [settings]
    grid = itertools.product((0.1, 0.25, 0.5), (0.01, 0.03, 1.0)) if args.grid else [
        (settings.alpha, settings.max_share)]
    for alpha, share in grid:
        models[alpha, share] = fold_models(alpha, share)
        z = [model.log_odds(features(padded[i], lex[i]))
             for i, model in enumerate(models[alpha, share])]
        fitted = min((0.5, 1, 1.5, 2, 3, 4, 6, 8), key=lambda t: log_loss(z, gold, t))
        print(f"alpha {alpha} max_share {share}: best-calibrated temperature {fitted}")
        if args.grid:
            candidates += [dataclasses.replace(settings, alpha=alpha, max_share=share,
                                               temperature=fitted,
                                               add_threshold=ad, alone_threshold=al, max_added=m)
                           for ad, al, m in itertools.product(
                               (0.8, 0.9, 0.95, 0.97, 0.98, 0.99), (0.5, 0.7, 0.8, 0.9, 0.95),
                               (1, 2))]
    best = max(candidates, key=lambda s: macro_f1(
        list(zip(gold, predict(models[s.alpha, s.max_share], s), strict=True)), len(codes)))
    report("model.yaml settings", predict(models[settings.alpha, settings.max_share], settings))
    if args.grid:
        print(f"best: {best}")
        report("best settings", predict(models[best.alpha, best.max_share], best))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
