"""Accuracy of the headline classifier: on real, third-party test sets first, then on the
self-written sets (secondary).

    .venv/bin/python bench/classify_eval.py --corpora DIR   # real test sets + self-written sets
    .venv/bin/python bench/classify_eval.py --real-only     # real sets ($WIREWATCH_CORPORA)
    .venv/bin/python bench/classify_eval.py --set dev -v    # one self-written set, misses
    .venv/bin/python bench/classify_eval.py --file new.jsonl -v   # any labelled JSONL file
    .venv/bin/python bench/classify_eval.py --lexicons-only # with the topic model switched off

Real test sets: the `evaluate` rows of each corpus in agents/classify/data/corpora.yaml (official
test splits where the corpus has one), read from the corpora directory (--corpora or
$WIREWATCH_CORPORA). A headline's predicted class is the set's coarse class of its first reported
topic that maps to one (corpora.yaml `coarse`), else "none" (a miss). Printed per set: per-class
precision/recall/F1, macro-F1 and the confusion matrix. How often each set was read is in
docs/PERFORMANCE.md: read them as rarely as you can and tune on validation data instead.

Self-written sets (secondary; written for this project, not third-party): per-label
precision/recall/F1 and topic macro-F1, and micro-F1 for countries and regions, for
tests/data/classify/eval_dev.jsonl and eval_holdout*.jsonl.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.classify import Classifier  # noqa: E402
from agents.classify.corpora import (  # noqa: E402
    PlaceRow,
    corpora_dir,
    evaluation_sets,
    load_specs,
    place_sets,
)
from agents.classify.data_files import CORPORA_FILE, DATA_DIR  # noqa: E402

DATA = ROOT / "tests" / "data" / "classify"
SETS = ("dev", "holdout", "holdout2", "holdout3")
TARGETS = {"topic macro-F1": 0.85, "country micro-F1": 0.95, "region micro-F1": 0.93}
REAL_TARGET = 0.85  # coarse topic macro-F1 on each real test set
PLACE_TARGET = (0.90, 0.95)  # country recall at precision, on real world-news headlines


def load_set(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        missing = {"title", "topics", "countries", "regions"} - set(row)
        if missing:
            raise SystemExit(f"{path}:{number}: missing {sorted(missing)}")
        rows.append(row)
    return rows


def f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


class Tally:
    """True/false positives and false negatives per label, for one field."""

    def __init__(self) -> None:
        self.tp: Counter[str] = Counter()
        self.fp: Counter[str] = Counter()
        self.fn: Counter[str] = Counter()

    def add(self, gold: set[str], predicted: set[str]) -> None:
        for label in gold & predicted:
            self.tp[label] += 1
        for label in predicted - gold:
            self.fp[label] += 1
        for label in gold - predicted:
            self.fn[label] += 1

    def labels(self) -> list[str]:
        return sorted(set(self.tp) | set(self.fp) | set(self.fn))

    def prf(self, label: str) -> tuple[float, float, float]:
        tp, fp, fn = self.tp[label], self.fp[label], self.fn[label]
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return p, r, f1(p, r)

    def micro(self) -> tuple[float, float, float]:
        tp, fp, fn = sum(self.tp.values()), sum(self.fp.values()), sum(self.fn.values())
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return p, r, f1(p, r)

    def macro_f1(self, labels: list[str]) -> float:
        return sum(self.prf(label)[2] for label in labels) / len(labels)


def evaluate(classifier: Classifier, rows: list[dict], verbose: bool) -> dict[str, float]:
    topics, countries, regions = Tally(), Tally(), Tally()
    label_of = dict(zip(classifier.topic_codes, classifier.topic_labels, strict=True))
    for row in rows:
        result = classifier.classify(row["title"], row.get("summary", ""))
        got_t = {t.code for t in result.topics}
        got_c = set(result.country_codes)
        got_r = set(result.region_names)
        gold_t, gold_c, gold_r = set(row["topics"]), set(row["countries"]), set(row["regions"])
        topics.add(gold_t, got_t)
        countries.add(gold_c, got_c)
        regions.add(gold_r, got_r)
        if verbose and (got_t != gold_t or got_c != gold_c or got_r != gold_r):
            print(f"  {row['title']}")
            if got_t != gold_t:
                print(f"      topics    want {sorted(label_of[c] for c in gold_t)}"
                      f" got {[f'{t.label}:{t.score}:{t.evidence}' for t in result.topics]}")
            if got_c != gold_c:
                print(f"      countries want {sorted(gold_c)} got "
                      f"{[(c.code, c.evidence) for c in result.countries]}")
            if got_r != gold_r:
                print(f"      regions   want {sorted(gold_r)} got {sorted(got_r)}")
    print(f"  {'topic':<28} {'P':>5} {'R':>5} {'F1':>5} {'n':>4}")
    for code, label in label_of.items():
        p, r, f = topics.prf(code)
        print(f"  {label:<28} {p:5.2f} {r:5.2f} {f:5.2f} {topics.tp[code] + topics.fn[code]:4d}")
    present = [c for c in label_of if topics.tp[c] + topics.fn[c]]
    scores = {
        "topic macro-F1": topics.macro_f1(present),
        "country micro-F1": countries.micro()[2],
        "region micro-F1": regions.micro()[2],
    }
    for name, tally in (("countries", countries), ("regions", regions)):
        p, r, f = tally.micro()
        print(f"  {name}: micro P {p:.3f} R {r:.3f} F1 {f:.3f}")
    if verbose:
        for name, tally in (("country", countries), ("region", regions)):
            worst = sorted(tally.labels(), key=lambda x: -(tally.fp[x] + tally.fn[x]))[:8]
            print(f"  most missed {name}: "
                  + ", ".join(f"{x} fp{tally.fp[x]} fn{tally.fn[x]}" for x in worst))
    return scores


def evaluate_real(classifier: Classifier, name: str, rows: list[tuple[str, str]],
                  coarse: dict[str, list[str]], verbose: bool) -> float:
    """Print per-class P/R/F1, macro-F1 and the confusion matrix of one real test set; return
    its macro-F1."""
    class_of = {code: cls for cls, codes in coarse.items() for code in codes}
    classes = list(coarse)
    results = classifier.classify_many([(title, "") for title, _ in rows])
    tally, confusion = Tally(), Counter()
    for (title, gold), result in zip(rows, results, strict=True):
        predicted = next((class_of[t.code] for t in result.topics if t.code in class_of), "none")
        tally.add({gold}, {predicted})
        confusion[gold, predicted] += 1
        if verbose and predicted != gold:
            print(f"  want {gold:<13} got {predicted:<13} {title}  "
                  f"{[(t.label, t.score, t.evidence) for t in result.topics]}")
    print(f"\n== {name}: {len(rows)} headlines (real test set)")
    print(f"  {'class':<14} {'P':>5} {'R':>5} {'F1':>5} {'n':>5}")
    for cls in classes:
        p, r, f = tally.prf(cls)
        print(f"  {cls:<14} {p:5.2f} {r:5.2f} {f:5.2f} {tally.tp[cls] + tally.fn[cls]:5d}")
    macro = tally.macro_f1(classes)
    print(f"  macro-F1 {macro:.3f} (target {REAL_TARGET})")
    columns = [*classes, "none"]
    print("  confusion (rows: true class, columns: predicted)")
    print(f"  {'':<14}" + "".join(f"{c[:8]:>9}" for c in columns))
    for cls in classes:
        print(f"  {cls:<14}" + "".join(f"{confusion[cls, c]:9d}" for c in columns))
    return macro


def evaluate_places(classifier: Classifier, name: str, rows: list[PlaceRow],
                    verbose: bool) -> None:
    """Print country recall and precision per feed group, without and with the feeds' country
    prior. Recall: headlines that get a country their URL section names. Precision: reported
    countries that the section names (a headline may rightly name another country too, so
    this under-counts)."""
    print(f"\n== {name}: {len(rows)} headlines whose place the URL section gives (real)")
    print(f"  {'feed group':<12} {'prior':<6} {'n':>4} {'recall':>7} {'precision':>9} "
          f"{'no country':>10}")
    for use_prior in (False, True):
        results = classifier.classify_many(
            [(r.title, "") for r in rows], [r.prior if use_prior else None for r in rows])
        for feed in sorted({r.feed for r in rows}):
            mine = [(r, res) for r, res in zip(rows, results, strict=True) if r.feed == feed]
            hit = sum(1 for r, res in mine if r.countries & set(res.country_codes))
            reported = sum(len(res.countries) for _, res in mine)
            right = sum(len(r.countries & set(res.country_codes)) for r, res in mine)
            empty = sum(1 for _, res in mine if not res.countries)
            prior = (mine[0][0].prior or "-") if use_prior else "-"
            print(f"  {feed:<12} {prior:<6} {len(mine):4d} {hit / len(mine):7.3f} "
                  f"{right / reported if reported else 0.0:9.3f} {empty:10d}")
            if verbose and use_prior:
                for r, res in mine:
                    if not r.countries & set(res.country_codes):
                        print(f"      want {sorted(r.countries)} got "
                              f"{[(c.code, c.evidence) for c in res.countries]} {r.title}")
    print(f"  target on world-news headlines: recall >= {PLACE_TARGET[0]} at precision >= "
          f"{PLACE_TARGET[1]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=(*SETS, "all"), default="all")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    parser.add_argument("--file", type=Path, help="evaluate this JSONL file instead of the sets")
    parser.add_argument("--lexicons-only", action="store_true",
                        help="switch the topic model off, whatever model.yaml says")
    parser.add_argument("--corpora", type=Path, help="real corpora (default $WIREWATCH_CORPORA)")
    parser.add_argument("--real-only", action="store_true", help="skip the self-written sets")
    parser.add_argument("--real-set", action="append", help="only this real set (repeatable)")
    args = parser.parse_args()
    classifier = Classifier.load()
    if args.lexicons_only:
        classifier = classifier.with_model(None)
        print("topic model off: lexicons only")
    print(f"classifier_version {classifier.version}")
    if not args.file and args.set == "all":
        specs = load_specs(DATA_DIR / CORPORA_FILE)
        real = evaluation_sets(corpora_dir(args.corpora), specs)
        scores = {name: evaluate_real(classifier, name, rows, specs[name].coarse, args.verbose)
                  for name, rows in real.items()
                  if not args.real_set or name in args.real_set}
        print("\ncoarse topic macro-F1: " + ", ".join(f"{n} {v:.3f}" for n, v in scores.items())
              + f" (target {REAL_TARGET} on each)")
        for name, rows in place_sets(corpora_dir(args.corpora), specs).items():
            evaluate_places(classifier, name, rows, args.verbose)
        if args.real_only:
            return 0
        print("\n### Self-written sets (secondary: written for this project, not third-party)")
    files = {args.file.name: args.file} if args.file else {
        name: DATA / f"eval_{name}.jsonl"
        for name in (SETS if args.set == "all" else (args.set,))}
    names = tuple(files)
    summary = {}
    for name in names:
        rows = load_set(files[name])
        print(f"\n== {name}: {len(rows)} headlines")
        summary[name] = evaluate(classifier, rows, args.verbose)
    print(f"\n{'':<18}" + "".join(f"{n:>10}" for n in names) + f"{'target':>10}")
    for metric, target in TARGETS.items():
        print(f"{metric:<18}" + "".join(f"{summary[n][metric]:10.3f}" for n in names)
              + f"{target:10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
