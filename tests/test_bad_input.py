"""Bad input (issue #14): never a raw traceback, never wrong data loaded silently.

Each case of the issue, with a file the test writes: (1) missing / null / empty ids,
(2) wrong JSON types, (3) a mapped field no record has, (4) one clear line through
``bin/reviewlab`` (no ``Traceback``; ``--debug`` shows it), (5) strings for numbers in params,
(6) a BOM before a quoted CSV header, (7) bad bytes in an unmapped column, (8) a quarantine
limit and declared rating scales, (9) a new dataset that leaves ``data.dvc`` alone, (10) a
directory as path, blank lines.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from reviewlab.core.errors import Problem, ReviewlabError, StageError
from reviewlab.core.params import DatasetParams, ParamsError, partial
from reviewlab.data.leakage import LeakageError
from reviewlab.data.loaders import DataLoadError, load_reviews
from tests.conftest import ROOT

BIN = ROOT / "bin" / "reviewlab"
DVC = Path(sys.executable).parent / "dvc"


def jsonl(path: Path, records: list[dict | str | bytes]) -> Path:
    lines = [
        r if isinstance(r, bytes) else (r if isinstance(r, str) else json.dumps(r)).encode()
        for r in records
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def generic(path: Path, max_quarantine_rate: float = 1, **extra) -> DatasetParams:
    columns = extra.pop("columns", {"review_id": "id", "text": "body", "rating": "stars"})
    return DatasetParams(
        adapter="generic",
        path=str(path),
        columns=columns,
        max_quarantine_rate=max_quarantine_rate,
        **extra,
    )


def reasons(result) -> dict[int, str]:
    q = result.quarantine
    return dict(zip(q["source_row"], q["reason"], strict=True))


# 1 ----------------------------------------------------------------------------------------
def test_missing_null_or_empty_ids_are_quarantined_not_a_crash(tmp_path):
    path = jsonl(
        tmp_path / "ids.jsonl",
        [
            {"id": "a", "body": "fine", "stars": 5},
            {"id": None, "body": "null id", "stars": 4},
            {"body": "no id field", "stars": 3},
            {"id": "", "body": "empty id", "stars": 2},
            {"id": "  ", "body": "blank id", "stars": 2},
            {"id": "b", "body": "fine too", "stars": 1},
        ],
    )
    result = load_reviews(generic(path), "t")
    assert result.reviews["review_id"].tolist() == ["a", "b"]
    assert reasons(result) == {r: "missing_review_id" for r in (2, 3, 4, 5)}
    assert result.quality["by_reason"]["missing_review_id"] == 4


def test_ids_are_strings_so_2_and_quoted_2_are_one_id(tmp_path):
    path = jsonl(
        tmp_path / "ids.jsonl",
        [
            {"id": 2, "body": "number id", "stars": 5, "who": 7},
            {"id": "2", "body": "same id as text", "stars": 4, "who": "7"},
            {"id": 3, "body": "other", "stars": 3, "who": None},
        ],
    )
    columns = {"review_id": "id", "text": "body", "rating": "stars", "user_id": "who"}
    result = load_reviews(generic(path, columns=columns), "t")
    assert result.reviews["review_id"].tolist() == ["2", "3"]
    assert result.reviews["user_id"].tolist()[0] == "7"  # not "7.0"
    assert reasons(result) == {2: "duplicate_review_id"}


def test_a_contract_failure_names_the_file_and_source_lines(tmp_path):
    """Defensive: should a loaded row ever break the pandera contract, the error names the
    file and the source lines (not positions after filtering), never a raw SchemaErrors."""
    from reviewlab.data.loaders import _validated
    from tests.conftest import synthetic_reviews

    rows = synthetic_reviews(n=5)
    rows.loc[3, "rating"] = 9
    rows["source_row"] = [10, 20, 30, 40, 50]
    with pytest.raises(DataLoadError, match=r"shop.csv: rows on lines \[40\] .*rating"):
        _validated(rows, tmp_path / "shop.csv")


# 2 ----------------------------------------------------------------------------------------
def test_wrong_json_types_are_quarantined_not_stringified(tmp_path):
    good = {"id": "ok", "body": "fine", "stars": 5, "head": "t", "when": 1, "votes": 2}
    cases = [
        {"stars": True},  # 2
        {"body": ["a", "list"]},  # 3
        {"body": {"x": 1}},  # 4
        {"body": 12345},  # 5
        {"body": False},  # 6
        {"head": ["a title"]},  # 7
        {"id": True},  # 8
        {"id": 1.5},  # 9
        {"when": True},  # 10
        {"votes": True},  # 11
        {"stars": [5]},  # 12
        {"keep_me": {"nested": 1}},  # 13
    ]
    records = [good] + [{**good, "id": f"r{i}", **case} for i, case in enumerate(cases)]
    for r in records:
        r.setdefault("keep_me", "x")
    path = jsonl(tmp_path / "types.jsonl", records)
    columns = {
        "review_id": "id",
        "text": "body",
        "rating": "stars",
        "title": "head",
        "timestamp": "when",
        "helpful_votes": "votes",
    }
    result = load_reviews(generic(path, columns=columns, keep={"keep_me": "keep_me"}), "t")
    assert result.reviews["review_id"].tolist() == ["ok", "r8", "r9"]  # optional values nulled
    assert result.quality["optional_nulled"] == {
        "timestamp": 1,
        "helpful_votes": 1,
        "total_votes": 0,
    }
    assert reasons(result) == {
        2: "rating_non_numeric",
        3: "wrong_type",
        4: "wrong_type",
        5: "wrong_type",
        6: "wrong_type",
        7: "wrong_type",
        8: "wrong_type",
        9: "wrong_type",
        12: "rating_non_numeric",
        13: "wrong_type",
    }
    fields = dict(zip(result.quarantine["source_row"], result.quarantine["field"], strict=True))
    assert (fields[3], fields[7], fields[8], fields[13]) == (
        "text",
        "title",
        "review_id",
        "keep_me",
    )


def test_csv_values_are_text_so_true_is_no_rating(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,body,stars\n1,12345,True\n2,False,4\n")
    result = load_reviews(generic(path), "t")
    assert reasons(result) == {2: "rating_non_numeric"}
    assert result.reviews["text"].tolist() == ["False"]  # CSV text is text, whatever it says


def test_kept_booleans_stay_booleans(tmp_path):
    path = jsonl(
        tmp_path / "k.jsonl",
        [{"body": "a", "stars": 5, "ok": True}, {"body": "b", "stars": 4, "ok": False}],
    )
    cfg = generic(path, columns={"text": "body", "rating": "stars"}, keep={"verified": "ok"})
    assert load_reviews(cfg, "t").reviews["verified"].tolist() == [True, False]


# 3 ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_a_mapped_field_in_no_record_is_an_error_in_both_formats(tmp_path, suffix):
    path = tmp_path / f"shop.{suffix}"
    if suffix == "jsonl":
        jsonl(path, [{"body": "a", "stars": 5, "item": "x"}, {"body": "b", "stars": 4}])
    else:
        path.write_text("body,stars,item\na,5,x\nb,4,\n")
    columns = {"text": "body", "rating": "stars", "item_id": "sku"}
    with pytest.raises(DataLoadError) as err:
        load_reviews(generic(path, columns=columns), "shop")
    message = str(err.value)
    assert message.startswith(str(path))
    assert "'sku' (mapped to 'item_id')" in message
    assert all(f"'{name}'" in message for name in ("body", "stars", "item"))
    assert "datasets.shop" in message


def test_a_field_that_is_null_everywhere_is_no_mapping_error(tmp_path):
    path = jsonl(tmp_path / "n.jsonl", [{"body": "a", "stars": 5, "sku": None}])
    cfg = generic(path, columns={"text": "body", "rating": "stars", "item_id": "sku"})
    assert load_reviews(cfg, "t").reviews["item_id"].isna().all()


# 4 ----------------------------------------------------------------------------------------
SHOP = {
    "adapter": "generic",
    "path": "data-local/shop.jsonl",
    "columns": {"review_id": "id", "text": "body", "rating": "stars", "item_id": "sku"},
}


def project(tmp_path: Path, shop: dict | None = None, records: list | None = None) -> Path:
    """A tmp copy of the project holding dvc.yaml, params.yaml (with ``datasets.shop``),
    the ingest notebook and a data file outside the DVC-tracked data/ folder."""
    write_params(tmp_path, shop or SHOP)
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "01_ingest.ipynb", tmp_path / "notebooks")
    (tmp_path / "data-local").mkdir()
    good = [{"id": f"r{i}", "body": "fine", "stars": 1 + i % 5, "sku": "s"} for i in range(9)]
    jsonl(tmp_path / "data-local" / "shop.jsonl", records or good)
    return tmp_path


def write_params(root: Path, shop: dict) -> None:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["datasets"]["shop"] = shop
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *args], cwd=root, capture_output=True, text=True, timeout=300)


def first_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return result.stderr.splitlines()[0]


def test_cli_params_errors_are_one_clear_line(tmp_path):
    root = project(tmp_path)
    line = first_line(cli(root, "stage", "ingest", "nosuch"))
    assert line.startswith("reviewlab stage: error: ") and "'nosuch' is not one" in line
    assert "known: ['amazon', 'clothing', 'shop']" in line

    write_params(root, {**SHOP, "max_rows": "10"})
    line = first_line(cli(root, "stage", "ingest", "shop"))
    number = _line_of(root / "params.yaml", "max_rows: '10'")
    assert line == (
        f"reviewlab stage: error: {root}/params.yaml:{number}: datasets.shop.max_rows: Input "
        "should be a valid integer (got '10'): write 10 without quotes"
    )

    write_params(root, {**SHOP, "columns": {"text": "body"}})  # generic needs a rating
    line = first_line(cli(root, "stage", "ingest", "shop"))
    assert re.search(r"params\.yaml:\d+: datasets\.shop: .*required column\(s\) \['rating'\]", line)


def _line_of(file: Path, text: str) -> int:
    return next(i for i, line in enumerate(file.read_text().splitlines(), 1) if text in line)


def test_cli_validate_rejects_a_string_for_a_number(tmp_path):
    """(5) ``finetune.train.batch_size: "32"`` fails, through the command line."""
    text = (ROOT / "params.yaml").read_text()
    assert "batch_size: 32" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("batch_size: 32", 'batch_size: "32"', 1))
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    result = cli(tmp_path, "validate", "--params", "bad.yaml")
    number = _line_of(bad, 'batch_size: "32"')
    assert result.returncode == 2
    assert first_line(result) == (
        f"reviewlab validate: error: bad.yaml:{number}: finetune.train.batch_size: Input should "
        "be a valid integer (got '32'): write 32 without quotes"
    )


def test_validate_reports_yaml_syntax_and_missing_keys_on_one_line(tmp_path, monkeypatch, capsys):
    from reviewlab.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.yaml").write_text("seed: 1\ndatasets: [\n  a: b\n")
    assert main(["validate", "--params", "broken.yaml"]) == 2
    stderr = capsys.readouterr().err
    assert stderr.splitlines()[0] == (
        "reviewlab validate: error: broken.yaml:4: not valid YAML: expected ',' or ']', but got "
        "'<stream end>' (column 1)"
    )
    (tmp_path / "partial.yaml").write_text("seed: 1\n")
    assert main(["validate", "--params", "partial.yaml"]) == 2
    stderr = capsys.readouterr().err
    assert stderr.splitlines()[0].startswith(
        "reviewlab validate: error: partial.yaml: profile: missing: add it"
    )
    assert "Traceback" not in stderr


def test_cli_debug_shows_the_traceback(tmp_path):
    root = project(tmp_path)
    result = cli(root, "--debug", "stage", "ingest", "nosuch")
    assert result.returncode != 0 and "Traceback" in result.stderr
    assert "ParamsError" in result.stderr
    result = cli(root, "stage", "ingest", "nosuch", "--debug")
    assert "Traceback" in result.stderr


def test_cli_data_error_inside_the_notebook_is_one_clear_line(tmp_path):
    """A stage that fails in papermill (one kernel start): the DataLoadError's message first,
    the executed notebook (which keeps the traceback) second, no Traceback on stderr."""
    records = [{"id": "r1", "body": "a", "stars": 5, "item": "x"}]  # no `sku`: mapping error
    root = project(tmp_path, records=records)
    result = cli(root, "stage", "ingest", "shop")
    assert first_line(result) == (  # the path as written in params.yaml, not absolute
        "reviewlab stage: error: data-local/shop.jsonl: field 'sku' (mapped to 'item_id') is in "
        "no record (expected one of the records' fields ['id', 'body', 'stars', 'item']): fix the "
        "mapping in datasets.shop"
    )
    executed = root / "artifacts" / "shop" / "notebooks" / "ingest.ipynb"
    assert str(executed) in result.stderr.splitlines()[1]
    assert "DataLoadError" in executed.read_text()  # the notebook keeps the traceback


@pytest.mark.parametrize(
    ("ename", "evalue", "first"),
    [
        ("DataLoadError", "/d/x.csv:3: cannot parse CSV: fix that record", "/d/x.csv:3: cannot"),
        (
            "ParamsError",
            "params.yaml:3: seed: bad (+1 more below)\n  x: y",
            "params.yaml:3: seed: bad",
        ),
        ("LeakageError", "amazon: 3 test ids in train", "amazon: 3 test ids in train"),
        ("KeyError", "'nosuch'", "01_ingest.ipynb: KeyError 'nosuch': a key the stage needs"),
    ],
)
def test_runner_turns_a_notebook_user_error_into_a_stage_error(
    tmp_path, monkeypatch, ename, evalue, first
):
    import papermill as pm

    from reviewlab.cli import runner

    def fail(*args, **kwargs):
        raise pm.PapermillExecutionError(1, 1, "cell", ename, evalue, ["Traceback ..."])

    monkeypatch.setattr(pm, "execute_notebook", fail)
    monkeypatch.setattr(runner, "ensure_kernel", lambda: None)
    executed = tmp_path / "out.ipynb"
    with pytest.raises(StageError) as err:
        runner.execute(tmp_path / "01_ingest.ipynb", executed, {}, tmp_path)
    assert str(err.value).splitlines()[0].startswith(first)
    assert str(executed) in str(err.value).splitlines()[-1]


def test_runner_keeps_papermill_errors_of_bugs(tmp_path, monkeypatch):
    import papermill as pm

    from reviewlab.cli import runner

    def fail(*args, **kwargs):
        raise pm.PapermillExecutionError(1, 1, "cell", "ZeroDivisionError", "boom", ["tb"])

    monkeypatch.setattr(pm, "execute_notebook", fail)
    monkeypatch.setattr(runner, "ensure_kernel", lambda: None)
    with pytest.raises(pm.PapermillExecutionError):
        runner.execute(tmp_path / "n.ipynb", tmp_path / "o.ipynb", {}, tmp_path)


def test_an_error_is_formatted_once_from_its_fields():
    first = Problem("should be an integer (got '3')", "p.yaml", 7, "a.b", fix="write 3")
    second = Problem("unknown key", "p.yaml", field="c", expected="one of: d, e")
    err = ReviewlabError(first, second)
    assert err.problems == (first, second)
    assert str(err).splitlines() == [
        "p.yaml:7: a.b: should be an integer (got '3'): write 3 (+1 more below)",
        "  p.yaml: c: unknown key (expected one of: d, e)",
    ]
    assert str(ReviewlabError("plain message")) == "plain message"


def test_user_errors_share_one_base_class():
    for error in (DataLoadError, ParamsError, LeakageError, StageError):
        assert issubclass(error, ReviewlabError)
    assert issubclass(DataLoadError, ValueError) and issubclass(LeakageError, RuntimeError)


def test_ingest_of_an_undeclared_dataset_is_a_params_error(tmp_path):
    from reviewlab.core.artifacts import Catalogue
    from reviewlab.stages import ingest

    params = partial({"seed": 0, "datasets.shop": {**SHOP, "path": "x.jsonl"}})
    with pytest.raises(ParamsError, match=r"datasets\.nosuch is not defined"):
        ingest.run(params, "nosuch", Catalogue(tmp_path))


# 5 ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "value"),
    [("max_rows", "10"), ("max_quarantine_rate", "0.5"), ("max_quarantine_rate", True)],
)
def test_dataset_params_are_strict(key, value):
    with pytest.raises(ParamsError, match=f"^params.yaml: datasets.shop.{key}: Input"):
        partial({"datasets.shop": {**SHOP, key: value}})


# 6 ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "header", ['"id","body","stars"', 'id,"body",stars', "id,body,stars"], ids=str
)
def test_bom_before_a_quoted_csv_header(tmp_path, header):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + f'{header}\r\n1,"good",5\r\n'.encode())
    result = load_reviews(generic(path), "t")
    assert result.reviews[["review_id", "text", "rating"]].values.tolist() == [["1", "good", 5]]


def test_bom_before_jsonl(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"id": "1", "body": "good", "stars": 5}\n')
    assert len(load_reviews(generic(path), "t").reviews) == 1


# 7 ----------------------------------------------------------------------------------------
def test_bad_bytes_in_an_unmapped_field_do_not_quarantine_the_row(tmp_path):
    csv_path = tmp_path / "c.csv"
    csv_path.write_bytes(
        b"id,body,stars,comment\n1,good,5,caf\xe9\n2,caf\xe9 body,4,ok\n3,fine,3,ok\n"
    )
    result = load_reviews(generic(csv_path), "t")
    assert result.reviews["review_id"].tolist() == ["1", "3"]
    assert reasons(result) == {3: "non_utf8"}
    assert result.quarantine["field"].tolist() == ["text"]
    assert result.quarantine["value"].tolist() == ["caf\\xe9 body"]  # shown, still valid text

    jsonl_path = jsonl(
        tmp_path / "j.jsonl",
        [
            b'{"id": "1", "body": "good", "stars": 5, "comment": "caf\xe9"}',
            b'{"id": "2", "body": "caf\xe9", "stars": 5}',
        ],
    )
    result = load_reviews(generic(jsonl_path), "t")
    assert result.reviews["review_id"].tolist() == ["1"]
    assert reasons(result) == {2: "non_utf8"}


# 8 ----------------------------------------------------------------------------------------
def ten_point(tmp_path: Path) -> Path:
    return jsonl(
        tmp_path / "ten.jsonl",
        [{"id": str(i), "body": f"review {i}", "stars": i % 11} for i in range(33)],
    )


def test_most_rows_quarantined_fails_with_the_top_reasons(tmp_path):
    path = ten_point(tmp_path)
    cfg = DatasetParams(
        adapter="generic",
        path=str(path),
        columns={"review_id": "id", "text": "body", "rating": "stars"},
    )
    assert cfg.max_quarantine_rate == 0.2  # the default
    with pytest.raises(DataLoadError) as err:
        load_reviews(cfg, "ten")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: 18 of 33 rows (55%) quarantined")
    assert "datasets.ten.max_quarantine_rate = 0.2" in message
    assert "rating_out_of_range 18 (e.g. line 1: rating '0')" in message
    assert "ratings span 0 to 10" in message and "rating_scale: {min: 0, max: 10}" in message


def test_a_declared_rating_scale_maps_onto_five_stars(tmp_path):
    path = ten_point(tmp_path)
    result = load_reviews(generic(path, rating_scale={"min": 0, "max": 10}), "t")
    stars = dict(zip(result.reviews["review_id"], result.reviews["rating"], strict=True))
    assert [stars[str(i)] for i in range(11)] == [1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5]
    assert result.quality["rows_quarantined"] == 0

    path = jsonl(
        tmp_path / "s.jsonl",
        [{"id": "a", "body": "x", "stars": 2.5}, {"id": "b", "body": "y", "stars": 11}],
    )
    result = load_reviews(generic(path, rating_scale={"min": 0, "max": 10}), "t")
    assert result.reviews["rating"].tolist() == [2]  # 2.0 stars
    assert reasons(result) == {2: "rating_out_of_range"}


def test_a_rating_map_names_each_value(tmp_path):
    path = jsonl(
        tmp_path / "m.jsonl",
        [
            {"id": "a", "body": "x", "stars": "A"},
            {"id": "b", "body": "x", "stars": 10.0},
            {"id": "c", "body": "x", "stars": "Z"},
            {"id": "d", "body": "x", "stars": None},
        ],
    )
    result = load_reviews(generic(path, rating_map={"A": 5, "10": 4}), "t")
    assert result.reviews["rating"].tolist() == [5, 4]
    assert reasons(result) == {3: "rating_out_of_range", 4: "rating_non_numeric"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"rating_scale": {"min": 10, "max": 0}}, "must be below max"),
        ({"rating_map": {"A": 6}}, "less than or equal to 5"),
        ({"rating_scale": {"min": 0, "max": 10}, "rating_map": {"A": 5}}, "not both"),
        ({"max_quarantine_rate": 1.5}, "less than or equal to 1"),
        ({"columns": {"text": "b", "rating": "s", "txt": "t"}}, "not canonical columns"),
        ({"keep": {"rating": "r"}}, "are canonical columns"),
        ({"columns": {"text": "b", "rating": "s", "source_row": "n"}}, "not canonical columns"),
    ],
)
def test_dataset_block_errors(extra, message):
    with pytest.raises(ValidationError, match=message):
        DatasetParams(**{**SHOP, **extra})


def test_every_canonical_column_can_be_mapped():
    from reviewlab.core.columns import CANONICAL_COLUMNS

    mappable = [c for c in CANONICAL_COLUMNS if c != "source_row"]
    assert DatasetParams(adapter="generic", path="x.csv", columns={c: c for c in mappable})


# 9 ----------------------------------------------------------------------------------------
def test_docs_add_a_dataset_outside_the_dvc_tracked_data_folder():
    data = docs_data()
    block = yaml.safe_load(re.search(r"```yaml\n(.*?)```", data, re.S).group(1))
    (shop,) = block["datasets"].values()
    tracked = [
        yaml.safe_load(f.read_text())["outs"][0]["path"] for f in ROOT.glob("*.dvc") if f.is_file()
    ]
    assert "data" in tracked
    assert not any(Path(shop["path"]).is_relative_to(t) for t in tracked), shop["path"]
    assert "dvc add" in data


def docs_data() -> str:
    return (ROOT / "docs" / "data.md").read_text(encoding="utf-8")


@pytest.mark.skipif(not DVC.exists(), reason="dvc is not installed")
def test_a_new_dataset_with_its_own_dvc_file_leaves_data_dvc_alone(tmp_path):
    """As docs/data.md says: the file lives outside data/ with its own ``dvc add``; a
    ``dvc repro`` then never rewrites the shared ``data.dvc``."""

    def dvc(*args: str) -> None:
        subprocess.run([str(DVC), *args, "-q"], cwd=tmp_path, check=True, timeout=120)

    dvc("init", "--no-scm")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "shared.csv").write_text("id,body\n")
    dvc("add", "data")
    before = (tmp_path / "data.dvc").read_bytes()
    (tmp_path / "data-local").mkdir()
    (tmp_path / "data-local" / "my_shop.csv").write_text("id,body,stars\n1,good,5\n")
    dvc("add", "data-local/my_shop.csv")
    params = {"datasets": {"my_shop": {"path": "data-local/my_shop.csv"}}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    stage = {  # the shape of the project's ingest stage: one per dataset, its file a dep
        "foreach": "${datasets}",
        "do": {
            "cmd": "cp ${item.path} ${key}.out",
            "deps": ["${item.path}"],
            "outs": ["${key}.out"],
        },
    }
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"ingest": stage}}))
    dvc("repro")
    (tmp_path / "data-local" / "my_shop.csv").write_text("id,body,stars\n1,good,5\n2,ok,4\n")
    dvc("repro")
    assert (tmp_path / "my_shop.out").read_text().endswith("2,ok,4\n")
    assert (tmp_path / "data.dvc").read_bytes() == before
    assert "my_shop.csv" in (tmp_path / "data-local" / "my_shop.csv.dvc").read_text()


# 10 ---------------------------------------------------------------------------------------
def test_a_directory_is_not_reported_as_a_missing_file(tmp_path):
    (tmp_path / "shop.csv").mkdir()
    with pytest.raises(DataLoadError) as err:
        load_reviews(generic(tmp_path / "shop.csv"), "shop")
    assert str(err.value).startswith(f"{tmp_path / 'shop.csv'}: is a directory")
    assert "file not found" not in str(err.value) and "datasets.shop.path" in str(err.value)


def test_blank_lines_are_skipped_and_keep_line_numbers(tmp_path):
    """Documented (docs/data.md): blank lines hold no record, so they are not counted in
    ``rows_read``; ``source_row`` stays the line number in the file."""
    path = tmp_path / "b.jsonl"
    path.write_bytes(
        b'\n{"id": "1", "body": "a", "stars": 5}\n\r\n  \n{"id": "2", "body": "b", "stars": 4}\n'
    )
    result = load_reviews(generic(path), "t")
    assert result.quality["rows_read"] == 2
    assert result.reviews["source_row"].tolist() == [2, 5]
    csv_path = tmp_path / "b.csv"
    csv_path.write_text("id,body,stars\n\n1,a,5\n\n2,b,4\n")
    result = load_reviews(generic(csv_path), "t")
    assert result.quality["rows_read"] == 2
    assert result.reviews["source_row"].tolist() == [3, 5]
