"""Embedding cache: encodes only what is missing, resumes after an interruption, survives a torn batch."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from codequarry.benchmarks.cache import EmbeddingCache, default_cache_root, model_key
from codequarry.errors import CodequarryError


class Encoder:
    """A deterministic 'model' that records every batch it is asked to encode."""

    def __init__(self, fail_after: int | None = None, dim: int = 4) -> None:
        self.batches: list[list[str]] = []
        self.fail_after = fail_after
        self.dim = dim

    @property
    def encoded(self) -> int:
        return sum(len(b) for b in self.batches)

    def __call__(self, texts: list[str]) -> np.ndarray:
        if self.fail_after is not None and len(self.batches) >= self.fail_after:
            raise KeyboardInterrupt("simulated interruption")
        self.batches.append(list(texts))
        return np.stack([self.vector(t) for t in texts])

    def vector(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
        return np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)


TEXTS = [f"def f{i}(x):\n    return x * {i}" + " # pad" * (i % 5) for i in range(50)]


def test_second_call_encodes_nothing(tmp_path):
    cache = EmbeddingCache(tmp_path)
    enc = Encoder()
    texts = TEXTS + TEXTS[:10]  # duplicates are encoded once
    first = cache.encode("m", texts, enc, batch_size=8)
    assert enc.encoded == 50
    assert first.dtype == np.float32 and first.shape == (60, 4)
    np.testing.assert_array_equal(first, np.stack([enc.vector(t) for t in texts]))  # input order restored
    lengths = [len(t) for b in enc.batches for t in b]
    assert lengths == sorted(lengths, reverse=True)  # length-sorted batches
    again = Encoder()
    second = EmbeddingCache(tmp_path).encode("m", list(reversed(texts)), again, batch_size=8)
    assert again.encoded == 0
    np.testing.assert_array_equal(second, first[::-1])
    more = Encoder()
    EmbeddingCache(tmp_path).encode("m", TEXTS + ["new text"], more)
    assert more.batches == [["new text"]]


def test_model_keys_are_separate(tmp_path):
    cache = EmbeddingCache(tmp_path)
    a, b = Encoder(), Encoder()
    cache.encode(model_key(name="m", revision="1"), TEXTS[:5], a)
    cache.encode(model_key(name="m", revision="2"), TEXTS[:5], b)
    assert a.encoded == b.encoded == 5
    assert model_key(b=1, a=2) == model_key(a=2, b=1)


def test_interrupted_run_resumes(tmp_path):
    cache = EmbeddingCache(tmp_path)
    broken = Encoder(fail_after=3)
    with pytest.raises(KeyboardInterrupt):
        cache.encode("m", TEXTS, broken, batch_size=7)
    assert broken.encoded == 21
    assert cache.stats("m") == {"rows": 21, "dim": 4}
    rest = Encoder()
    out = cache.encode("m", TEXTS, rest, batch_size=7)
    assert rest.encoded == 50 - 21
    assert not {t for b in broken.batches for t in b} & {t for b in rest.batches for t in b}
    np.testing.assert_array_equal(out, np.stack([rest.vector(t) for t in TEXTS]))


def test_torn_last_batch_is_ignored_and_recomputed(tmp_path):
    cache = EmbeddingCache(tmp_path)
    cache.encode("m", TEXTS[:20], Encoder(), batch_size=8)
    folder = cache.folder("m")
    with open(folder / "vectors.f32", "ab") as fh:  # a crash in the middle of an append
        fh.write(b"\x01\x02\x03" * 7)
    with open(folder / "hashes.bin", "ab") as fh:
        fh.write(b"\xff" * 40)
    enc = Encoder()
    out = cache.encode("m", TEXTS[:30], enc, batch_size=8)
    assert enc.encoded == 10
    np.testing.assert_array_equal(out, np.stack([enc.vector(t) for t in TEXTS[:30]]))
    assert (folder / "vectors.f32").stat().st_size == 30 * 4 * 4  # the torn bytes were truncated away
    # a committed index that claims more rows than reached the disk: the lost rows are recomputed
    meta = json.loads((folder / "index.json").read_text())
    with open(folder / "vectors.f32", "r+b") as fh:
        fh.truncate(25 * 16)
    lost = Encoder()
    out = EmbeddingCache(tmp_path).encode("m", TEXTS[:30], lost, batch_size=8)
    assert meta["rows"] == 30 and lost.encoded == 5
    np.testing.assert_array_equal(out, np.stack([lost.vector(t) for t in TEXTS[:30]]))


def test_bad_encoder_output_is_reported(tmp_path):
    cache = EmbeddingCache(tmp_path)
    with pytest.raises(CodequarryError, match="one vector per text"):
        cache.encode("m", TEXTS[:4], lambda b: np.zeros((len(b) + 1, 3)))
    with pytest.raises(CodequarryError, match="NaN"):
        cache.encode("m", TEXTS[:4], lambda b: np.full((len(b), 3), np.nan))
    cache.encode("m", TEXTS[:4], Encoder(dim=3))
    with pytest.raises(CodequarryError, match="dimension"):
        cache.encode("m", TEXTS[4:8], Encoder(dim=5))
    with pytest.raises(CodequarryError, match="not str"):
        cache.encode("m", ["a", 3], Encoder())
    (cache.folder("m") / "key.txt").write_text("other")
    with pytest.raises(CodequarryError, match="holds key"):
        cache.encode("m", TEXTS[:4], Encoder())


def test_default_root(monkeypatch, tmp_path):
    monkeypatch.setenv("CODEQUARRY_CACHE", str(tmp_path / "c"))
    assert default_cache_root() == tmp_path / "c"
    assert EmbeddingCache().root == tmp_path / "c"
    monkeypatch.delenv("CODEQUARRY_CACHE")
    assert default_cache_root().parts[-2:] == (".cache", "codequarry")


def test_empty_input(tmp_path):
    out = EmbeddingCache(tmp_path).encode("m", [], Encoder())
    assert out.shape[0] == 0 and out.dtype == np.float32
