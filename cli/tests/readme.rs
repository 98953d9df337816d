//! The documentation's shell blocks are tests. Every ```sh, ```bash,
//! ```shell and ```console block of `README.md`, `examples/**/*.md` and
//! `docs/**/*.md` is run, in order, the way a newcomer would run it in a
//! fresh checkout: from a temporary directory holding a copy of the
//! repository's `examples/`, with the `jsbox` under test on `PATH`.
//!
//! The conventions (README.md, "Docs are tests", says the same):
//!
//! - In `sh`, `bash` and `shell` blocks every line is a command (a trailing
//!   `\` continues it, `#` lines are comments). A trailing `# exits N` is the
//!   exit code the command must end with; otherwise it must succeed.
//! - In `console` blocks, `$ ` lines are commands (with the same `# exits N`)
//!   and the lines after one are what it prints, stdout and stderr as a
//!   terminal shows them. A line `...` stands for any number of lines,
//!   `[..]` for any text within a line.
//! - `cargo run --release -p jsbox-cli --` (or without `--release`) and
//!   `jsbox` run the binary under test; `/tmp/` paths are mapped into the
//!   test's own temporary directory (and back, in what commands print).
//! - A block whose info string says `no-run`, followed by the reason
//!   (```` ```sh no-run: rebuilds the guest ````), is not run.
//!
//! This file reads the workspace, so it is left out of the published
//! `jsbox-cli` crate (as are the other tests).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A command can take this long (a cold factory build compiles the guest).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);
const SHELL_LANGS: &[&str] = &["sh", "bash", "shell", "console"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[derive(Debug)]
struct Step {
    /// `file:line` of the command.
    place: String,
    command: String,
    exit: i32,
    /// The output a `console` block shows, or `None` (`sh` blocks).
    output: Option<Vec<String>>,
}

/// Splits `# exits N` off a command.
fn expected_exit(command: &str, place: &str) -> (String, i32) {
    match command.rsplit_once("# exits ") {
        Some((cmd, code)) => {
            let code = code.trim().parse().unwrap_or_else(|_| panic!("{place}: bad `# exits` code: {code}"));
            (cmd.trim_end().to_string(), code)
        }
        None => (command.to_string(), 0),
    }
}

/// The runnable steps of one markdown file, in order.
fn steps(doc: &Path, text: &str) -> Vec<Step> {
    let name = doc.strip_prefix(repo()).unwrap_or(doc).display().to_string();
    let mut steps = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let Some(info) = line.trim_start().strip_prefix("```") else { continue };
        let mut words = info.split_whitespace();
        let lang = words.next().unwrap_or("");
        let rest: Vec<&str> = words.collect();
        let mut body = Vec::new();
        for (j, l) in lines.by_ref() {
            if l.trim_start().starts_with("```") {
                break;
            }
            body.push((j + 1, l));
        }
        if !SHELL_LANGS.contains(&lang) {
            continue;
        }
        if let Some(at) = rest.iter().position(|w| w.trim_end_matches(':') == "no-run") {
            assert!(at + 1 < rest.len(), "{name}:{}: `no-run` needs a reason after it", i + 1);
            continue;
        }
        // Join `\` continuations, keeping the first line's number.
        let mut joined: Vec<(usize, String)> = Vec::new();
        let mut continued = false;
        for (n, l) in body {
            if continued {
                let last = joined.last_mut().unwrap();
                last.1.push(' ');
                last.1.push_str(l.trim_start());
            } else {
                joined.push((n, l.to_string()));
            }
            continued = joined.last().unwrap().1.ends_with('\\');
            if continued {
                let last = joined.last_mut().unwrap();
                last.1.pop();
            }
        }
        if lang == "console" {
            for (n, l) in joined {
                if let Some(cmd) = l.strip_prefix("$ ") {
                    let place = format!("{name}:{n}");
                    let (command, exit) = expected_exit(cmd, &place);
                    steps.push(Step { place, command, exit, output: Some(Vec::new()) });
                } else {
                    let step = steps.last_mut().unwrap_or_else(|| panic!("{name}:{n}: output before any `$ ` command"));
                    step.output.as_mut().unwrap().push(l);
                }
            }
        } else {
            for (n, l) in joined {
                let trimmed = l.trim();
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    continue;
                }
                let place = format!("{name}:{n}");
                let (command, exit) = expected_exit(trimmed, &place);
                steps.push(Step { place, command, exit, output: None });
            }
        }
    }
    for step in &mut steps {
        if let Some(out) = &mut step.output {
            while out.last().is_some_and(|l| l.trim().is_empty()) {
                out.pop();
            }
        }
    }
    steps
}

