"""Guessing the character encoding of a spreadsheet exported as CSV.

National experts export from Excel on Windows in their code page (cp1250 in Poland or Czechia, cp1253 in
Greece, cp1257 in Latvia…), from older tools in ISO-8859-x, and from everything modern in UTF-8. Short legacy
files are genuinely ambiguous: the same bytes decode without error in all of them. charset-normalizer alone
picks wrong on short files (an ISO-8859-2 line came back as Shift-JIS, a cp1257 one as cp1250), so we decide
ourselves:

1. a BOM decides (UTF-8, UTF-16);
2. bytes that decode as UTF-8 are UTF-8 (legacy text with accents is practically never valid UTF-8);
3. otherwise every candidate — the usual European code pages plus charset-normalizer's single-byte proposals —
   decodes the text, and each result is scored by how plausible its words are as European words: letters of
   one script per word, accented letters that one language's alphabet holds together, no C1 control codes,
   no symbols glued inside words, no capital letter after a small one. charset-normalizer's favourite wins
   ties. `--encoding` always overrides.
"""

from __future__ import annotations

import codecs
import itertools
import re
import unicodedata
from collections import Counter
from functools import cache

# Candidates in order of preference on a tie (the order also breaks ties between identical decodings).
# ISO-8859-16 is left out on purpose: it reads the cedilla ş/ţ of every cp1250 Romanian file as ș/ț, which
# is not what the file holds; it stays available with --encoding.
EUROPEAN = ("cp1250", "iso8859_2", "cp1252", "cp1257", "cp1253", "iso8859_7", "iso8859_13")
# How common each is among BSI files (Windows code pages first), to break ties such as "Đakovo" (cp1250) versus
# "Šakovo" (cp1257), which read equally well.
_PRIOR = {"cp1250": 0.4, "iso8859_2": 0.2, "cp1252": 0.3, "cp1257": 0.1, "cp1253": 0.2, "iso8859_7": 0.1,
          "iso8859_13": 0.0}

# Accented letters each European language uses (lower case). BSI languages score higher than the others:
# outreach's files come from the 15 BSI countries, so a letter only Estonian or Portuguese uses is weaker evidence.
_BSI_ALPHABETS = {
    "pl": "ąćęłńóśźż", "cs": "áčďéěíňóřšťúůýž", "sk": "áäčďéíĺľňóôŕšťúýž", "hu": "áéíóöőúüű",
    "ro": "ăâîșțşţ", "hr": "čćđšž", "lv": "āčēģīķļņšūž", "de": "äöüß", "fr": "àâçéèêëîïôœùûüÿ",
    "it": "àèéìòù", "da": "æøåé", "sv": "åäöé", "nl": "éëïöüè", "en": "éï", "ga": "áéíóú",
    "el": "",  # Greek words are judged by script, below
}
_OTHER_ALPHABETS = {
    "lt": "ąčęėįšųūž", "et": "äöõüšž", "es": "áéíñóúü", "pt": "áâãàçéêíóôõú", "sl": "čšž", "fi": "äöå",
    "mt": "ċġħżàèìòù", "is": "áðéíóúýþæö", "no": "æøåé", "tr": "çğıöşü", "ca": "àçèéíïòóúü",
}
# Letters that turn up mostly when a file is decoded with the wrong code page.
_RARE = set("ŕĺÿðþĳŀũŷ˙")
_CLOSING = set("’”»")
_QUOTE_PAIRS = {"«": "»", "„": "”", "»": "«", "‚": "’"}
_COMMON_PUNCTUATION = set("€–—‘’‚“”„«»°·•…§¨´\xa0\xad×±²³µ¼½¾¿¡")
_ALL_ALPHABETS = {**_BSI_ALPHABETS, **_OTHER_ALPHABETS}
_WORD = re.compile(r"[^\W\d_]+")
# A run of non-separator bytes holding at least one byte above ASCII. Anchored at the start of the run and
# possessive over the ASCII prefix, so an ASCII-only run fails in one pass instead of once per position.
_TOKEN = re.compile(rb"(?<![^\s,;\t\"'<>()\[\]|])[^\s,;\t\"'<>()\[\]|\x80-\xff]*+[\x80-\xff][^\s,;\t\"'<>()\[\]|]*")


