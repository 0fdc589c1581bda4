"""Train the topic model and save it beside the data it was trained from.

    .venv/bin/python -m agents.classify.train                 # the bundled data
    .venv/bin/python -m agents.classify.train --data-dir DIR  # an edited copy

Run it after editing training.jsonl, topics.yaml, model.yaml, the gazetteer or the word vectors:
the classifier reads data/topic_model.npz only while it matches that data, and trains at load
(slower, more memory, with a warning) when it does not. Needs scipy (the `train` extra).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from agents.classify.classifier import DATA_DIR, Classifier, inputs_hash
from agents.classify.model import MODEL_FILE, ModelSettings


def train(data_dir: Path) -> Path:
    """Train from `data_dir` and save the model there; returns the model file."""
    classifier = Classifier.load(data_dir, topic_model=False)
    model = classifier.train_from(data_dir, ModelSettings.load(data_dir / "model.yaml"))
    path = data_dir / MODEL_FILE
    model.save(path, inputs_hash(data_dir))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    args = parser.parse_args()
    started = time.perf_counter()
    path = train(args.data_dir)
    print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB) in "
          f"{time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
