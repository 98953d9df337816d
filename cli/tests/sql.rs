//! `jsbox sql`: JS plugins as SQL functions over CSV, JSON Lines and
//! Parquet files, printed or written with `--output`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::str::contains;
use tempfile::TempDir;

const CLEAN: &str = "module.exports = (name) => name === null ? null : name.trim().toLowerCase();\n\
module.exports.score = (name, id) => name.length * 100 + id;\n\
module.exports.fail3 = (id) => { if (id === 3) throw new RangeError('id 3 is cursed'); return id; };\n\
module.exports.peek = (id) => require('fs').readFileSync('secret/note.txt', 'utf8').trim() + id;\n\
let calls = 0;\n\
module.exports.tally = () => ++calls;\n";

fn jsbox(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("jsbox").unwrap();
    cmd.current_dir(dir)
        .env("JSBOX_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("jsbox-cli-test-cache"))
        .env_remove("RUST_LOG");
    cmd
}

/// A temp dir with `clean.js`, `people.csv`, `people.jsonl` and
/// `secret/note.txt`.
fn fixture() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("clean.js"), CLEAN).unwrap();
    std::fs::write(p.join("people.csv"), "id,name\n1,  Ada \n2,GRACE\n3,Linus\n").unwrap();
    std::fs::write(
        p.join("people.jsonl"),
        "{\"id\": 1, \"name\": \"  Ada \"}\n{\"id\": 2, \"name\": \"GRACE\"}\n{\"id\": 3, \"name\": null}\n",
    )
    .unwrap();
    std::fs::create_dir(p.join("secret")).unwrap();
    std::fs::write(p.join("secret/note.txt"), "psst\n").unwrap();
    dir
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn csv_to_a_printed_table() {
    let dir = fixture();
    jsbox(dir.path())
        .args(["sql", "SELECT id, clean(name) AS name FROM 'people.csv' ORDER BY id", "--udf", "clean=clean.js"])
        .assert()
        .success()
        .stdout(contains("| 1  | ada   |"))
        .stdout(contains("| 2  | grace |"));
}

#[test]
fn jsonl_to_csv_with_a_named_export_and_types() {
    let dir = fixture();
    jsbox(dir.path())
        .args(["sql", "SELECT id, score(clean(name), id) AS s FROM 'people.jsonl' WHERE name IS NOT NULL ORDER BY id"])
        .args(["--udf", "clean=clean.js", "--udf", "score=clean.js:score(utf8, bigint)->bigint", "--output", "out.csv"])
        .assert()
        .success();
    assert_eq!(read(dir.path().join("out.csv")), "id,s\n1,301\n2,502\n");
}

#[test]
fn parquet_out_and_back_in() {
    let dir = fixture();
    jsbox(dir.path())
        .args(["sql", "SELECT id, clean(name) AS name FROM 'people.csv'", "--udf", "clean=clean.js", "--output", "clean.parquet"])
        .assert()
        .success();
    let parquet = std::fs::read(dir.path().join("clean.parquet")).unwrap();
    assert_eq!(&parquet[..4], b"PAR1");
    jsbox(dir.path())
        .args(["sql", "SELECT id, upper(name) AS name FROM 'clean.parquet' ORDER BY id", "--output", "out.jsonl"])
        .assert()
        .success();
    assert_eq!(
        read(dir.path().join("out.jsonl")),
        "{\"id\":1,\"name\":\"ADA\"}\n{\"id\":2,\"name\":\"GRACE\"}\n{\"id\":3,\"name\":\"LINUS\"}\n"
    );
}

#[test]
fn a_failing_row_fails_with_its_row_and_error_unless_null() {
    let dir = fixture();
    jsbox(dir.path())
        .args(["sql", "SELECT fail3(id) FROM 'people.csv'", "--udf", "fail3=clean.js:fail3->bigint"])
        .assert()
        .code(1)
        .stderr(contains("fail3: row 2 of a batch of 3"))
        .stderr(contains("RangeError: id 3 is cursed"));
    jsbox(dir.path())
        .args(["sql", "SELECT fail3(id) AS v FROM 'people.csv' ORDER BY id", "--udf", "fail3=clean.js:fail3->bigint"])
        .args(["--on-error", "null", "--output", "out.csv"])
        .assert()
        .success();
    // CSV writes a NULL as nothing (quoted, on a row of one column).
    assert_eq!(read(dir.path().join("out.csv")), "v\n1\n2\n\"\"\n");
}

#[test]
fn a_batch_shares_one_runtime_unless_per_row() {
    let dir = fixture();
    let sql = "SELECT tally(id) AS n FROM 'people.csv'";
    let run = |extra: &[&str]| {
        jsbox(dir.path())
            .args(["sql", sql, "--udf", "tally=clean.js:tally->bigint", "--jobs", "1", "--output", "out.csv"])
            .args(extra)
            .assert()
            .success();
        read(dir.path().join("out.csv"))
    };
    assert_eq!(run(&[]), "n\n1\n2\n3\n");
    assert_eq!(run(&["--per-batch"]), "n\n1\n2\n3\n");
    assert_eq!(run(&["--per-row"]), "n\n1\n1\n1\n");
    jsbox(dir.path()).args(["sql", sql, "--udf", "tally=clean.js:tally", "--per-row", "--per-batch"]).assert().code(2);
}

