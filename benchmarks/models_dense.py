"""Dense encoders: ``st:NAME_OR_PATH`` (sentence-transformers) and ``hf:NAME_OR_PATH`` (transformers + pooling).

Both truncate at the model's maximum length (or ``max_length``), encode distinct texts once, longest first
(little padding per batch), and go through the embedding cache keyed by model name, revision and every
setting that changes a vector (prompt of that side, max length, pooling, normalisation). The revision is
the Hub commit the weights were loaded from, or for a local folder ``local:`` + a hash of its file names
and sizes.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codequarry.benchmarks.models import EncoderModel, local_model_name, parse_options
from codequarry.errors import CodequarryError, require
from codequarry.options import option


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


@dataclass(frozen=True)
class HFOptions(EncoderOptions):
    """``hf:`` models: the encoder options plus the pooling."""

    pooling: str = option("mean", choices=("mean", "cls"), help="mean (attention-masked average) or cls")


OPTIONS: dict[str, type] = {"st": STOptions, "hf": HFOptions}
DEFAULT_BATCH = 32


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

    def encode_texts(self, texts: list[str], side: str) -> np.ndarray:
        return self.model.encode(texts, batch_size=self.batch_size, prompt=self._prompt(side),
                                 normalize_embeddings=bool(self.settings.get("normalize")),
                                 convert_to_numpy=True, show_progress_bar=False).astype(np.float32)


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

    def encode_texts(self, texts: list[str], side: str) -> np.ndarray:
        import torch

        prompt = self.settings.get(f"{side}_prompt") or ""
        out = []
        for i in range(0, len(texts), self.batch_size):
            batch = [prompt + t for t in texts[i:i + self.batch_size]]
            enc = self.tokenizer(batch, padding=True, truncation=True, max_length=self.settings["max_length"],
                                 return_tensors="pt").to(self.device)
            with torch.inference_mode():
                hidden = self.model(**enc).last_hidden_state
            if self.settings["pooling"] == "cls":
                vec = hidden[:, 0]
            else:
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            if self.settings["normalize"]:
                vec = torch.nn.functional.normalize(vec, p=2, dim=1)
            out.append(vec.float().cpu().numpy())
        return np.concatenate(out, axis=0)


def load_st(spec: str, target: str, args: dict[str, Any], *, cache_dir: Any = None,
            batch_size: int | None = None) -> SentenceTransformerModel:
    return SentenceTransformerModel(spec, target, parse_options(spec, OPTIONS["st"], args), cache_dir=cache_dir,
                                    batch_size=batch_size or DEFAULT_BATCH)


def load_hf(spec: str, target: str, args: dict[str, Any], *, cache_dir: Any = None, batch_size: int | None = None) -> HFModel:
    return HFModel(spec, target, parse_options(spec, OPTIONS["hf"], args), cache_dir=cache_dir,
                   batch_size=batch_size or DEFAULT_BATCH)
