"""The letter n-gram and the word-by-word choice between English and arbitrary letters (hdl_native/ocr/language.py)."""
import itertools
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from hdl_native.errors import HDLError
from hdl_native.ocr.language import (BEAM, BOUNDARY, EXPAND, LETTERS, SHIPPED, SYMBOLS, LetterNgrams,
                                     apply_language, conditional_letters, count_ngrams, english_readings,
                                     load_language, load_ngrams, read_word, save_ngrams, words_of)

WORDS = ["hello", "help", "hell", "held", "yellow", "fellow", "low", "owl", "we", "well", "deep", "peel"] * 5


def small_model(order=3, words=WORDS):
    return LetterNgrams(count_ngrams(words, order))


def indices(word):
    return [LETTERS.index(c) for c in word]


def network(word, sure=0.9, others=None):
    """log-probabilities (n, 26) of a network that gives each letter of `word` probability `sure`, the rest
    spread evenly, or the rows `others` gives for chosen positions {t: {letter: p}}."""
    rows = np.full((len(word), 26), (1 - sure) / 25)
    rows[np.arange(len(word)), indices(word)] = sure
    for t, spread in (others or {}).items():
        rows[t] = 1e-6
        for letter, p in spread.items():
            rows[t, LETTERS.index(letter)] = p
        rows[t] /= rows[t].sum()
    return np.log(rows)


def test_words_of_takes_runs_of_letters_lower_cased():
    assert words_of("Hello, wORLD! it's 42 o'clock") == ["hello", "world", "it", "s", "o", "clock"]


