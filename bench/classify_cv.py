"""Cross-validation of the topic model on its training file (tunes classify/data/model.yaml).

    .venv/bin/python bench/classify_cv.py              # the settings in model.yaml
    .venv/bin/python bench/classify_cv.py --grid       # search l2, vector_scale and thresholds

Splits agents/classify/data/training.jsonl into k folds (line number mod k), trains the model on
k-1 folds and classifies the left-out fold, and prints topic macro-F1 of the lexicons alone and of
the model over the left-out predictions: for all lines, for the lines that are also in
tests/data/classify/eval_dev.jsonl (the lexicons were tuned on them, so the lexicons look better
there than they are), and for the other lines (fresh headlines the lexicons never saw). Only the
training file and the dev set are read; the holdout sets are not.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.classify import Classifier  # noqa: E402
from agents.classify.classifier import DATA_DIR  # noqa: E402
from agents.classify.model import ModelSettings, TopicRegression, read_training  # noqa: E402
from agents.classify.wordvectors import WordVectors  # noqa: E402

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--grid", action="store_true", help="search the settings")
    args = parser.parse_args()
    settings = ModelSettings.load(DATA_DIR / "model.yaml")
    classifier = Classifier.load(topic_model=False)
    n_topics = len(classifier.topic_codes)
    rows = read_training(DATA_DIR / settings.training, classifier.topic_codes)
    dev_titles = {json.loads(line)["title"] for line in DEV.read_text().splitlines() if line}
    inputs = classifier.model_inputs([title for title, _ in rows])
    lexicons = [set(lexical) for _, lexical in inputs]
    vectors = WordVectors.load(DATA_DIR / settings.vectors) if settings.vectors else None
    gold = [topics for _, topics in rows]
    subsets = {"all": range(len(rows)),
               "dev lines": [i for i, (t, _) in enumerate(rows) if t in dev_titles],
               "fresh lines": [i for i, (t, _) in enumerate(rows) if t not in dev_titles]}

    def fold_models(s: ModelSettings) -> list[TopicRegression]:
        """The model that has not seen line i, for each line i."""
        per_fold = []
        for k in range(args.folds):
            mine = [i for i in range(len(rows)) if i % args.folds != k]
            per_fold.append(TopicRegression.train([inputs[i] for i in mine],
                                                  [gold[i] for i in mine], n_topics, s,
                                                  vectors if s.vectors else None))
        return [per_fold[i % args.folds] for i in range(len(rows))]

    def predict(models: list[TopicRegression], s: ModelSettings) -> list[set[int]]:
        out: list[set[int]] = [set() for _ in rows]
        for model in {id(m): m for m in models}.values():
            mine = [i for i, m in enumerate(models) if m is model]
            chosen = model.with_settings(s).choose(model.log_odds([inputs[i] for i in mine]),
                                                   [bool(lexicons[i]) for i in mine])
            for i, picks in zip(mine, chosen, strict=True):
                out[i] = {t for t, _ in picks[:classifier.max_topics]}
        return out

    def report(label: str, predicted: list[set[int]]) -> float:
        result = {name: macro_f1([(gold[i], predicted[i]) for i in idx], n_topics)
                  for name, idx in subsets.items() if idx}
        print(f"{label:<40}" + "".join(f"{name} {v:.3f}  " for name, v in result.items()),
              flush=True)
        return result["all"]

    print(f"{len(rows)} training lines ({len(subsets['dev lines'])} from the dev set), "
          f"{args.folds}-fold cross-validation")
    report("lexicons alone", lexicons)
    started = time.perf_counter()
    models = fold_models(settings)
    print(f"trained {args.folds} models in {time.perf_counter() - started:.1f} s")
    report("model.yaml settings", predict(models, settings))
    if not args.grid:
        return 0
    best = (0.0, settings)
    scales = (1.5, 2.0, 3.0) if settings.vectors else (settings.vector_scale,)
    for l2, scale in itertools.product((0.0003, 0.001), scales):
        trained = fold_models(dataclasses.replace(settings, l2=l2, vector_scale=scale))
        for threshold, alone in itertools.product((0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5),
                                                  (0.05, 0.1, 0.2, 0.3)):
            s = dataclasses.replace(settings, l2=l2, vector_scale=scale, threshold=threshold,
                                    alone_threshold=alone)
            score = macro_f1(list(zip(gold, predict(trained, s), strict=True)), n_topics)
            best = max(best, (score, s), key=lambda pair: pair[0])
        print(f"l2 {l2} vector_scale {scale}: best so far {best[0]:.3f}", flush=True)
    print(f"best: {best[1]}")
    report("best settings", predict(fold_models(best[1]), best[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
