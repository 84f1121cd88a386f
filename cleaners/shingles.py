"""Code-aware shingles: the token views of a text and their hashed word n-grams (steps 1–5 of ``minhash``).

1. **Comments** (``shingles: code``, ``strip_comments``): removed before tokenizing by one regex per
   language (``comment_syntax`` in codequarry/languages/data/languages.yaml: line and block comment markers; string literals are matched
   too, so a ``#`` or ``//`` inside a string stays). On real code it yields the same tokens as
   tree-sitter's ``strip_comments`` (tested) at a small fraction of its cost (about 0.3 ms a function
   for tree-sitter, 30 s per 100k). Rows of unknown language keep their comments; Python docstrings
   are strings and stay.
2. **Tokens**: BigCode's case-preserving split on ``[^A-Za-z_0-9]`` (``re.findall(r"[A-Za-z_0-9]+")``).
   BigCode's v1 script splits on each single separator and so keeps empty pieces, which makes
   shingles depend on whitespace; we drop them, so reformatting leaves the shingles unchanged.
3. **Canonical view** (``shingles: code``, ``canonical_identifiers``): the same tokens with every
   *name* replaced by ``#`` — or by ``#d`` when the same name occurred d < ``ngram`` tokens earlier,
   so a shingle still says which of its names are the same (``x = x + 1`` → ``# = #2 + 1``). A
   consistent rename leaves this view unchanged, and an inserted statement changes it only locally.
   Not names, so kept as they are: the row language's keywords and the literal words listed in
   ``comment_syntax`` (``True``, ``null``, ``self`` …); numbers; words inside string literals;
   qualified names (right after ``.``, ``->`` or ``::``: attributes, methods, API paths); and called or
   defined names (right before ``(``) unless the text also uses that word as a plain name (a local
   callable, e.g. a parameter ``key`` called as ``key(x)``, is a name); and capitalized words of two
   characters or more (classes, types, constants and exceptions are global names a rename of locals
   never touches: without this rule ``raise KeyError`` and ``raise IndexError`` made two one-line
   methods identical; a single capital, ``T`` or ``N``, is usually a local). Those carry what a rename never
   touches, so
   unrelated code that merely shares a shape still differs here. Rows of unknown language use every
   language's keywords and no string detection.
   (Measured on 100k real functions, ``perf/dedup.py``: numbering names by first appearance instead
   made a nested function and its parent differ completely, and ``#`` without back-references
   clustered more unrelated one-liners. Replacing every number and string word by a placeholder too,
   measured on 50k functions with the Type-3 rule, let 18 of 668 same-shape rewrites match unrelated
   functions (none with literals kept) and lowered close Type-3 recall: literals stay.)
4. **Shingles**: word n-grams (default 5) of each view, kept as *separate sets* (one MinHash index per
   view, see ``signatures``); canonical n-grams are also tagged (a constant added before the final
   mix) so the two views' hashes never collide. A row with fewer than ``ngram`` tokens (but at least
   one) is one shingle of all its tokens per view; a row without tokens has no shingles.
   ``shingles: bigcode`` is BigCode's raw-token shingling alone (steps 2 and 4 with neither comment
   removal nor the canonical view).
5. **Shingle hash**: each distinct token is hashed once with ``xxh3_64(token, seed)`` (canonical names
   as the strings ``#``, ``#1`` …); an n-gram of token hashes ``h_0 … h_{n-1}`` hashes to
   ``fmix64(Σ m_k·h_k [+ tag] mod 2^64)`` (``m_k`` random odd 64-bit constants, ``fmix64`` the
   MurmurHash3 finalizer, the tag only for canonical n-grams), and its high 32 bits are kept.

A batch is tokenized in a handful of C-level passes over its texts joined into one buffer (control
bytes separate rows and flag string literals and name roles), so the Python cost per token is one
dict lookup; :meth:`Shingler.token_views` states the same tokens in plain Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from typing import TYPE_CHECKING

import numpy as np

from codequarry.cleaners.shingle_syntax import LangSyntax, kept_words, lang_syntax
from codequarry.errors import CodequarryError

if TYPE_CHECKING:
    from codequarry.cleaners.signatures import MinHashConfig

TOKEN_PATTERN = r"[A-Za-z_0-9]+"
HASH_FAMILY = "xxh3_64-tokens/fmix64-ngrams/affine32"
SHINGLES = ("code", "bigcode")
# control bytes of the joined buffer (texts never contain them: they are turned into spaces first)
_QUAL = 1  # before a token right after ".", "->" or "::"
_SEP = 2  # between rows
_OPEN, _CLOSE = 3, 4  # around a string literal (and a kept comment)
_CALL = 5  # after a token right before "("
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_S32 = np.uint64(32)
_ROW_MIX = np.uint64(0x9E3779B97F4A7C15)  # row number × this, xor a token hash: a (row, word) key


def _table(keep: bytes) -> bytes:
    """bytes.translate table: token bytes and ``keep`` stay, every other byte (UTF-8 ≥ 0x80 too) is a space."""
    return bytes(c if (chr(c).isascii() and (chr(c).isalnum() or c == 95)) or c in keep else 32 for c in range(256))


_TABLE = _table(bytes([_SEP]))
_TABLE_MARKED = _table(bytes([_SEP, _QUAL, _OPEN, _CLOSE, _CALL]))

def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer (a bijection that spreads every input bit over the output)."""
    h = h ^ (h >> _S33)
    h *= _M1
    h ^= h >> _S33
    h *= _M2
    h ^= h >> _S33
    return h


