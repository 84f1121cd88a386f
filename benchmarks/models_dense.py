"""Dense encoders: ``st:NAME_OR_PATH`` (sentence-transformers) and ``hf:NAME_OR_PATH`` (transformers + pooling).

Both truncate at the model's maximum length (or ``max_length``), encode distinct texts once, and go through
the embedding cache keyed by model name, revision and every setting that changes a vector (prompt of that
side, max length, pooling, normalisation). The cache hands them ``WINDOW`` batches of texts at a time; a
window is ordered by token count and cut into batches of ``batch_size`` from that order, so a batch pads to
almost nothing (ordering by characters, as sentence-transformers does, pads about a third more tokens on
code). The revision is the Hub commit the weights were loaded from, or for a local folder ``local:`` + a
hash of its file names and contents.

``st:`` models run their transformer in ONNX Runtime when it is installed, the device is the CPU and the
model's pipeline is one the backend reproduces (``models_onnx``); vectors equal torch's within float
noise. ``--model-arg backend=torch`` (or ``onnx``, which fails when it cannot be used) chooses.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codequarry.benchmarks.models import EncoderModel, local_model_name, parse_options
from codequarry.errors import CodequarryError, require
from codequarry.options import option

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncoderOptions:
    """The ``--model-arg`` options every encoder kind (``st``, ``hf``) takes."""

    query_prompt: str | None = option(None, help="text prepended to every query (e.g. 'query: ')")
    document_prompt: str | None = option(None, help="text prepended to every document (e.g. 'passage: ')")
    max_length: int | None = option(None, help="truncate inputs at this many tokens (default: the model's maximum)")
    batch_size: int | None = option(None, help="texts per forward pass (default: --batch-size, else 32)")
    normalize: bool | None = option(None, help="L2-normalise the vectors (st default: the model's own; hf default: no)")
    similarity: str | None = option(None, choices=("cos", "dot"),
                                    help="cos or dot (st default: the model's similarity function; hf default: cos)")
    device: str | None = option(None, help="torch device, e.g. cpu or cuda (default: cuda when available)")
    revision: str | None = option(None, help="Hub revision (branch, tag or commit) to load")
    trust_remote_code: bool = option(False, help="allow the model repository's own code to run")
    threshold: float | None = option(None, help="pair-classification threshold on the similarity (default: chosen on "
                                                "a dev split)")
    name: str | None = option(None, help="display name in results (default: the model id or folder name)")


@dataclass(frozen=True)
class STOptions(EncoderOptions):
    """``st:`` models: the encoder options plus prompts stored with the model."""

    query_prompt_name: str | None = option(None, help="name of a prompt stored with the model, used for queries")
    document_prompt_name: str | None = option(None, help="name of a prompt stored with the model, used for documents")
    backend: str | None = option(None, choices=("onnx", "torch"),
                                 help="onnx (ONNX Runtime on the CPU, same vectors within float noise) or torch "
                                      "(default: onnx when onnxruntime is installed and the model allows it)")


@dataclass(frozen=True)
class HFOptions(EncoderOptions):
    """``hf:`` models: the encoder options plus the pooling."""

    pooling: str = option("mean", choices=("mean", "cls"), help="mean (attention-masked average) or cls")


OPTIONS: dict[str, type] = {"st": STOptions, "hf": HFOptions}
DEFAULT_BATCH = 32
WINDOW = 16  # batches per cache window: each window is ordered by token count before it is batched


def by_token_count(counts: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Row indices in batches of ``batch_size``, most tokens first (ties by position): batches pad little."""
    counts = np.asarray(counts)
    order = np.lexsort((np.arange(counts.size), -counts))
    return [order[i:i + batch_size] for i in range(0, order.size, batch_size)]


_SMALL_FILE = 64 << 20  # hashed whole; bigger files (weights) by size, first and last MiB


def local_revision(path: Path) -> str:
    """``local:`` + sha256 (16 hex) over the folder's files: names and contents (big weights sampled).

    Content, not just names and sizes, so a model retrained into the same folder gets a new revision
    and never reuses the embedding cache of the model it replaced.
    """
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file() and ".git" not in p.parts
                    and "checkpoints" not in p.relative_to(path).parts):
        size = f.stat().st_size
        h.update(f"{f.relative_to(path).as_posix()}\x1f{size}\n".encode())
        with open(f, "rb") as fh:
            if size <= _SMALL_FILE:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            else:
                h.update(fh.read(1 << 20))
                fh.seek(size - (1 << 20))
                h.update(fh.read(1 << 20))
    return "local:" + h.hexdigest()[:16]


def hub_revision(model_id: str, revision: str | None) -> str | None:
    """The commit sha of a Hub model in the local cache (offline), else the requested revision."""
    try:
        from huggingface_hub import try_to_load_from_cache

        for fname in ("config.json", "modules.json", "config_sentence_transformers.json"):
            hit = try_to_load_from_cache(model_id, fname, revision=revision)
            if isinstance(hit, str):
                parts = Path(hit).parts
                if "snapshots" in parts:
                    return parts[parts.index("snapshots") + 1]
    except Exception:  # revision lookup is best effort: never fail a run for it
        pass
    return revision


