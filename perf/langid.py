"""Measure the ``english_only`` filter: English docstrings dropped vs. genuinely non-English text caught.

Data, all real and local (no network):

* **English**: CodeSearchNet-style docstring summaries (``codequarry.languages.extract_functions``) of
  every documented function in the installed standard library and site-packages.
* **Non-English**: translated messages (``msgstr``) of the gettext catalogs under
  ``/usr/share/locale/*/LC_MESSAGES/*.mo`` (coreutils, glib, gtk, git, postgres, …; 120+ languages),
  cleaned of format placeholders, mnemonics and markup; only messages of ≥ 3 words whose words
  are mostly not the English original's (untranslated and half-translated strings are left out);
  English locales (en*), Old English (ang) and Scots (sco) excluded; ≤ ``--per-lang`` per language.
* **Hand-written**: docstring-style summaries written for this benchmark in 14 languages (below).

Split: files (English) and catalog domains (non-English) are split in two by xxh3(path or domain)
parity. The filter's English vocabulary (``cleaners/langid_english.txt``) is built from the dev
half only (``--build-vocab``); the figures are measured on the test half, which nothing was tuned on.

Usage: ``python perf/langid.py [--n 5000] [--per-lang 40] [--split test] [--build-vocab]``
"""

from __future__ import annotations

import argparse
import collections
import random
import re
import struct
import sys
import sysconfig
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCALE_DIR = Path("/usr/share/locale")
VOCAB_PATH = REPO / "cleaners" / "langid_english.txt"
_SKIP_DOMAINS = re.compile(r"^(iso_|iso-|xkeyboard)")  # country/language/keyboard names, not sentences
_SKIP_LANGS = ("en", "ang", "sco", "C")
_PLACEHOLDER = re.compile(r"%(\([^)]*\))?[-#0 +']*(\d+|\*)?(\.(\d+|\*))?[hlLqjzt]*[diouxXeEfFgGcrsaAp%]"
                          r"|\{[^{}]*\}|\$\{[^}]*\}|<[^>]+>|&\w+;")

# Written for this benchmark: what a docstring summary looks like in other languages.
HANDWRITTEN: dict[str, list[str]] = {
    "fr": ["Retourne la liste des utilisateurs actifs.", "Calcule la moyenne des valeurs du tableau.",
           "Ouvre le fichier et lit toutes les lignes.", "Vérifie si la chaîne est une adresse valide.",
           "Supprime les éléments en double de la liste.", "Convertit la date en texte lisible."],
    "es": ["Devuelve el número de elementos en la cola.", "Crea una nueva conexión con la base de datos.",
           "Guarda la configuración en un archivo temporal.", "Comprueba si el usuario tiene permisos de escritura.",
           "Elimina los espacios al principio y al final.", "Convierte la cadena a minúsculas."],
    "pt": ["Retorna o valor máximo da lista.", "Cria um novo arquivo com o conteúdo informado.",
           "Verifica se o número é primo.", "Envia uma mensagem para o servidor remoto.",
           "Lê os dados do arquivo de entrada.", "Calcula a distância entre dois pontos."],
    "it": ["Restituisce il numero di righe del file.", "Calcola la somma degli elementi della lista.",
           "Apre una connessione al server remoto.", "Controlla se la stringa è vuota.",
           "Ordina gli elementi in ordine crescente.", "Salva le impostazioni dell'utente."],
    "de": ["Gibt die Anzahl der Zeilen in der Datei zurück.", "Berechnet den Mittelwert aller Werte.",
           "Öffnet die Verbindung zur Datenbank.", "Prüft, ob der Benutzer angemeldet ist.",
           "Entfernt doppelte Einträge aus der Liste.", "Wandelt das Datum in eine Zeichenkette um."],
    "nl": ["Geeft het aantal regels in het bestand terug.", "Berekent het gemiddelde van de lijst.",
           "Opent een verbinding met de server.", "Controleert of de gebruiker bestaat.",
           "Verwijdert alle lege regels.", "Schrijft de gegevens naar een nieuw bestand."],
    "sv": ["Returnerar antalet rader i filen.", "Beräknar medelvärdet av listan.",
           "Öppnar en anslutning till servern.", "Kontrollerar om användaren finns.",
           "Tar bort alla tomma rader.", "Skriver data till en ny fil."],
    "pl": ["Zwraca liczbę wierszy w pliku.", "Oblicza średnią wartość listy.",
           "Otwiera połączenie z serwerem.", "Sprawdza, czy użytkownik istnieje.",
           "Usuwa wszystkie puste wiersze.", "Zapisuje dane do nowego pliku."],
    "tr": ["Dosyadaki satır sayısını döndürür.", "Listenin ortalamasını hesaplar.",
           "Sunucuya bir bağlantı açar.", "Kullanıcının var olup olmadığını kontrol eder.",
           "Tüm boş satırları siler.", "Verileri yeni bir dosyaya yazar."],
    "id": ["Mengembalikan jumlah baris dalam berkas.", "Menghitung rata-rata dari daftar nilai.",
           "Membuka koneksi ke server.", "Memeriksa apakah pengguna sudah terdaftar.",
           "Menghapus semua baris kosong.", "Menulis data ke berkas baru."],
    "vi": ["Trả về số dòng trong tệp.", "Tính giá trị trung bình của danh sách.",
           "Mở kết nối đến máy chủ.", "Kiểm tra xem người dùng có tồn tại không.",
           "Xóa tất cả các dòng trống.", "Ghi dữ liệu vào tệp mới."],
    "ru": ["Возвращает количество строк в файле.", "Вычисляет среднее значение списка.",
           "Открывает соединение с сервером.", "Проверяет, существует ли пользователь.",
           "Удаляет все пустые строки.", "Записывает данные в новый файл."],
    "zh": ["返回文件中的行数。", "计算列表的平均值。", "打开与服务器的连接。", "检查用户是否存在。",
           "删除所有空行。", "将数据写入新文件。"],
    "ja": ["ファイルの行数を返します。", "リストの平均値を計算します。", "サーバーへの接続を開きます。",
           "ユーザーが存在するかどうかを確認します。", "空の行をすべて削除します。", "データを新しいファイルに書き込みます。"],
}

