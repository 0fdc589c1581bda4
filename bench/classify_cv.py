"""Tune the topic model on validation data, never on a test set (tunes classify/data/model.yaml).

    .venv/bin/python bench/classify_cv.py --corpora DIR            # the settings in model.yaml
    .venv/bin/python bench/classify_cv.py --corpora DIR l2=0.001 balance=1.0   # other settings

Trains on the real corpora's training rows and the self-written supplement (as
`python -m agents.classify.train` does, without saving), then prints coarse per-class F1 and
macro-F1 on MasakhaNEWS's official validation split (dev.tsv in the corpus folder), the only
split used for choosing settings. The test splits are not read.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.classify import Classifier  # noqa: E402
from agents.classify.corpora import corpora_dir, load_specs  # noqa: E402
from agents.classify.data_files import CORPORA_FILE, DATA_DIR  # noqa: E402
from agents.classify.model import ModelSettings  # noqa: E402
from agents.classify.train import sources_report  # noqa: E402

VALIDATION = ("masakhanews", "dev.tsv")  # corpus, file in its folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, help="default: $WIREWATCH_CORPORA")
    parser.add_argument("settings", nargs="*", help="model.yaml overrides, as name=value")
    args = parser.parse_args()
    corpora = corpora_dir(args.corpora)
    settings = ModelSettings.load(DATA_DIR / "model.yaml")
    for name, value in (item.split("=", 1) for item in args.settings):
        settings = dataclasses.replace(settings, **{name: type(getattr(settings, name))(value)})
    classifier = Classifier.load(topic_model=False)
    started = time.perf_counter()
    model, counts = classifier.train_from(DATA_DIR, settings, corpora)
    print(f"trained on {sum(counts.values())} headlines in "
          f"{time.perf_counter() - started:.0f} s; {settings}\n{sources_report(counts)}")
    spec = load_specs(DATA_DIR / CORPORA_FILE)[VALIDATION[0]]
    with (corpora / spec.path / VALIDATION[1]).open(encoding="utf-8") as lines:
        rows = [(r["headline"], spec.coarse_of[r["category"]])
                for r in csv.DictReader(lines, delimiter="\t") if r["category"] in spec.coarse_of]
    class_of = {code: cls for cls, codes in spec.coarse.items() for code in codes}
    results = classifier.with_model(model).classify_many([(title, "") for title, _ in rows])
    confusion: Counter[tuple[str, str]] = Counter()
    for (_, gold), result in zip(rows, results, strict=True):
        confusion[gold, next((class_of[t.code] for t in result.topics if t.code in class_of),
                             "none")] += 1
    scores = []
    for cls in spec.coarse:
        tp = confusion[cls, cls]
        fp = sum(n for (gold, got), n in confusion.items() if got == cls and gold != cls)
        fn = sum(n for (gold, got), n in confusion.items() if gold == cls and got != cls)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
        print(f"  {cls:<14} F1 {scores[-1]:.3f}")
    print(f"validation ({VALIDATION[0]} {VALIDATION[1]}, {len(rows)} headlines): "
          f"macro-F1 {sum(scores) / len(scores):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