def _identity(target: str, settings: dict[str, Any]) -> tuple[str, str | None]:
    p = Path(os.path.expanduser(target))
    if p.exists():
        if not p.is_dir():
            raise CodequarryError(f"{target}: a local model must be a folder")
        return settings.get("name") or local_model_name(p), local_revision(p)
    return settings.get("name") or target, hub_revision(target, settings.get("revision"))


def _device(settings: dict[str, Any]) -> str:
    if settings.get("device"):
        return settings["device"]
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class SentenceTransformerModel(EncoderModel):
    kind = "sentence-transformers"

    def __init__(self, spec: str, target: str, settings: dict[str, Any], *, cache_dir: Any, batch_size: int) -> None:
        require("sentence_transformers", extra="models")
        from sentence_transformers import SentenceTransformer

        name, revision = _identity(target, settings)
        path = os.path.expanduser(target)
        try:
            self.model = SentenceTransformer(path if Path(path).exists() else target, device=_device(settings),
                                             revision=settings.get("revision"),
                                             trust_remote_code=bool(settings.get("trust_remote_code")))
        except (OSError, ValueError) as exc:
            raise CodequarryError(f"{spec}: cannot load the sentence-transformers model ({exc}). Give a local folder, or "
                                  "a Hub id while online (or already in the Hugging Face cache).") from exc
        if settings.get("max_length"):
            self.model.max_seq_length = int(settings["max_length"])
        settings = dict(settings, max_length=self.model.max_seq_length)
        sim = settings.get("similarity") or {"cosine": "cos", "dot": "dot"}.get(str(self.model.similarity_fn_name or "cosine"))
        if sim is None:
            raise CodequarryError(f"{spec}: the model's similarity {self.model.similarity_fn_name!r} is not supported; "
                                  "pass --model-arg similarity=cos or similarity=dot")
        for side in ("query", "document"):
            pname = settings.get(f"{side}_prompt_name")
            if pname and pname not in (self.model.prompts or {}):
                raise CodequarryError(f"{spec}: no stored prompt {pname!r}; the model has: {', '.join(self.model.prompts or {}) or 'none'}")
        super().__init__(spec, name, revision, dict(settings, similarity=sim), similarity=sim, cache_dir=cache_dir,
                         batch_size=settings.get("batch_size") or batch_size or DEFAULT_BATCH)
        self._runner: Any = None  # the ONNX encoder, or "torch"; chosen at the first encode (a cached run needs none)
        self._backend_note: str | None = None
        if settings.get("backend") == "onnx":
            self._backend()  # asked for explicitly: fail now, before any work, when it cannot run

    def _prompt(self, side: str) -> str | None:
        """The explicit prompt, else the named stored prompt, else the model's stored ``query``/``document`` prompt
        (as sentence-transformers' encode_query/encode_document do)."""
        if self.settings.get(f"{side}_prompt") is not None:
            return self.settings[f"{side}_prompt"]
        stored = self.model.prompts or {}
        pname = self.settings.get(f"{side}_prompt_name")
        if pname:
            if pname not in stored:
                raise CodequarryError(f"{self.spec}: no stored prompt named {pname!r}; the model has "
                                      f"{sorted(stored) or 'none'}")
            return stored[pname]
        return stored.get(side) or None

    def embedding_settings(self, side: str) -> dict[str, Any]:
        return {"prompt": self._prompt(side), "max_length": self.model.max_seq_length,
                "normalize": self.settings.get("normalize")}

    encode_window = WINDOW

    def _backend(self) -> Any:
        """The ONNX encoder, or ``"torch"``: per ``backend=``, else ONNX when it is installed and can run the model."""
        if self._runner is not None:
            return self._runner
        choice = self.settings.get("backend")
        if choice == "torch":
            self._runner = "torch"
            return self._runner
        from codequarry.benchmarks import models_onnx
        from codequarry.benchmarks.cache import default_cache_root

        if choice is None and models_onnx.available() is not None:  # not installed: torch, as before the backend existed
            self._runner = "torch"
            return self._runner
        root = Path(self.cache_dir) if self.cache_dir else default_cache_root()
        got = models_onnx.load(self.model, self.revision, root)
        if isinstance(got, str):
            if choice == "onnx":
                raise CodequarryError(f"{self.spec}: --model-arg backend=onnx cannot be used: {got}")
            self._backend_note = got
            log.warning("%s runs on torch: %s", self.spec, got)
            self._runner = "torch"
        else:
            self._runner = got
        return self._runner

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        runner = self._runner
        if runner is None:
            out["backend"] = {"backend": "none (every vector came from the embedding cache)"}
        elif runner == "torch":
            import torch

            out["backend"] = {"backend": "torch", "torch": torch.__version__, "threads": str(torch.get_num_threads())}
            if self._backend_note:
                out["backend"]["why"] = self._backend_note
        else:
            out["backend"] = runner.describe()
        return out

    def encode_texts(self, texts: list[str], side: str) -> np.ndarray:
        """Vectors of ``texts``: tokenized once as the model does, run in batches of similar token counts."""
        from codequarry.benchmarks.models_onnx import features

        prompt = self._prompt(side)
        runner = self._backend()
        feats = features(self.model, texts, prompt)
        mask = feats.get("attention_mask")
        counts = mask.sum(axis=1) if mask is not None else np.asarray([len(t) for t in texts])
        out: np.ndarray | None = None
        for rows in by_token_count(counts, self.batch_size):
            if runner == "torch":
                vecs = self.model.encode([texts[i] for i in rows], batch_size=len(rows), prompt=prompt,
                                         convert_to_numpy=True, show_progress_bar=False)
            else:
                width = int(counts[rows].max())
                if feats["attention_mask"][rows, width:].any():  # left padding: the batch's own tokenization
                    vecs = runner.encode([texts[i] for i in rows], prompt)
                else:  # right padding: the window's tokens cut at the batch's longest row are the batch's own
                    vecs = runner.run({k: v[rows, :width] for k, v in feats.items()})
            vecs = np.asarray(vecs, dtype=np.float32)
            if out is None:
                out = np.empty((len(texts), vecs.shape[1]), dtype=np.float32)
            out[rows] = vecs
        if out is None:
            return np.zeros((0, 0), dtype=np.float32)
        if self.settings.get("normalize"):  # as encode(normalize_embeddings=True): after the model's own modules
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


