"""The HTML board: text from files is escaped everywhere; the page is self-contained (no CDN, no server)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from codequarry.leaderboard import build_leaderboard
from codequarry.leaderboard.formats import md_escape, tex_escape

EVIL = '<script>alert("x")</script> & <img src=x onerror=alert(1)> | $\\alpha$ {{js}}'


class _Collector(HTMLParser):
    """Collects tags with their attributes and all script bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def _evil_board(tmp_path, write_result):
    write_result("evil.json", model=EVIL, spec="st:" + EVIL, per_query={"q1": 1.0, "q2": 0.5}, ci=[0.5, 1.0])
    write_result("ok.json", model="plain", per_query={"q1": 0.0, "q2": 0.5}, ci=[0.0, 0.5])
    return build_leaderboard([tmp_path / "results"], tmp_path / "out", compare_reported=True, include_reported=False)


def test_model_names_from_files_are_escaped(tmp_path, write_result):
    written = _evil_board(tmp_path, write_result)
    page = written["html"][0].read_text(encoding="utf-8")
    parsed = _Collector()
    parsed.feed(page)
    assert len(parsed.scripts) == 1  # only the board's own script
    assert "alert" not in parsed.scripts[0]
    assert not any(tag == "img" and "onerror" in attrs for tag, attrs in parsed.tags)
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;" in page
    assert "{{js}}" in page  # placeholders inside values are not expanded
    md = written["md"][0].read_text(encoding="utf-8")
    assert "<script>" not in md and r"\<script\>" in md
    tex = written["tex"][0].read_text(encoding="utf-8")
    assert "<script>" not in tex and r"\textless{}script\textgreater{}" in tex


def test_page_is_self_contained(tmp_path, write_result):
    page = _evil_board(tmp_path, write_result)["html"][0].read_text(encoding="utf-8")
    parsed = _Collector()
    parsed.feed(page)
    for tag, attrs in parsed.tags:
        if tag in ("script", "img", "link", "iframe"):
            src = attrs.get("src") or attrs.get("href") or ""
            assert not src or src.startswith("data:"), (tag, src)
        if tag == "a":
            assert attrs["href"].startswith(("https://", "http://", "#"))
            assert attrs.get("rel") == "noopener noreferrer"
    assert "<style>" in page and "@import" not in page
    assert re.search(r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', page)
    assert "sortTable" in page and "applyFilters" in page
    assert "<em>reproduced</em>" in page and "*reproduced*" not in page  # the rules' Markdown is rendered


def test_escape_helpers():
    assert md_escape("a|b*c_d<e>") == r"a\|b\*c\_d\<e\>"
    assert md_escape("two\nlines") == "two lines"
    assert tex_escape("50% of $x_1$ & #2 ~ {y}") == r"50\% of \$x\_1\$ \& \#2 \textasciitilde{} \{y\}"