def test_count_ngrams_counts_every_gram_of_the_padded_words():
    tables = count_ngrams(["ab", "b"], order=2)
    codes, counts = tables[1]
    unigrams = dict(zip(codes.tolist(), counts.tolist()))
    assert unigrams == {0: 1, 1: 2, BOUNDARY: 2}  # a, b twice, two word ends
    codes, counts = tables[2]
    bigrams = {(c // SYMBOLS, c % SYMBOLS): n for c, n in zip(codes.tolist(), counts.tolist())}
    assert bigrams == {(BOUNDARY, 0): 1, (0, 1): 1, (1, BOUNDARY): 2, (BOUNDARY, 1): 1}
    assert np.all(np.diff(tables[2][0].astype(np.int64)) > 0)


def test_witten_bell_probabilities_by_hand():
    model = LetterNgrams(count_ngrams(["ab", "b"], order=2))
    unigram = (np.bincount([0, 1, 1, BOUNDARY, BOUNDARY], minlength=SYMBOLS) + 1.0) / (5 + SYMBOLS)
    np.testing.assert_allclose(np.exp(model.next_of(())), unigram)
    # after 'b': only the end seen, twice, one kind -> (2 * [end] + 1 * unigram) / (2 + 1)
    expected = unigram / 3
    expected[BOUNDARY] += 2 / 3
    np.testing.assert_allclose(np.exp(model.next_of((1,))), expected)
    # a word starts with 'a' once and 'b' once: two kinds -> ([a] + [b] + 2 * unigram) / (2 + 2)
    expected = 2 * unigram
    expected[[0, 1]] += 1
    np.testing.assert_allclose(np.exp(model.next_of((BOUNDARY,))), expected / 4)
    np.testing.assert_allclose(np.exp(model.next_of((25,))), unigram)  # 'z' never seen: the unigram


def test_every_context_gives_a_distribution():
    model = small_model(order=4)
    rng = np.random.default_rng(0)
    contexts = [(), (BOUNDARY,) * 3, tuple(indices("hel")), tuple(indices("xyz")), (BOUNDARY, 7, 4)]
    contexts += [tuple(rng.integers(0, SYMBOLS, 3).tolist()) for _ in range(20)]
    for context in contexts:
        p = np.exp(model.next_of(context))
        assert p.shape == (SYMBOLS,) and np.all(p > 0)
        assert p.sum() == pytest.approx(1.0)
    seen, unseen = model.word_log_probability(indices("hello")), model.word_log_probability(indices("hqllo"))
    assert seen > unseen + 5


def test_save_and_load_give_the_same_model(tmp_path):
    tables = count_ngrams(WORDS, order=3)
    save_ngrams(tmp_path / "m.npz", tables, "twelve words")
    loaded = load_ngrams(tmp_path / "m.npz")
    assert loaded.order == 3 and loaded.source == "twelve words"
    for context in [(), (BOUNDARY, BOUNDARY), tuple(indices("el")), tuple(indices("qq"))]:
        np.testing.assert_allclose(loaded.next_of(context), LetterNgrams(tables).next_of(context))


def test_saving_where_it_cannot_names_the_file_and_leaves_nothing(tmp_path):
    tables = count_ngrams(WORDS, order=2)
    with pytest.raises(HDLError, match="cannot write .*missing/m.npz"):
        save_ngrams(tmp_path / "missing" / "m.npz", tables, "")
    save_ngrams(tmp_path / "m.npz", tables, "first")
    save_ngrams(tmp_path / "m.npz", tables, "second")  # replaces the file whole
    assert load_ngrams(tmp_path / "m.npz").source == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_bad_files_name_the_file(tmp_path):
    with pytest.raises(HDLError, match="missing.npz"):
        load_ngrams(tmp_path / "missing.npz")
    (tmp_path / "text.npz").write_text("not numpy")
    with pytest.raises(HDLError, match="text.npz"):
        load_ngrams(tmp_path / "text.npz")
    shipped = Path(SHIPPED["english"]).read_bytes()
    (tmp_path / "cut.npz").write_bytes(shipped[:3000])  # a download or copy cut short
    with pytest.raises(HDLError, match="cut.npz: cannot read"):
        load_ngrams(tmp_path / "cut.npz")
    np.savez(tmp_path / "other.npz", format=np.array("something-else"))
    with pytest.raises(HDLError, match="other.npz: not a letter n-gram file"):
        load_ngrams(tmp_path / "other.npz")
    tables = count_ngrams(WORDS, order=2)
    tables[2] = (tables[2][0][::-1].copy(), tables[2][1][::-1].copy())
    save_ngrams(tmp_path / "unsorted.npz", tables, "")
    with pytest.raises(HDLError, match="unsorted.npz: its 2-gram codes are not sorted"):
        load_ngrams(tmp_path / "unsorted.npz")
    with pytest.raises(HDLError, match="unknown language 'klingon'"):
        load_language("klingon")
    assert load_language("none") is None


def test_the_beam_search_finds_the_best_english_reading():
    """Where each glyph has three likely letters, the beam keeps every reading: compare with all 27 of them."""
    model = small_model()
    rng = np.random.default_rng(1)
    for _ in range(10):
        log_p = np.full((3, 26), -30.0)
        options = [rng.choice(26, 3, replace=False) for _ in range(3)]
        for t, letters in enumerate(options):
            log_p[t, letters] = np.log(rng.dirichlet(np.ones(3)))
        scores = {seq: sum(log_p[t, c] for t, c in enumerate(seq)) + model.word_log_probability(seq)
                  for seq in itertools.product(*[o.tolist() for o in options])}
        best = max(scores, key=scores.get)
        reading = read_word(log_p, model)
        assert tuple(reading.letters) == best
        arbitrary = log_p.max(axis=1).sum() + 3 * np.log(1 / 26)
        assert reading.p_english == pytest.approx(1 / (1 + np.exp(arbitrary - scores[best])))


def one_beam_at_a_time(log_p, ngrams):
    """english_readings written beam by beam, as it was until it grew all beams at once (the reference)."""
    beams = [(0.0, (BOUNDARY,) * (ngrams.order - 1), ())]
    for t in range(len(log_p)):
        grown = []
        for score, context, letters in beams:
            scores = score + log_p[t] + ngrams.next_of(context)[:BOUNDARY]
            for letter in np.argpartition(-scores, EXPAND)[:EXPAND].tolist():
                grown.append((float(scores[letter]), context[1:] + (letter,), letters + (letter,)))
        grown.sort(key=lambda beam: -beam[0])
        beams = grown[:BEAM]
    return beams, np.array([score + ngrams.next_of(context)[BOUNDARY] for score, context, _ in beams])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_beams_grown_all_at_once_are_exactly_those_grown_one_at_a_time(dtype):
    """Same readings in the same order, same scores to the bit, in the network's float32 as in float64: the shipped
    5-gram on words of 1 to 11 glyphs, some with rounded logits (letters the network scores alike)."""
    ngrams = load_language("english")
    rng = np.random.default_rng(7)
    for trial in range(150):
        logits = rng.normal(0, [0.5, 3, 8][trial % 3], (int(rng.integers(1, 12)), 26))
        if trial % 4 == 0:
            logits = np.round(logits)
        log_p = (logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))).astype(dtype)
        beams, ended = english_readings(log_p, ngrams)
        expected_beams, expected_ended = one_beam_at_a_time(log_p, ngrams)
        assert beams == expected_beams and np.array_equal(ended, expected_ended), trial


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_words_that_begin_alike_start_from_the_beam_their_first_rows_left(dtype):
    """english_readings with a shared `prefixes` dict: the same readings and scores to the bit as without, for words
    made of the same rows cut and joined as word_cuts' combinations are (one a prefix of another, the same rows
    twice, rows that differ only in the last glyph), and the beams after shared first rows are taken, not grown."""
    ngrams = load_language("english")
    rng = np.random.default_rng(11)
    logits = rng.normal(0, 4, (12, 26))
    rows = (logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))).astype(dtype)
    words = [rows[:5], rows[:8], rows[:5], rows[[0, 1, 2, 3, 9]], rows[[0, 1, 10, 3]], rows[:1], rows[[6, 7]]]
    prefixes = {}
    for word in words:
        beams, ended = english_readings(word, ngrams, prefixes)
        expected_beams, expected_ended = english_readings(word, ngrams)
        assert beams == expected_beams and np.array_equal(ended, expected_ended)
    assert len(prefixes) == 8 + 1 + 2 + 2  # rows 0..7, then 9 after 0..3, 10 and 3 after 0..1, then 6 and 6..7
    calls = []
    next_of = ngrams.next_of
    ngrams.next_of = lambda context: calls.append(context) or next_of(context)
    try:
        english_readings(rows[:8], ngrams, prefixes)  # every step taken from `prefixes`: only the word's end asked
    finally:
        ngrams.next_of = next_of
    assert len(calls) == BEAM