_CONTROL_CHARS = "\x01\x02\x03\x04\x05"
_CONTROLS = {ord(c): " " for c in _CONTROL_CHARS}


def _clean_controls(text: str) -> str:
    """The buffer's control bytes become spaces in a text (they are token separators anyway)."""
    if any(c in text for c in _CONTROL_CHARS):
        return text.translate(_CONTROLS)
    return text


def _index(distinct: list[bytes], token: bytes) -> int:
    """Position of ``token`` among a batch's distinct tokens, -1 when absent."""
    try:
        return distinct.index(token)
    except ValueError:
        return -1


def _mark_roles(data: bytes) -> bytes:
    """Flag qualified names (a byte before a token right after ``.``, ``->``, ``::``) and called or defined
    names (a byte after a token right before ``(``); runs before ``translate``. A flag that touches no
    token (``a . b``, ``x = (y)``) becomes a token of its own, without a word, which the views drop."""
    return data.replace(b"->", b" \x01").replace(b"::", b" \x01").replace(b".", b" \x01").replace(b"(", b"\x05 ")


def _word(token: bytes) -> bytes:
    """A buffer token without its role flags."""
    if token[:1] == b"\x01":
        token = token[1:]
    return token[:-1] if token[-1:] == b"\x05" else token


def _never_name(token: bytes) -> bool:
    """Qualified, called/defined, capitalized (two characters or more), numeric and control tokens are never
    canonicalized."""
    return (token[:1] in (b"\x01", b"\x03", b"\x04") or token[-1:] == b"\x05" or token[:1].isdigit()
            or (token[:1].isupper() and len(token) > 1))


# --------------------------------------------------------------------------------------------
# shingling