class HFModel(EncoderModel):
    kind = "transformers"

    def __init__(self, spec: str, target: str, settings: dict[str, Any], *, cache_dir: Any, batch_size: int) -> None:
        transformers = require("transformers", extra="models")
        if settings["pooling"] not in ("mean", "cls"):
            raise CodequarryError(f"{spec}: pooling must be mean or cls, got {settings['pooling']!r}")
        name, revision = _identity(target, settings)
        path = os.path.expanduser(target)
        src = path if Path(path).exists() else target
        kw = {"revision": settings.get("revision"), "trust_remote_code": bool(settings.get("trust_remote_code"))}
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(src, **kw)
            self.model = transformers.AutoModel.from_pretrained(src, **kw)
        except (OSError, ValueError) as exc:
            raise CodequarryError(f"{spec}: cannot load the transformers model ({exc})") from exc
        self.device = _device(settings)
        self.model.to(self.device).eval()
        max_len = settings.get("max_length") or min(int(self.tokenizer.model_max_length or 512), 512)
        settings = dict(settings, max_length=int(max_len), similarity=settings.get("similarity") or "cos",
                        normalize=bool(settings.get("normalize")))
        super().__init__(spec, name, revision, settings, similarity=settings["similarity"], cache_dir=cache_dir,
                         batch_size=settings.get("batch_size") or batch_size or DEFAULT_BATCH)

    def embedding_settings(self, side: str) -> dict[str, Any]:
        return {"prompt": self.settings.get(f"{side}_prompt"), "max_length": self.settings["max_length"],
                "pooling": self.settings["pooling"], "normalize": self.settings["normalize"]}

    encode_window = WINDOW

    def encode_texts(self, texts: list[str], side: str) -> np.ndarray:
        """Vectors of ``texts``, in batches of similar token counts (the window is tokenized once to order it)."""
        import torch

        prompt = self.settings.get(f"{side}_prompt") or ""
        full = [prompt + t for t in texts]
        window = self.tokenizer(full, padding=True, truncation=True, max_length=self.settings["max_length"],
                                return_tensors="np")
        counts = np.asarray(window["attention_mask"]).sum(axis=1)
        out = np.empty((len(texts), 0), dtype=np.float32)
        for rows in by_token_count(counts, self.batch_size):
            enc = self.tokenizer([full[i] for i in rows], padding=True, truncation=True,
                                 max_length=self.settings["max_length"], return_tensors="pt").to(self.device)
            with torch.inference_mode():
                hidden = self.model(**enc).last_hidden_state
            if self.settings["pooling"] == "cls":
                vec = hidden[:, 0]
            else:
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            if self.settings["normalize"]:
                vec = torch.nn.functional.normalize(vec, p=2, dim=1)
            if out.shape[1] != vec.shape[1]:
                out = np.empty((len(texts), vec.shape[1]), dtype=np.float32)
            out[rows] = vec.float().cpu().numpy()
        return out


def load_st(spec: str, target: str, args: dict[str, Any], *, cache_dir: Any = None,
            batch_size: int | None = None) -> SentenceTransformerModel:
    return SentenceTransformerModel(spec, target, parse_options(spec, OPTIONS["st"], args), cache_dir=cache_dir,
                                    batch_size=batch_size or DEFAULT_BATCH)


def load_hf(spec: str, target: str, args: dict[str, Any], *, cache_dir: Any = None, batch_size: int | None = None) -> HFModel:
    return HFModel(spec, target, parse_options(spec, OPTIONS["hf"], args), cache_dir=cache_dir,
                   batch_size=batch_size or DEFAULT_BATCH)
