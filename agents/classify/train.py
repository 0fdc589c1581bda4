"""Train the topic model on the real corpora and save it beside the data it was trained from.

    .venv/bin/python -m agents.classify.train --corpora /work/data-cache/corpora
    WIREWATCH_CORPORA=DIR .venv/bin/python -m agents.classify.train --data-dir DIR2

The corpora directory holds the raw public corpora that data/corpora.yaml describes (where each
comes from: data/README.md, "Real corpora"); they are never part of the repository. Run it after
editing corpora.yaml, training.jsonl (the self-written supplement), topics.yaml, model.yaml, the
gazetteer or the word vectors: the classifier marks data/topic_model.npz with a hash of that data
and warns (topic_model_stale) while the mark differs. Needs scikit-learn (the `train` extra).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from agents.classify.classifier import Classifier
from agents.classify.corpora import corpora_dir
from agents.classify.data_files import DATA_DIR, inputs_hash
from agents.classify.model import MODEL_FILE, ModelSettings


def train(data_dir: Path, corpora: Path) -> tuple[Path, dict[str, int]]:
    """Train from `corpora` and `data_dir` and save the model there; returns the model file
    and the number of training headlines from each source."""
    classifier = Classifier.load(data_dir, topic_model=False)
    model, counts = classifier.train_from(data_dir, ModelSettings.load(data_dir / "model.yaml"),
                                          corpora)
    path = data_dir / MODEL_FILE
    model.save(path, inputs_hash(data_dir))
    return path, counts


def sources_report(counts: dict[str, int]) -> str:
    """One line per source: how many training headlines it gave."""
    return "\n".join(f"  {source:<28} {n:6d} headlines" for source, n in counts.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--corpora", type=Path, help="default: $WIREWATCH_CORPORA")
    args = parser.parse_args()
    started = time.perf_counter()
    path, counts = train(args.data_dir, corpora_dir(args.corpora))
    print(sources_report(counts))
    print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB) from {sum(counts.values())} "
          f"headlines in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