class Shingler:
    """Turns texts into token views and 32-bit n-gram hashes per view; pure and picklable.

    ``m`` (one odd 64-bit constant per n-gram position) and ``tag`` (the canonical view's constant) are
    drawn by :class:`~codequarry.cleaners.signatures.MinHasher` from the configuration's seed.
    """

    def __init__(self, config: MinHashConfig, m: np.ndarray, tag: np.uint64) -> None:
        self.config = config
        self.m = m
        self.tag = tag

    def tokens(self, text: str | None, language: str | None = None) -> list[str]:
        """The raw-view shingling tokens of one text (after comment removal for ``shingles: code``)."""
        return self.token_views(text, language)[0]

    def _prepare(self, items: list[str], langs: list[LangSyntax]) -> bytes:
        """The texts joined into one buffer: comments removed or strings wrapped, role flags set, translated."""
        cfg = self.config
        if cfg.lowercase:
            items = [t.lower() for t in items]
        if cfg.canonical_identifiers:
            keep = not cfg.strip_comments
            items = [lg.wrap(t, keep) for t, lg in zip(items, langs)]
        elif cfg.strip_comments:
            items = [lg.strip(t) for t, lg in zip(items, langs)]
        data = " \x02 ".join(items).encode("utf-8", "surrogatepass")
        if cfg.canonical_identifiers:
            return _mark_roles(data).translate(_TABLE_MARKED)
        return data.translate(_TABLE)

    def token_views(self, text: str | None, language: str | None = None) -> tuple[list[str], list[str] | None]:
        """Plain-Python statement of one text's token views: (raw tokens, canonical tokens or None).

        A canonical name is ``#`` or ``#d`` (the same name d < ngram tokens earlier). The vectorized
        batch path yields the same tokens (tested), and ``perf/dedup.py`` feeds these to datasketch.
        """
        cfg = self.config
        lang = lang_syntax(language)
        flat = self._prepare([_clean_controls(text or "")], [lang]).split()
        if not cfg.canonical_identifiers:
            return [t.decode("ascii") for t in flat], None
        kept, bit = kept_words(cfg.lowercase), 1 << lang.bit
        raw: list[str] = []
        canon: list[str] = []
        names: list[bytes | None] = []  # per token of the views: the name, or None when it is not one
        plain: set[bytes] = set()  # words the text uses as plain names
        inside = False
        for tok in flat:
            if tok in (b"\x03", b"\x04"):
                inside = tok == b"\x03"
            elif not (inside or _never_name(tok) or kept.get(tok, 0) & bit):
                plain.add(tok)
        inside = False
        for tok in flat:
            if tok in (b"\x03", b"\x04"):
                inside = tok == b"\x03"
                continue
            word = _word(tok)
            if not word:  # a role flag that touches no token
                continue
            raw.append(word.decode("ascii"))
            local_call = tok[-1:] == b"\x05" and tok[:1] != b"\x01" and word in plain  # a local callable
            if inside or (_never_name(tok) and not local_call) or kept.get(tok, 0) & bit:
                names.append(None)
                canon.append(raw[-1])
                continue
            back = next((d for d in range(1, cfg.ngram) if d <= len(names) and names[-d] == word), 0)
            names.append(word)
            canon.append(f"#{back}" if back else "#")
        return raw, canon

    def _batch_tokens(self, texts: Sequence[str | None], languages: Sequence[str | None] | None
                      ) -> tuple[list[bytes], np.ndarray, np.ndarray, np.ndarray]:
        """Distinct tokens of a batch, the flat token ids, the token count and the language bit of each text.

        With the canonical view on, string literals (and comments, when kept) are wrapped in the open and
        close bytes, and a removed comment leaves one open+close token; counts include these.
        """
        n = len(texts)
        langs = [lang_syntax(x) for x in languages] if languages is not None else [lang_syntax(None)] * n
        if len(langs) != n:
            raise CodequarryError(f"got {n} texts but {len(langs)} languages")
        if n == 0:
            return [], np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        items = [t or "" for t in texts]
        joined = "".join(items)  # one scan for the control bytes instead of one per text
        if any(c in joined for c in _CONTROL_CHARS):
            items = [_clean_controls(t) for t in items]
        del joined
        flat = self._prepare(items, langs).split()
        table: dict[bytes, int] = dict.fromkeys(flat, 0)
        for k, tok in enumerate(table):
            table[tok] = k
        tid = np.fromiter(map(table.__getitem__, flat), dtype=np.int64, count=len(flat))
        del flat
        distinct = list(table)
        sep = table.get(b"\x02", -1)
        cuts = np.flatnonzero(tid == sep)
        counts = (np.diff(np.concatenate([[-1], cuts, [len(tid)]])) - 1).astype(np.int64)
        if len(cuts):
            tid = tid[tid != sep]
        bits = np.fromiter((lg.bit for lg in langs), dtype=np.int64, count=n)
        return distinct, tid, counts, bits

    def _views(self, texts: Sequence[str | None], languages: Sequence[str | None] | None = None
               ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Flat raw token hashes, the canonical view's (same length; None when off) and per-text counts."""
        import xxhash

        cfg = self.config
        distinct, tid, counts, bits = self._batch_tokens(texts, languages)
        xx, seed, size = xxhash.xxh3_64_intdigest, cfg.seed, len(distinct)
        raw_of = np.fromiter(map(xx, distinct, repeat(seed)), dtype=np.uint64, count=size)
        if not cfg.canonical_identifiers:
            return raw_of[tid], None, counts
        n = len(counts)
        # per distinct token, vectorised: its first and last byte say whether it is flagged or a control token
        lens = np.fromiter(map(len, distinct), dtype=np.int64, count=size)
        ends = np.cumsum(lens)
        blob = np.frombuffer(b"".join(distinct), dtype=np.uint8)
        first, last = blob[ends - lens], blob[ends - 1]
        qual, call = first == _QUAL, last == _CALL
        flags_only = lens - qual - call <= 0  # a role flag that touches no token
        for i in np.flatnonzero((qual | call) & ~flags_only).tolist():
            raw_of[i] = xx(_word(distinct[i]), seed)  # a flagged name hashes as its word
        # bit mask of the languages whose canonical view keeps the token (all bits: never a name)
        keep_of = np.fromiter(map(kept_words(cfg.lowercase).get, distinct, repeat(0)), dtype=np.int64, count=size)
        keep_of[qual | call | (first == _OPEN) | (first == _CLOSE) | ((first >= 48) & (first <= 57))
                | ((first >= 65) & (first <= 90) & (lens > 1))] = -1
        row = np.repeat(np.arange(n, dtype=np.int64), counts)
        opens = tid == _index(distinct, b"\x03")
        closes = tid == _index(distinct, b"\x04")
        # inside a string literal (or kept comment): the last open/close byte before it in its row is an open
        at = np.arange(len(tid), dtype=np.int64)
        last = np.maximum.accumulate(np.where(opens | closes, at, -1)) if len(tid) else at
        inside = (last >= np.repeat(np.cumsum(counts) - counts, counts)) & opens[np.maximum(last, 0)]
        real = ~(opens | closes | flags_only[tid])
        tid, row, inside = tid[real], row[real], inside[real]
        raw = raw_of[tid]
        canon = raw.copy()
        is_name = (((keep_of[tid] >> bits[row]) & 1) == 0) & ~inside
        # a called (not qualified) name that its row also uses as a plain name is a local callable: a name too
        called = (call & ~qual & ~flags_only)[tid] & ~inside
        if called.any() and is_name.any():
            key = raw ^ (row.astype(np.uint64) * _ROW_MIX)
            is_name |= called & np.isin(key, key[is_name])
        pos = np.flatnonzero(is_name)
        if len(pos):
            # back-reference: distance to the nearest earlier occurrence of the same name (same word, so a
            # called occurrence too) within one shingle
            back = np.zeros(len(tid), np.int64)
            for d in range(cfg.ngram - 1, 0, -1):  # descending, so the nearest occurrence wins
                hit = (raw[d:] == raw[:-d]) & (row[d:] == row[:-d]) & is_name[:-d] & is_name[d:]
                back[d:][hit] = d
            names = np.fromiter((xx(b"#%d" % d if d else b"#", seed) for d in range(cfg.ngram)), dtype=np.uint64)
            canon[pos] = names[back[pos]]
        return raw, canon, np.bincount(row, minlength=n).astype(np.int64)

    def _ngrams(self, tok: np.ndarray, counts: np.ndarray, tagged: bool) -> np.ndarray:
        """32-bit n-gram hashes of one view, concatenated per text (see :meth:`shingles` for the layout)."""
        n = self.config.ngram
        total = len(tok)
        if total == 0:
            return np.zeros(0, np.uint32)
        ends = np.cumsum(counts)
        starts = ends - counts
        padded = np.concatenate([tok, np.zeros(n, np.uint64)])
        acc = padded[:total] * self.m[0]
        for k in range(1, n):
            acc += padded[k : k + total] * self.m[k]
        # position i starts a full n-gram when i + n <= end of its text
        doc_end = np.repeat(ends, counts)
        valid = np.arange(total, dtype=np.int64) + n <= doc_end
        short = np.flatnonzero((counts > 0) & (counts < n))
        if len(short):
            # a text shorter than n tokens is one shingle of all its tokens
            for i in short:
                s, c = starts[i], counts[i]
                acc[s] = np.sum(tok[s : s + c] * self.m[:c], dtype=np.uint64)
            valid[starts[short]] = True
        kept = acc[valid]
        if tagged:
            kept += self.tag
        return (fmix64(kept) >> _S32).astype(np.uint32)

    def view_shingles(self, texts: Sequence[str | None], languages: Sequence[str | None] | None = None
                      ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """32-bit shingle hashes of a batch per view (raw, then canonical when on), flattened, the offsets into
        each view's hashes per text (the same for both views), and the token counts.

        ``languages`` (one per text, codequarry language names; None = unknown) picks each row's
        comment syntax and kept words for ``shingles: code``.
        """
        raw, canon, counts = self._views(texts, languages)
        n = self.config.ngram
        per_view = np.where(counts >= n, counts - n + 1, np.minimum(counts, 1))
        offsets = np.zeros(len(texts) + 1, np.int64)
        np.cumsum(per_view, out=offsets[1:])
        views = [self._ngrams(raw, counts, False)]
        if canon is not None:
            views.append(self._ngrams(canon, counts, True))
        return views, offsets, counts
