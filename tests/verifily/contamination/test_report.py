"""The contamination detector on real text (Python's own docstrings) and on bad input."""

import importlib
import inspect
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verifily.contamination import scan as contamination_scan
from verifily.contamination.report import ContaminationParams, find_contamination
from verifily.contamination.text import field_text, normalise
from verifily.dataset.artifact import write_artifact
from verifily.errors import InputError

TRAIN_MODULES = ["argparse", "subprocess", "logging", "pathlib", "collections", "http.client"]
EVAL_MODULES = ["textwrap", "json.decoder", "csv", "difflib", "heapq", "shutil", "fractions"]


def stdlib_docs(modules: list[str]) -> list[str]:
    """Docstrings of >= 30 words of the classes and functions the modules define.

    Docstrings that share a 13-gram with one taken before are left out (some functions in a
    module repeat a paragraph), so each test text has exactly one possible source.
    """
    docs, grams = [], set()
    for m in modules:
        mod = importlib.import_module(m)
        for _, obj in inspect.getmembers(mod):
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ == m:
                doc = inspect.getdoc(obj)
                toks = normalise(doc or "").split()
                own = {tuple(toks[i : i + 13]) for i in range(len(toks) - 12)}
                if len(toks) >= 30 and not own & grams:
                    docs.append(doc)
                    grams |= own
    return docs


TRAIN_DOCS = stdlib_docs(TRAIN_MODULES)
EVAL_DOCS = stdlib_docs(EVAL_MODULES)


def artifact(tmp_path, train: list[dict], evals: list[dict], name: str = "ds", ascii=False):
    """An artifact as `verifily ingest` writes it, or (ascii) as json.dumps' default does."""
    recs = [{"id": f"tr-{i}", "output": "", **r, "split": "train"} for i, r in enumerate(train)]
    recs += [{"id": f"ev-{i}", "output": "", **r, "split": "eval"} for i, r in enumerate(evals)]
    if not ascii:
        return write_artifact(recs, tmp_path / name).path
    from verifily.dataset.artifact import dataset_hash_of
    from verifily.hashing import sha256_bytes

    data = "".join(json.dumps(r) + "\n" for r in recs).encode()
    d = tmp_path / name
    d.mkdir()
    (d / "dataset.jsonl").write_bytes(data)
    sha = sha256_bytes(data)
    meta = {
        "format_version": 1,
        "files": {"dataset.jsonl": sha},
        "dataset_hash": dataset_hash_of(sha, len(recs)),
        "record_count": len(recs),
        "split_counts": {"train": len(train), "eval": len(evals)},
    }
    (d / "hashes.json").write_text(json.dumps(meta))
    return d


def found(report: dict) -> dict:
    return {c["eval_id"]: c for c in report["contaminated"]}


def test_corpus_is_big_enough():
    assert len(TRAIN_DOCS) >= 30 and len(EVAL_DOCS) >= 30


def test_clean_data_gives_no_matches(tmp_path):
    ds = artifact(tmp_path, [{"input": d} for d in TRAIN_DOCS], [{"input": d} for d in EVAL_DOCS])
    report = find_contamination(ds)
    assert report["eval_records"] == len(EVAL_DOCS)
    assert report["contaminated"] == [] and report["contaminated_fraction"] == 0.0