#[test]
fn grants_are_the_run_flags() {
    let dir = fixture();
    let sql = "SELECT peek(id) AS v FROM 'people.csv' ORDER BY id LIMIT 1";
    jsbox(dir.path()).args(["sql", sql, "--udf", "peek=clean.js:peek"]).assert().code(1).stderr(contains("row 0"));
    jsbox(dir.path())
        .args(["sql", sql, "--udf", "peek=clean.js:peek", "--allow-read", "secret", "--output", "out.csv"])
        .assert()
        .success();
    assert_eq!(read(dir.path().join("out.csv")), "v\npsst1\n");
}

#[test]
fn unsupported_types_and_bad_specs_are_usage_errors() {
    let dir = fixture();
    jsbox(dir.path())
        .args(["sql", "SELECT clean(CAST('2020-01-01' AS DATE)) FROM 'people.csv'", "--udf", "clean=clean.js"])
        .assert()
        .code(2)
        .stderr(contains("Date32 cannot cross into JS"));
    jsbox(dir.path())
        .args(["sql", "SELECT 1", "--udf", "clean=clean.js->date"])
        .assert()
        .code(2)
        .stderr(contains("unknown type `date`"));
    jsbox(dir.path())
        .args(["sql", "SELECT 1", "--udf", "clean=missing.js"])
        .assert()
        .code(2)
        .stderr(contains("missing.js"));
    jsbox(dir.path()).args(["sql", "SELECT * FROM 'nope.csv'"]).assert().code(2).stderr(contains("nope.csv"));
}

#[test]
fn a_broken_plugin_fails_before_the_query() {
    let dir = fixture();
    std::fs::write(dir.path().join("broken.js"), "module.exports = (x) => {").unwrap();
    jsbox(dir.path())
        .args(["sql", "SELECT b(id) FROM 'people.csv'", "--udf", "b=broken.js"])
        .assert()
        .code(1)
        .stderr(contains("cannot build the plugin's sandbox"));
}

/// `CREATE FUNCTION ... LANGUAGE javascript` before the query defines a
/// function for it, in the run's sandbox (its grants apply); a body that
/// does not compile is a usage error naming the function and the line.
#[test]
fn create_function_in_the_query() {
    let dir = fixture();
    let sql = "CREATE FUNCTION initials(VARCHAR) RETURNS VARCHAR LANGUAGE javascript AS '
export function initials(name) {
  return name.trim().split(/\\s+/).map((w) => w[0].toUpperCase()).join(''.'');
}';
SELECT id, initials(name) AS i FROM 'people.csv' ORDER BY id";
    jsbox(dir.path()).args(["sql", sql]).assert().success().stdout(contains("| 1  | A |")).stdout(contains("| 3  | L |"));
    let peek = "CREATE FUNCTION peek(BIGINT) RETURNS VARCHAR LANGUAGE javascript AS '
import { readFileSync } from ''fs'';
export function peek(id) { return readFileSync(''secret/note.txt'', ''utf8'').trim() + id; }';
SELECT peek(id) AS p FROM 'people.csv' WHERE id = 2";
    jsbox(dir.path()).args(["sql", peek, "--allow-read", "secret"]).assert().success().stdout(contains("| psst2 |"));
    jsbox(dir.path()).args(["sql", peek]).assert().failure().stderr(contains("peek"));
    let broken = "CREATE FUNCTION twice(BIGINT) RETURNS BIGINT LANGUAGE javascript AS '\nexport function twice(x) {\n  return x *;\n}'; SELECT twice(id) FROM 'people.csv'";
    jsbox(dir.path())
        .args(["sql", broken])
        .assert()
        .code(2)
        .stderr(contains("twice"))
        .stderr(contains("twice.mjs:3:"));
}

/// `--udaf` makes a module exporting create_state, accumulate, merge and
/// finish an aggregate (its length is SQL's max(length) over the partitions of
/// `--jobs 2`); `--udtf` makes a generator a table function.
#[test]
fn aggregates_and_table_functions() {
    let dir = fixture();
    std::fs::write(
        dir.path().join("agg.js"),
        "exports.longest = { create_state: () => '', accumulate: (s, x) => (x !== null && x.length > s.length ? x : s),\n\
         merge: (s, o) => (o.length > s.length ? o : s), finish: (s) => s };\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("gen.js"), "module.exports = function* (n) { for (let i = 1; i <= n; i++) yield { n: i, even: i % 2 === 0 }; };").unwrap();
    let sql = "SELECT longest(name) AS l, max(length(name)) AS m, (SELECT count(*) FROM numbers(7) WHERE even) AS evens FROM 'people.csv'";
    jsbox(dir.path())
        .args(["sql", sql, "--jobs", "2", "--udaf", "longest=agg.js:longest(utf8)", "--udtf", "numbers=gen.js->struct<n: int64, even: boolean>"])
        .assert()
        .success()
        .stdout(contains("|   Ada  | 6 | 3     |"));
    std::fs::write(dir.path().join("half.js"), "exports.create_state = () => 0;").unwrap();
    jsbox(dir.path())
        .args(["sql", "SELECT half(id) FROM 'people.csv'", "--udaf", "half=half.js->int64"])
        .assert()
        .code(1)
        .stderr(contains("half: aggregate_update"))
        .stderr(contains("exports no function accumulate"));
}