# langdetect 1.0.9's 55 profiles (as ISO codes of the locale directories)
LANGDETECT_LANGS = frozenset(
    "af ar bg bn ca cs cy da de el en es et fa fi fr gu he hi hr hu id it ja kn ko lt lv mk ml mr ne nl no pa "
    "pl pt ro ru sk sl so sq sv sw ta te th tl tr uk ur vi zh nb nn".split())


def _half(key: str, which: int) -> bool:
    import xxhash

    return xxhash.xxh3_64_intdigest(key.encode("utf-8", "surrogatepass")) % 2 == which


# --------------------------------------------------------------------------------------------
# English docstrings


def english_summaries(which: int, need: int | None = None, seed: int = 0) -> dict[str, str]:
    """Docstring summary → source file, from the documented functions of stdlib + site-packages files
    in one half, visiting files in a seeded random order until ``need`` summaries are found."""
    from codequarry.languages import extract_functions

    roots = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]
    files = sorted(str(p) for root in roots for p in root.rglob("*.py") if _half(str(p), which))
    random.Random(seed).shuffle(files)
    out: dict[str, str] = {}
    for name in files:
        try:
            src = Path(name).read_bytes()
        except OSError:
            continue
        if len(src) > 1_000_000:
            continue
        try:
            functions = extract_functions(src, "python")
        except Exception:
            continue
        for f in functions:
            summary = " ".join(f.summary.split())
            if summary:
                out.setdefault(summary, name)
        if need is not None and len(out) >= need:
            break
    return out


# --------------------------------------------------------------------------------------------
# gettext catalogs