def test_planted_copies_are_all_found(tmp_path):
    e = EVAL_DOCS
    words = e[2].split()
    words[len(words) // 2] = "CHANGED"
    planted = [
        {"id": "verbatim", "input": e[0]},
        {"id": "substring", "input": TRAIN_DOCS[0] + "\n\n" + e[1] + "\n" + TRAIN_DOCS[1]},
        {"id": "changed-word", "input": " ".join(words)},
        {"id": "case-and-spacing", "input": "   ".join(e[3].upper().split())},
        {"id": "in-output", "input": "question", "output": e[4]},
        {"id": "unicode-forms", "input": e[5].replace("a", "ａ").replace(" ", "\u00a0")},
    ]
    train = [{"input": d} for d in TRAIN_DOCS[2:]] + planted
    ds = artifact(tmp_path, train, [{"input": d} for d in EVAL_DOCS])
    report = find_contamination(ds)
    hits = found(report)
    expected = {f"ev-{i}": p["id"] for i, p in enumerate(planted)}
    assert set(hits) == set(expected)
    for eval_id, train_id in expected.items():
        assert hits[eval_id]["train_ids"] == [train_id]
    assert hits["ev-0"]["method"] == "exact" and hits["ev-0"]["overlap"] == 1.0
    assert hits["ev-3"]["method"] == "exact"  # case and spacing vanish under normalisation
    assert hits["ev-1"]["method"] == "ngram" and hits["ev-1"]["overlap"] == 1.0
    # One changed word removes exactly the n-grams that cover it, no more.
    edited = hits["ev-2"]
    assert edited["method"] == "ngram"
    assert edited["ngram_total"] - edited["ngram_count"] == 13
    assert report["contaminated_fraction"] == pytest.approx(len(planted) / len(EVAL_DOCS))


def test_min_overlap_and_fields_are_honoured(tmp_path):
    words = normalise(EVAL_DOCS[0]).split()
    partial = " ".join(words[:20])  # 8 of the eval record's n-grams
    train = [{"input": d} for d in TRAIN_DOCS] + [{"input": "x", "output": partial}]
    ds = artifact(tmp_path, train, [{"input": EVAL_DOCS[0]}])
    assert found(find_contamination(ds))["ev-0"]["ngram_count"] == 8
    strict = ContaminationParams(min_overlap=0.5)
    assert found(find_contamination(ds, params=strict)) == {}
    only_input = ContaminationParams(fields=("input",))
    assert found(find_contamination(ds, params=only_input)) == {}


def test_short_records_match_exactly_only(tmp_path):
    train = [
        {"input": "What is the capital of FRANCE?", "output": "Paris"},
        {"input": "Name the largest planet: Jupiter is the largest planet.", "output": "ok"},
        {"input": "the capital of spain is", "output": "madrid"},
    ]
    evals = [
        {"input": "what is the capital of france", "output": "paris"},  # exact after normalising
        {"input": "what is the capital of france", "output": "lyon"},  # different answer
        {"input": "Jupiter is the largest planet", "output": "ok"},  # only a substring
        {"input": "capital the of spain is", "output": "madrid"},  # same words, other order
    ]
    report = find_contamination(artifact(tmp_path, train, evals))
    assert set(found(report)) == {"ev-0"}
    assert found(report)["ev-0"] | {"train_ids": None} == {
        "eval_id": "ev-0",
        "method": "exact",
        "ngram_count": 0,
        "ngram_total": 0,
        "overlap": 1.0,
        "train_ids": None,
        "train_match_count": 1,
    }


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("Hello,   World!", "hello world"),
        ("ＦＵＬＬ width", "full width"),
        ("Straße", "strasse"),
        ("ﬁne—tuned\t\n model", "fine tuned model"),
        ("snake_case stays; 3.14 splits", "snake_case stays 3 14 splits"),
        ("", ""),
        ("?!", ""),
    ],
)
def test_normalisation(raw, norm):
    assert normalise(raw) == norm


def test_report_names_params_and_both_datasets(tmp_path):
    ds = artifact(tmp_path, [{"input": TRAIN_DOCS[0]}], [{"input": EVAL_DOCS[0]}])
    report = find_contamination(ds, params=ContaminationParams(n=8))
    meta = json.loads((tmp_path / "ds" / "hashes.json").read_text())
    assert report["params"] == {"n": 8, "min_overlap": 0.0, "fields": ["input", "output"]}
    assert report["datasets"]["train"]["dataset_hash"] == meta["dataset_hash"]
    assert report["datasets"]["eval"]["split"] == "eval"
    evf = tmp_path / "eval.jsonl"
    evf.write_text(json.dumps({"id": "q1", "input": TRAIN_DOCS[0], "output": 1}) + "\n")
    report = find_contamination(ds, evf)
    assert report["datasets"]["eval"]["sha256"] and set(found(report)) == {"q1"}


def test_chunk_boundaries_do_not_hide_matches(tmp_path, monkeypatch):
    monkeypatch.setattr(contamination_scan, "CHUNK_BYTES", 700)
    train = [{"input": d} for d in TRAIN_DOCS] + [{"input": EVAL_DOCS[0]}]
    ds = artifact(tmp_path, train, [{"input": d} for d in EVAL_DOCS[:3]])
    assert set(found(find_contamination(ds))) == {"ev-0"}


# Bad input: defined behaviour and a clear message.