def test_conditional_letters_are_the_word_probability_with_one_glyph_changed():
    model = small_model(order=3)
    log_p = network("helo", sure=0.6)
    letters = indices("helo")
    conditional = conditional_letters(log_p, letters, model)
    for t in range(4):
        scores = np.array([log_p[t, c] + model.word_log_probability(letters[:t] + [c] + letters[t + 1:])
                           for c in range(26)])
        np.testing.assert_allclose(conditional[t], np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum())


def test_an_unsure_english_word_is_read_as_the_word():
    model = small_model()
    unsure = network("hello", others={2: {"l": 0.3, "i": 0.7}, 3: {"l": 0.4, "t": 0.6}})
    assert "".join(LETTERS[i] for i in unsure.argmax(axis=1)) == "heito"
    reading = read_word(unsure, model)
    assert "".join(LETTERS[i] for i in reading.letters) == "hello" and reading.p_english > 0.99


def test_clear_letters_that_make_no_word_keep_the_networks_reading():
    model = small_model()
    reading = read_word(network("xqzk", sure=0.95), model)
    assert reading.p_english < 0.01


def test_a_glyph_is_as_unsure_as_its_readings_say():
    """Nothing read (every letter equally likely): the English readings differ, so no glyph is made sure."""
    reading = read_word(np.full((4, 26), np.log(1 / 26)), load_language("english"))
    assert reading.p_english > 0.5 and reading.posterior.max() < 0.9
    np.testing.assert_allclose(reading.posterior.sum(axis=1), 1.0)
    clear = read_word(network("hello", sure=0.99), load_language("english"))
    assert clear.letters == indices("hello") and clear.p_english > 0.5
    assert list(clear.posterior.argmax(axis=1)) == indices("hello")
    assert np.all(clear.posterior[np.arange(1, 5), indices("ello")] > 0.95)  # the h less: "fellow" is frequent