/// Whether `line` matches `pattern`, where `[..]` is any text.
fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split("[..]").collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !line.starts_with(first) || !line[first.len()..].ends_with(last) || line.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &line[first.len()..line.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Whether `actual` matches `expected`, where a `...` line is any number of
/// lines.
fn output_matches(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first.trim() == "..." => {
            (0..=actual.len()).any(|skip| output_matches(rest, &actual[skip..]))
        }
        Some((first, rest)) => {
            actual.first().is_some_and(|a| line_matches(first.trim_end(), a.trim_end()))
                && output_matches(rest, &actual[1..])
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Runs every step of `doc` in a fresh directory; returns the failures.
fn run_doc(doc: &Path) -> (usize, String) {
    let text = std::fs::read_to_string(doc).unwrap();
    let steps = steps(doc, &text);
    let scratch = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let checkout = scratch.path().join("checkout");
    copy_dir(&repo().join("examples"), &checkout.join("examples"));
    let bin = scratch.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_jsbox"), bin.join("jsbox")).unwrap();
    let tmp = scratch.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    // `tsc` for the `jsbox types` example: scripts/test-tools.sh installs it
    // there (a missing one fails that step, "command not found").
    let tools = repo().join("target/test-tools/node_modules/.bin");
    let path = format!("{}:{}:{}", bin.display(), tools.display(), std::env::var("PATH").unwrap_or_default());
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("jsbox-cli-test-cache");

    let mut failures = String::new();
    for step in &steps {
        let command = step
            .command
            .replace("cargo run --release -p jsbox-cli --", "jsbox")
            .replace("cargo run -p jsbox-cli --", "jsbox")
            .replace("/tmp/", &format!("{}/", tmp.display()));
        let out_file = scratch.path().join("output");
        let out = std::fs::File::create(&out_file).unwrap();
        let mut child = Command::new("bash")
            .args(["-o", "pipefail", "-c", &format!("exec 2>&1\n{command}")])
            .current_dir(&checkout)
            .env("PATH", &path)
            .env("JSBOX_CACHE_DIR", &cache)
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(out)
            .spawn()
            .unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if start.elapsed() > COMMAND_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Paths in the output read as the doc wrote them.
        let printed = std::fs::read_to_string(&out_file).unwrap_or_default().replace(&tmp.display().to_string(), "/tmp");
        let actual: Vec<&str> = printed.lines().collect();
        let code = status.and_then(|s| s.code());
        let exit_ok = code == Some(step.exit);
        let output_ok = step.output.as_ref().is_none_or(|expected| output_matches(expected, &actual));
        if !exit_ok || !output_ok {
            let _ = writeln!(failures, "\n{}: {}", step.place, step.command);
            if !exit_ok {
                let _ = writeln!(failures, "  exit code {code:?}, the doc expects {}", step.exit);
            }
            if let Some(expected) = step.output.as_ref().filter(|_| !output_ok) {
                let _ = writeln!(failures, "  the doc shows:\n    {}", expected.join("\n    "));
            }
            let _ = writeln!(failures, "  it printed:\n    {}", actual.join("\n    "));
        }
    }
    (steps.len(), failures)
}

fn assert_doc_runs(doc: &Path) {
    let (count, failures) = run_doc(doc);
    assert!(failures.is_empty(), "{}: shell blocks that do not do what the doc says:{failures}", doc.display());
    eprintln!("{}: {count} commands ran as documented", doc.display());
}

/// Every markdown file under `dir` (recursively).
fn markdown_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            markdown_under(&p, out);
        } else if p.extension().is_some_and(|e| e == "md") {
            out.push(p);
        }
    }
}

#[test]
fn readme_shell_blocks_run() {
    let readme = repo().join("README.md");
    assert!(!steps(&readme, &std::fs::read_to_string(&readme).unwrap()).is_empty());
    assert_doc_runs(&readme);
}

#[test]
fn examples_and_docs_shell_blocks_run() {
    let mut docs = Vec::new();
    markdown_under(&repo().join("examples"), &mut docs);
    markdown_under(&repo().join("docs"), &mut docs);
    docs.sort();
    assert!(docs.iter().any(|d| d.ends_with("examples/README.md")));
    for doc in docs {
        assert_doc_runs(&doc);
    }
}

#[test]
fn the_conventions_parse_as_documented() {
    let doc = "\
intro
```sh
jsbox eval '1 + 1'
# a comment
jsbox eval 'x' \\
  --timeout 1s   # exits 1
```
```sh no-run: needs root
make toolchain
```
```console
$ jsbox eval '2'
2
...
last [..] line
```
```rust
fn main() {}
```
";
    let steps = steps(Path::new("doc.md"), doc);
    let summary: Vec<_> = steps.iter().map(|s| (s.place.as_str(), s.command.as_str(), s.exit)).collect();
    assert_eq!(
        summary,
        [
            ("doc.md:3", "jsbox eval '1 + 1'", 0),
            ("doc.md:5", "jsbox eval 'x'  --timeout 1s", 1),
            ("doc.md:12", "jsbox eval '2'", 0)
        ]
    );
    let shown = steps[2].output.as_ref().unwrap();
    assert!(output_matches(shown, &["2", "a", "b", "last of all line"]));
    assert!(output_matches(shown, &["2", "last  line"]));
    assert!(!output_matches(shown, &["3", "last x line"]));
    assert!(!output_matches(shown, &["2", "last line"]));
    assert!(steps[0].output.is_none());
}