def test_empty_eval_split_reports_nothing_to_check(tmp_path):
    report = find_contamination(artifact(tmp_path, [{"input": TRAIN_DOCS[0]}], []))
    assert report["eval_records"] == 0 and report["contaminated_fraction"] == 0.0
    assert "evaluation set is empty" in report["warning"]


def test_empty_eval_file_is_an_input_error(tmp_path):
    ds = artifact(tmp_path, [{"input": TRAIN_DOCS[0]}], [])
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(InputError, match="holds no records"):
        find_contamination(ds, tmp_path / "empty.jsonl")
    # A blank line is an error naming it, by the same rule as `verify` and `ingest`.
    (tmp_path / "blank.jsonl").write_text("\n")
    with pytest.raises(InputError, match=r"blank.jsonl:1: blank line"):
        find_contamination(ds, tmp_path / "blank.jsonl")
    with pytest.raises(InputError, match="does not exist"):
        find_contamination(ds, tmp_path / "missing.jsonl")
    (tmp_path / "bad.jsonl").write_text('{"input": "a", "output": "b"}\n{"input": [1]}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: 'input' must be a string"):
        find_contamination(ds, tmp_path / "bad.jsonl")


def test_bad_params_are_input_errors(tmp_path):
    ds = artifact(tmp_path, [{"input": "a"}], [{"input": "b"}])
    with pytest.raises(InputError, match="n must be"):
        find_contamination(ds, params=ContaminationParams(n=0))
    with pytest.raises(InputError, match="fields must be"):
        find_contamination(ds, params=ContaminationParams(fields=("id",)))


def test_empty_texts_and_non_text_outputs(tmp_path):
    train = [
        {"input": "", "output": ""},
        {"input": "2 + 2", "output": 4},
        {"input": "is water wet", "output": True},
        {"input": TRAIN_DOCS[0], "output": 3.5},
    ]
    evals = [
        {"input": "", "output": ""},  # nothing to compare: not checked, said so
        {"input": "?!", "output": ""},  # only punctuation: empty after normalising
        {"input": "", "output": 7},  # only a number: too little text to match
        {"input": "2+2", "output": 4},  # numbers take part in exact matching
        {"input": "is water wet", "output": False},
        {"input": TRAIN_DOCS[0], "output": 1.5},  # n-gram overlap does not care
    ]
    report = find_contamination(artifact(tmp_path, train, evals))
    assert set(found(report)) == {"ev-3", "ev-5"}
    skipped = {s["eval_id"]: s["reason"] for s in report["skipped_records"]}
    assert set(skipped) == {"ev-0", "ev-1", "ev-2"}
    assert "empty after normalisation" in skipped["ev-0"]
    assert "only numbers or booleans" in skipped["ev-2"]
    assert report["eval_records"] == 6


@pytest.mark.slow
def test_a_single_50mb_record(tmp_path):
    filler = " ".join(TRAIN_DOCS) + " "
    half = filler * (25_000_000 // len(filler) + 1)
    big = half + EVAL_DOCS[0] + " " + half
    assert len(big) > 50_000_000
    ds = artifact(tmp_path, [{"input": big}], [{"input": d} for d in EVAL_DOCS[:5]])
    report = find_contamination(ds)
    assert set(found(report)) == {"ev-0"}
    assert found(report)["ev-0"]["train_ids"] == ["tr-0"]


def test_escapes_and_unicode_in_raw_json_are_matched(tmp_path):
    text = EVAL_DOCS[0]
    words = text.split()
    tricky = "\n".join(
        [" ".join(words[:10]), '"' + " ".join(words[10:20]) + '"\\', "\t".join(words[20:])]
    )
    train = [
        {"input": tricky},
        {"input": "Résumé " + EVAL_DOCS[1] + " \u2014 fin"},
        {"input": EVAL_DOCS[2].replace(" ", "\u2028")},
    ]
    ds = artifact(tmp_path, train, [{"input": d} for d in EVAL_DOCS[:4]])
    assert set(found(find_contamination(ds))) == {"ev-0", "ev-1", "ev-2"}


# The fast scan agrees with a plain set-of-tuples reference on arbitrary text.

ALPHABET = 'ab Ab.\n"\\/é\u00a0ﬁ_1-\t\uff02\u0301İ’\x01😀'


def reference(train: list[dict], evals: list[dict], n: int) -> set[str]:
    def grams(rec):
        out = set()
        for f in ("input", "output"):
            t = normalise(field_text(rec.get(f))).split()
            out |= {tuple(t[i : i + n]) for i in range(len(t) - n + 1)}
        return out

    def key(rec):
        return tuple(normalise(field_text(rec.get(f))) for f in ("input", "output"))

    train_grams = set().union(*(grams(r) for r in train))
    train_keys = {key(r) for r in train}
    hits = set()
    for i, r in enumerate(evals):
        if not any(normalise(field_text(r.get(f))) for f in ("input", "output")):
            continue
        if grams(r) & train_grams or key(r) in train_keys:
            hits.add(f"ev-{i}")
    return hits


texts = st.text(alphabet=ALPHABET, max_size=60)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    train=st.lists(st.fixed_dictionaries({"input": texts, "output": texts}), max_size=8),
    evals=st.lists(
        st.fixed_dictionaries({"input": texts, "output": texts}), min_size=1, max_size=6
    ),
    copy=st.lists(st.tuples(st.integers(0, 5), texts, texts), max_size=3),
    n=st.integers(1, 4),
    ascii=st.booleans(),
)
def test_matches_the_reference(tmp_path_factory, train, evals, copy, n, ascii):
    for i, pre, post in copy:
        if i < len(evals):
            train.append({"input": pre + evals[i]["input"] + post, "output": evals[i]["output"]})
    tmp = tmp_path_factory.mktemp("prop")
    ds = artifact(tmp, train, evals, ascii=ascii)
    report = find_contamination(ds, params=ContaminationParams(n=n))
    expected = reference(train, evals, n)
    assert set(found(report)) == expected


@pytest.mark.parametrize(
    ("raw", "blanked"),
    [
        (rb"a\nb", rb"a\ b"),
        (rb"a\\nb", rb"a\ nb"),  # an escaped backslash, then the letter n
        (rb"a\\\nb", rb"a\ \ b"),
        (rb"\"x\"", rb"\ x\ "),
        (rb"q\tz\u00e9", rb"q\ z\u00e9"),
    ],
)
def test_json_escapes_are_blanked_like_a_parser_reads_them(raw, blanked):
    assert contamination_scan.blank_escapes(raw) == blanked
    whole = contamination_scan.blank_escapes(raw, whole=True)
    assert whole.replace(b"\\u", b"") == blanked.replace(b"\\u", b"").replace(b"\\", b" ")


def test_ascii_escaped_json_lines_take_the_exact_path(tmp_path):
    """An artifact written by another tool: \\uXXXX escapes and spaces after separators."""
    from verifily.dataset.artifact import dataset_hash_of
    from verifily.hashing import sha256_bytes

    recs = [{"id": "t1", "input": "Préface: " + EVAL_DOCS[0], "output": "x", "split": "train"}]
    recs += [{"id": "t2", "input": TRAIN_DOCS[0] + "\u0001", "output": "y", "split": "train"}]
    recs += [{"id": "e1", "input": EVAL_DOCS[0], "output": "", "split": "eval"}]
    recs += [{"id": "e2", "input": EVAL_DOCS[1], "output": "", "split": "eval"}]
    data = "".join(json.dumps(r, ensure_ascii=True) + "\n" for r in recs).encode()
    d = tmp_path / "other"
    d.mkdir()
    (d / "dataset.jsonl").write_bytes(data)
    sha = sha256_bytes(data)
    meta = {
        "format_version": 1,
        "files": {"dataset.jsonl": sha},
        "dataset_hash": dataset_hash_of(sha, 4),
        "record_count": 4,
        "split_counts": {"train": 2, "eval": 2},
    }
    (d / "hashes.json").write_text(json.dumps(meta))
    assert b"\\u00e9" in data
    assert set(found(find_contamination(d))) == {"e1"}


def test_an_escape_before_a_combining_mark_does_not_glue_tokens(tmp_path):
    """Found by the property test above: a raw `\\n` followed by U+0301 normalised into `\\ń`,
    so the training text read as the token `ń1` instead of `1`."""
    train = [{"input": "q", "output": "\n\u0301" + "1"}]
    evals = [{"id": "ev-0", "input": "other", "output": "1"}]
    ds = artifact(tmp_path, train, evals, ascii=False)
    report = find_contamination(ds, params=ContaminationParams(n=1))
    assert set(found(report)) == reference(train, evals, 1) == {"ev-0"}