def glyphs_at(lefts, width=20, height=30):
    return [SimpleNamespace(top=0, bottom=height, left=x, right=x + width) for x in lefts]


def test_apply_language_reads_each_word_and_leaves_other_and_other_models_alone():
    model = small_model()
    classes = list(LETTERS) + ["other"]
    hello = np.exp(network("hello", others={2: {"l": 0.3, "i": 0.7}}))
    xq = np.exp(network("xq", sure=0.95))
    rows = np.vstack([hello, xq])
    p = np.hstack([0.9 * rows, np.full((7, 1), 0.1)])
    p[5:, 26] = 0.02  # the second word's glyphs are surer letters
    p[5:, :26] = 0.98 * xq
    glyphs = glyphs_at([0, 24, 48, 72, 96, 300, 324])  # a word break before the sixth glyph
    read = apply_language(glyphs, p, classes, model)
    assert "".join(classes[i] for i in read.argmax(axis=1)) == "helloxq"
    np.testing.assert_allclose(read[:, 26], p[:, 26])  # 'other' keeps its probability
    np.testing.assert_allclose(read.sum(axis=1), 1.0)
    np.testing.assert_allclose(read[5:], p[5:], atol=1e-3)  # not English: the network's reading, nearly untouched
    mark = p.copy()
    mark[4, 26], mark[4, :26] = 0.9, 0.1 * hello[4]  # the last glyph is a mark: the word is "hell"
    assert "".join(classes[i] if i < 26 else "-" for i in apply_language(glyphs, mark, classes, model)
                   .argmax(axis=1)) == "hell-xq"
    assert apply_language(glyphs, p, classes, None) is p
    assert apply_language(glyphs[:2], p[:2, :3], ["a", "b", "other"], model) is not None  # no letters: unchanged
    np.testing.assert_array_equal(apply_language(glyphs[:2], p[:2, :3], ["a", "b", "other"], model), p[:2, :3])


def test_the_shipped_english_model_prefers_english_words():
    model = load_language("english")
    assert model.order == 5 and "tinyshakespeare" in model.source
    words = ["the", "and", "hello", "deep", "learning", "real", "paper", "network", "letter", "photo"]
    rng = np.random.default_rng(0)
    for word in words:
        scrambled = "".join(rng.permutation(list(word)))
        if scrambled != word:
            assert model.word_log_probability(indices(word)) > model.word_log_probability(indices(scrambled)), word
    assert model.word_log_probability(indices("i")) > model.word_log_probability(indices("l"))  # "I" is a word


COMMON_WORDS = ("the of and to in is it that was for on are as with his they at be this have from or one had by "
                "word but not what all were we when your can said there use an each which she do how their if will up "
                "other about out many then them these so some her would make like him into time has look two more "
                "write go see number no way could people my than first water been call who oil its now find long down "
                "day did get come made may part hello deep learning on real paper letters photo reads").split()