def detect_encoding(data: bytes) -> str:
    """The Python codec name most likely used to write `data` (a CSV file's bytes)."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        # A file cut in the middle of a multi-byte character is still UTF-8.
        if error.start >= len(data) - 3 and error.reason == "unexpected end of data":
            return "utf-8"
    else:
        return "utf-8"
    tokens = [match.group() for match in itertools.islice(_TOKEN.finditer(data, 0, 4_000_000), 20_000)]
    # Lists repeat cities, organisations and first names (a generated 100,000-row file: 20,000 tokens, 69
    # distinct), so each distinct token is decoded once per candidate, and scored once (see score_text).
    distinct = dict.fromkeys(tokens)
    favourite = _charset_normalizer_favourite(data)
    best: tuple[float, int, str] | None = None
    for rank, name in enumerate(EUROPEAN):
        if not _decodes(data, name):
            continue
        decoded = {token: token.decode(name) for token in distinct}
        score = score_text([decoded[token] for token in tokens]) + _PRIOR[name]
        if name == favourite:
            score += 0.2
        candidate = (score, -rank, name)
        if best is None or candidate > best:
            best = candidate
    return best[2] if best else "cp1252"


def _decodes(data: bytes, codec: str) -> bool:
    """Whether `data` decodes in a single-byte code page: none of the bytes it leaves undefined occurs."""
    return not any(byte in data for byte in _undefined_bytes(codec))


@cache
def _undefined_bytes(codec: str) -> tuple[bytes, ...]:
    undefined = []
    for value in range(256):
        try:
            bytes([value]).decode(codec)
        except UnicodeDecodeError:
            undefined.append(bytes([value]))
    return tuple(undefined)


def score_text(tokens: list[str]) -> float:
    """How plausible decoded tokens are as European text; higher is better.

    Each token is scored on its own (see `score_token`); then the whole text pays for every language needed
    to explain its accented words, because a wrong code page turns one language into a patchwork of several
    (French "Hélène" read as cp1250 is Czech-looking "Hélčne" next to French "Besançon").

    The score is a sum over tokens, and real lists repeat the same cities, organisations and first names, so
    each distinct token is scored once and counted as often as it occurs. The per-token scores are still added
    one by one in the order of the text, so the float sum is bit for bit the one of scoring every token.
    """
    counts = Counter(tokens)  # in order of first occurrence
    scores = {token: score_token(token) for token in counts}
    score = 0.0
    for token in tokens:
        score += scores[token]
    needs: dict[frozenset[str], int] = {}
    opening = {quote: 0 for quote in _QUOTE_PAIRS}
    closing = {quote: 0 for quote in _QUOTE_PAIRS}
    for token, count in counts.items():
        for word in _WORD.findall(token):
            languages = _languages_of(word)
            if languages:
                needs[languages] = needs.get(languages, 0) + count
        for start, end in _QUOTE_PAIRS.items():
            if token.startswith(start):
                opening[start] += count
            if token.endswith(end):
                closing[start] += count
    # Quotes that open and close around words („Razem”, «La Fenice») are real punctuation, not stray letters.
    score += sum(3 * min(opening[quote], closing[quote]) for quote in _QUOTE_PAIRS)
    return score - _languages_cost(needs)


def _languages_cost(needs: dict[frozenset[str], int]) -> float:
    """Greedy set cover: what it costs to explain every word; a language outside the BSI costs more."""
    remaining = dict(needs)
    cost = 0.0
    while remaining:
        tally: dict[str, float] = {}
        for languages, words in remaining.items():
            for language in languages:
                tally[language] = tally.get(language, 0) + words + (0.5 if language in _BSI_ALPHABETS else 0)
        chosen = max(sorted(tally), key=tally.__getitem__)
        remaining = {langs: n for langs, n in remaining.items() if chosen not in langs}
        cost += 3.0 if chosen in _BSI_ALPHABETS else 5.0
    return cost


def _languages_of(word: str) -> frozenset[str]:
    accented = {c.lower() for c in word if ord(c) >= 128}
    if not accented:
        return frozenset()
    if all(_script(c) == "greek" for c in accented):
        return frozenset({"el"})
    return frozenset(lang for lang, letters in _ALL_ALPHABETS.items() if letters and accented <= set(letters))


def score_token(text: str) -> float:
    """How plausible one decoded token (a run of non-space characters) is as European text; higher is better."""
    score = 0.0
    for char in text:
        if "\x80" <= char <= "\x9f" or unicodedata.category(char) in ("Cc", "Co", "Cn"):
            score -= 10
    for index, char in enumerate(text):
        if ord(char) < 128 or char.isalpha() or char.isspace():
            continue
        inside = 0 < index < len(text) - 1 and text[index - 1].isalpha() and text[index + 1].isalpha()
        if char in _COMMON_PUNCTUATION:
            if inside:
                score -= 2
            elif char in _CLOSING and index + 1 < len(text) and text[index + 1].isalpha():
                score -= 3  # a closing quote opening a word: ISO-8859-7's ’ where cp1253 has Ά
        else:
            # A symbol glued to letters ("Timiºoara") is the classic sign of a wrong code page.
            score -= 4 if inside or _touches_letter(text, index) else 1
    for word in _WORD.findall(text):
        score += _score_word(word)
    return score


def _touches_letter(text: str, index: int) -> bool:
    return (index > 0 and text[index - 1].isalpha()) or (index + 1 < len(text) and text[index + 1].isalpha())


def _score_word(word: str) -> float:
    accented = [c for c in word if ord(c) >= 128]
    if not accented:
        return 0.0
    scripts = {_script(c) for c in word}
    if len(scripts) > 1:
        return -6.0
    script = scripts.pop()
    if script == "greek":
        return 2.0 + 0.1 * len(word)
    if script != "latin":
        return -3.0
    score = 0.0
    # A capital inside a word after a small letter ("MiÓdzie") does not happen in names, nor an accented capital
    # before a capital and a small letter ("ŤLa", ISO-8859-2's reading of "«La").
    for before, char in itertools.pairwise(word):
        if before.islower() and char.isupper() and ord(char) >= 128:
            score -= 3
    if len(word) > 2 and ord(word[0]) >= 128 and word[0].isupper() and word[1].isupper() and word[2].islower():
        score -= 3
    for index in range(1, len(word) - 1):
        char = word[index]
        # An accented consonant between two consonants ("Lřvstad" for Danish "Løvstad") is rare in any language.
        if ord(char) >= 128 and not _is_vowel(char) and not _is_vowel(word[index - 1]) \
                and not _is_vowel(word[index + 1]):
            score -= 2
    for index, char in enumerate(word):
        # Czech writes ě only after b, p, v, f, m, d, t, n ("Forlě" is Italian "Forlì" read as cp1250).
        if char in "ěĚ" and (index == 0 or word[index - 1].lower() not in "bpvfmdtn"):
            score -= 3
        # …and ů never at the start of a word or after a vowel ("Ůodzi", "dziaůu": Polish ł read as cp1250).
        if char in "ůŮ" and (index == 0 or _is_vowel(word[index - 1])):
            score -= 3
    if len(accented) >= 4 and len(accented) * 10 > len(word) * 6:
        score -= 3  # mostly accented letters: a Greek word read as Latin-1
    letters = {c.lower() for c in accented}
    score -= 2 * len(letters & _RARE)
    if any(letters <= set(alphabet) for alphabet in _alphabets(True)):
        return score + 2 + 0.2 * len(accented)
    if any(letters <= set(alphabet) for alphabet in _alphabets(False)):
        return score + 1
    return score - 4


@cache
def _is_vowel(char: str) -> bool:
    base = unicodedata.normalize("NFD", char)[0].lower()
    return base in "aeiouy" or char.lower() in "æøœ"


@cache
def _alphabets(bsi: bool) -> tuple[str, ...]:
    table = _BSI_ALPHABETS if bsi else _OTHER_ALPHABETS
    return tuple(letters for letters in table.values() if letters)


@cache  # a text has few distinct letters, and unicodedata.name is slow
def _script(char: str) -> str:
    if ord(char) < 128:
        return "latin"
    name = unicodedata.name(char, "")
    for script in ("LATIN", "GREEK", "CYRILLIC"):
        if name.startswith(script):
            return script.lower()
    return "other"


def _charset_normalizer_favourite(data: bytes) -> str | None:
    """charset-normalizer's choice among our candidates, used only to break near-ties."""
    from charset_normalizer import from_bytes

    try:
        best = from_bytes(data[:200_000], cp_isolation=list(EUROPEAN)).best()
    except Exception:  # a detector failure must not stop an import; our own scoring decides
        return None
    return best.encoding if best else None


def codec_name(user_value: str) -> str:
    """The codec for an `--encoding` value ("windows-1250", "latin2", "UTF-8"…), or ValueError."""
    info = codecs.lookup(user_value.strip())
    return "utf-8-sig" if info.name == "utf-8" else info.name