def read_mo(path: Path) -> list[tuple[str, str]]:
    """(msgid, msgstr) pairs of a GNU .mo catalog (first plural form; context stripped)."""
    data = path.read_bytes()
    if len(data) < 20:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic == 0x950412DE else ">"
    _, count, ids_at, strs_at = struct.unpack(order + "4I", data[4:20])
    raw = []
    charset = "utf-8"
    for i in range(count):
        l1, o1 = struct.unpack(order + "2I", data[ids_at + 8 * i: ids_at + 8 * i + 8])
        l2, o2 = struct.unpack(order + "2I", data[strs_at + 8 * i: strs_at + 8 * i + 8])
        msgid, msgstr = data[o1:o1 + l1], data[o2:o2 + l2]
        if l1 == 0:
            m = re.search(rb"charset=([\w-]+)", msgstr)
            if m:
                charset = m.group(1).decode("ascii")
            continue
        raw.append((msgid, msgstr))
    out = []
    for msgid, msgstr in raw:
        try:
            a = msgid.decode(charset).split("\x00")[0]
            b = msgstr.decode(charset).split("\x00")[0]
        except (LookupError, UnicodeDecodeError):
            continue
        out.append((a.split("\x04", 1)[-1], b))
    return out


def clean_message(text: str) -> str:
    text = _PLACEHOLDER.sub(" ", text).replace("_", "").replace("&", "").replace("\\n", " ")
    return " ".join(text.split())


def catalog_messages(which: int, locale_dir: Path = LOCALE_DIR) -> tuple[dict[str, list[str]], set[str]]:
    """Non-English messages per language, and the English msgids, of the catalogs in one half."""
    from codequarry.cleaners.langid import prose_words

    by_lang: dict[str, set[str]] = collections.defaultdict(set)
    msgids: set[str] = set()
    for path in sorted(locale_dir.glob("*/LC_MESSAGES/*.mo")):
        locale, domain = path.parts[-3], path.stem
        if _SKIP_DOMAINS.match(domain) or not _half(domain, which):
            continue
        try:
            pairs = read_mo(path)
        except (OSError, struct.error):
            continue
        lang = re.split(r"[_@.]", locale)[0]
        english = lang.startswith(_SKIP_LANGS)
        for msgid, msgstr in pairs:
            msgids.add(msgid)
            if english or not msgstr or msgstr == msgid:
                continue
            text = clean_message(msgstr)
            if sum(1 for w in text.split() if re.search(r"[^\W\d_]", w)) < 3:
                continue
            words = {w.lower() for w in prose_words(text)}
            original = {w.lower() for w in prose_words(clean_message(msgid))}
            if not words or len(words & original) / len(words) >= 0.5:
                continue  # untranslated or half-translated
            by_lang[lang].add(text)
    return {k: sorted(v) for k, v in sorted(by_lang.items())}, msgids


# --------------------------------------------------------------------------------------------
# vocabulary


def build_vocab(path: Path = VOCAB_PATH) -> int:
    """Write the English vocabulary from the dev half: catalog msgids (words in ≥ 2) + docstrings (≥ 3)."""
    from codequarry.cleaners.langid import prose_words

    _, msgids = catalog_messages(0)
    df: collections.Counter[str] = collections.Counter()
    for m in msgids:
        df.update({w.lower() for w in prose_words(clean_message(m)) if w.isascii() and len(w) >= 2})
    words = {w for w, c in df.items() if c >= 2}
    docs: collections.Counter[str] = collections.Counter()
    for summary in english_summaries(0):
        docs.update({w.lower() for w in prose_words(summary) if w.isascii() and len(w) >= 2})
    words |= {w for w, c in docs.items() if c >= 3}
    header = ("# English vocabulary for cleaners/langid.py, generated by perf/langid.py --build-vocab from the dev half:\n"
              "# words in >= 2 English msgids of /usr/share/locale catalogs, and in >= 3 docstring summaries\n"
              "# of the installed stdlib + site-packages. One lower-case word per line.\n")
    path.write_text(header + "\n".join(sorted(words)) + "\n", encoding="utf-8")
    return len(words)