def test_a_page_of_english_words_reads_better_as_english(data_root, tmp_path):
    """The whole ocr pipeline on a page of common English words spelt with the letters test split's images (not a
    text the 5-gram was counted from): the shipped reader with the shipped 5-gram reads more of it than alone."""
    from conftest import require_dataset
    from nonletter_pages import build_mixed_page, compose, found_boxes, score_mixed_page
    from ocr_pages import PageSpec

    from hdl_native.data import load_dataset
    from hdl_native.data.nonletters import framed_digits
    from hdl_native.ocr import read_page
    from hdl_native.ocr.model import load_letter_classifier

    require_dataset(data_root, "letters")
    require_dataset(data_root, "mnist")
    letters = load_dataset("letters", "test", data_root)
    rng = np.random.default_rng(0)
    words = [w for w in rng.permutation(COMMON_WORDS) if 2 <= len(w) <= 7][:60]
    pools = {c: rng.permutation(np.flatnonzero(letters.labels == c)) for c in range(26)}
    used = dict.fromkeys(pools, 0)
    picks = []
    for letter in "".join(words):
        c = LETTERS.index(letter)
        picks.append(pools[c][used[c] % len(pools[c])])
        used[c] += 1
    digits, _ = framed_digits("test", data_root)
    content = compose(letters.images[picks], letters.labels[picks], digits, np.random.default_rng(1), len(words),
                      [len(w) for w in words])
    jpeg, truths, _ = build_mixed_page(content, PageSpec(width=1400, height=900, seed=3))
    path = tmp_path / "english.jpg"
    path.write_bytes(jpeg)
    classifier = load_letter_classifier(None)
    alone = score_mixed_page(truths, found_boxes(read_page(path, classifier, 0.0, language=None)))
    english = score_mixed_page(truths, found_boxes(read_page(path, classifier, 0.0,
                                                             language=load_language("english"))))
    assert alone.letters >= 150 and english.letters_found == alone.letters_found >= 0.95 * alone.letters
    print(f"\nread alone {alone.letters_read} of {alone.letters}, as English {english.letters_read}")
    assert english.letters_read > alone.letters_read
    assert english.others_printed <= alone.others_printed  # it may keep a lone digit or mark from being a letter


def test_a_lone_glyph_is_a_letter_only_as_a_word_of_one_letter_says():
    from hdl_native.ocr.language import LONE_LETTER_PRIOR, ONE_LETTER_WORDS, weigh_lone_glyphs
    from hdl_native.ocr.sizes import tiny_glyphs

    classes = list(LETTERS) + ["other"]
    glyphs = glyphs_at([0, 24, 48, 72, 96, 200, 300, 324, 348, 372, 396, 500, 600])  # words of 5 glyphs, 1, 5, 1, 1
    p = np.full((13, 27), 0.3 / 25)
    p[:, 26] = 0.2  # the network's 'other'
    p[:, LETTERS.index("t")] = 0.5  # its best guess: a letter t (a + or a cross?)
    p[12, LETTERS.index("t")], p[12, LETTERS.index("a")] = 0.3 / 25, 0.5  # the last glyph reads a
    weighed = weigh_lone_glyphs(glyphs, p, classes, tiny_glyphs(glyphs))
    np.testing.assert_allclose(weighed.sum(axis=1), 1.0)
    in_words = [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]
    np.testing.assert_array_equal(weighed[in_words], p[in_words])  # glyphs of longer words are left alone
    assert [classes[i] for i in weighed[[5, 11, 12]].argmax(axis=1)] == ["other", "other", "a"]
    lone_t = p[5, LETTERS.index("t")] * LONE_LETTER_PRIOR
    np.testing.assert_allclose(weighed[5, 26] / weighed[5, LETTERS.index("t")], 0.2 / lone_t)
    assert weighed[12, LETTERS.index("a")] > p[12, LETTERS.index("a")]  # a and i are words: they gain
    assert set(ONE_LETTER_WORDS) == {"a", "i"}
    sure = p.copy()
    sure[5, LETTERS.index("t")], sure[5, 26] = 0.98, 0.001  # a t the network is sure of stays a t
    assert classes[weigh_lone_glyphs(glyphs, sure, classes, tiny_glyphs(glyphs))[5].argmax()] == "t"
    read = apply_language(glyphs, p, classes, small_model())  # apply_language weighs them before reading words
    assert [classes[i] for i in read[[5, 11, 12]].argmax(axis=1)] == ["other", "other", "a"]
    letters_only = p[:, :26] / p[:, :26].sum(axis=1, keepdims=True)  # a reader without 'other': left alone
    np.testing.assert_array_equal(weigh_lone_glyphs(glyphs, letters_only, LETTERS, tiny_glyphs(glyphs)),
                                  letters_only)