# --------------------------------------------------------------------------------------------
# measurement


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=5000, help="English docstrings to measure (default 5000)")
    ap.add_argument("--per-lang", type=int, default=40, help="non-English messages per language (default 40)")
    ap.add_argument("--split", choices=("test", "dev"), default="test", help="which half to measure (default test)")
    ap.add_argument("--speed-n", type=int, default=500, help="queries timed per backend (default 500)")
    ap.add_argument("--build-vocab", action="store_true", help="regenerate cleaners/langid_english.txt from the dev half")
    ap.add_argument("--show", type=int, default=0, help="print this many errors of each kind")
    args = ap.parse_args(argv)
    if args.build_vocab:
        print(f"wrote {build_vocab()} words to {VOCAB_PATH}")
        return 0
    if not LOCALE_DIR.is_dir():
        print(f"{LOCALE_DIR} not found: no gettext catalogs to measure non-English text on", file=sys.stderr)
        return 2

    from codequarry.cleaners.langid import EnglishOnly, detect_langs, resolve_backend

    which = 1 if args.split == "test" else 0
    t0 = time.time()
    summaries = list(english_summaries(which, need=args.n))
    random.Random(0).shuffle(summaries)
    english = summaries[: args.n]
    by_lang, _ = catalog_messages(which)
    foreign: list[tuple[str, str]] = []
    for lang, msgs in by_lang.items():
        msgs = list(msgs)
        random.Random(lang).shuffle(msgs)
        foreign.extend((lang, m) for m in msgs[: args.per_lang])
    hand = [(lang, s) for lang, ss in HANDWRITTEN.items() for s in ss]
    print(f"data ({args.split} half, {time.time() - t0:.0f}s): {len(english)} English docstring summaries; "
          f"{len(foreign)} catalog messages in {len(by_lang)} languages; {len(hand)} hand-written in {len(HANDWRITTEN)}")

    have_rs = resolve_backend("auto") == "langdetect_rs"
    backend = "langdetect_rs" if have_rs else "langdetect"

    def naive(text: str, min_prob: float = 0.0) -> bool:
        ranked = detect_langs(text, backend, 0)
        return bool(ranked) and ranked[0][0] != "en" and ranked[0][1] >= min_prob

    ours = EnglishOnly.from_config({"backend": backend})

    def ours_drop(text: str) -> bool:
        return not ours.verdict(text).keep

    methods = [("langdetect: top ≠ en", naive), ("langdetect: top ≠ en, p ≥ 0.9", lambda t: naive(t, 0.9)),
               ("english_only (default)", ours_drop)]
    groups = {
        "all": [m for _, m in foreign],
        "langdetect langs": [m for lang, m in foreign if lang in LANGDETECT_LANGS],
        "other langs": [m for lang, m in foreign if lang not in LANGDETECT_LANGS],
    }
    header = (f"{'method':<32} {'EN dropped':>10} " + " ".join(f"{'caught ' + g:>22}" for g in groups)
              + f" {'hand-written':>13}")
    print(header)
    print("-" * len(header))
    for name, fn in methods:
        en = sum(fn(t) for t in english) / max(1, len(english))
        cells = [sum(fn(t) for t in g) / max(1, len(g)) for g in groups.values()]
        hw = sum(fn(t) for _, t in hand) / len(hand)
        print(f"{name:<32} {en:>9.2%} " + " ".join(f"{c:>22.2%}" for c in cells) + f" {hw:>12.2%}")
    print(f"(group sizes: {', '.join(f'{g} {len(v)}' for g, v in groups.items())})")

    if args.show:
        dropped = [t for t in english if ours_drop(t)][: args.show]
        missed = [(lang, t) for lang, t in foreign if not ours_drop(t)][: args.show]
        print("\nEnglish dropped:", *[f"  {t!r} → {ours.verdict(t)}" for t in dropped], sep="\n")
        print("non-English kept:", *[f"  [{lang}] {t!r} → {ours.verdict(t)}" for lang, t in missed], sep="\n")

    # speed and equality of the two backends
    sample = english[: args.speed_n]
    timings = {}
    results = {}
    for b in ("langdetect", "langdetect_rs"):
        if b == "langdetect_rs" and not have_rs:
            continue
        detect_langs("warm up the profiles", b, 0)
        t = time.perf_counter()
        results[b] = [detect_langs(q, b, 0) for q in sample]
        timings[b] = (time.perf_counter() - t) / len(sample) * 1000
    print(f"\n{'backend':<16} {'ms/query':>9}")
    for b, ms in timings.items():
        print(f"{b:<16} {ms:>9.3f}")
    if len(results) == 2:
        same = sum(a == b for a, b in zip(results["langdetect"], results["langdetect_rs"]))
        print(f"langdetect-rs identical to langdetect on {same}/{len(sample)} queries (languages and probabilities)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
