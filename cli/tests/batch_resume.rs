//! `jsbox batch --output` survives SIGKILL at any moment, and `--resume`
//! finishes the job byte-identical to an uninterrupted run; it refuses an
//! output that belongs to another job.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PLUGIN: &str = r#"module.exports = (x) => {
  if (x.i % 97 === 13) throw new RangeError('record ' + x.i + ' is unlucky');
  let s = '';
  for (let k = 0; k < (x.i * 7) % 300; k++) s += String.fromCharCode(97 + ((x.i + k) % 26));
  return { i: x.i, s, sq: x.i * x.i, tags: [x.tag, s.length] };
};
"#;

const RECORDS: usize = 4000;

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("jsbox")
}

fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("jsbox-cli-test-cache")
}

struct Job {
    _dir: tempfile::TempDir,
    plugin: PathBuf,
    input: PathBuf,
    root: PathBuf,
}

fn job() -> Job {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("plugin.js");
    std::fs::write(&plugin, PLUGIN).unwrap();
    let input = dir.path().join("in.jsonl");
    let mut text = String::new();
    for i in 0..RECORDS {
        text.push_str(&format!("{{\"i\":{i},\"tag\":\"t{}\"}}\n", i % 5));
    }
    // One line that is not JSON: an error line, resumed like any other.
    text.push_str("not json\n");
    std::fs::write(&input, text).unwrap();
    Job { root: dir.path().to_path_buf(), _dir: dir, plugin, input }
}

fn batch(job: &Job, output: &Path, extra: &[&str]) -> Command {
    batch_on(job, &job.input, output, extra)
}

fn batch_on(job: &Job, input: &Path, output: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.arg("batch")
        .arg(&job.plugin)
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output)
        .args(["--jobs", "2"])
        .args(extra)
        .env("JSBOX_CACHE_DIR", cache_dir())
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// A small deterministic generator (xorshift), seeded per run and printed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sigkill_at_random_points_then_resume_is_byte_identical() {
    let job = job();
    let reference = job.root.join("reference.jsonl");
    let status = batch(&job, &reference, &[]).status().unwrap();
    assert_eq!(status.code(), Some(1), "some records fail by design");
    let expected = std::fs::read(&reference).unwrap();
    assert_eq!(expected.iter().filter(|&&b| b == b'\n').count(), RECORDS + 1);

    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("kill points seeded with {seed}");
    let mut rng = Rng(seed);
    let out = job.root.join("out.jsonl");
    let mut kills = 0;
    for round in 0..5 {
        let mut child = KillOnDrop(batch(&job, &out, &["--resume"]).spawn().unwrap());
        // Kill once the output passes a random size (or, in round 0, after
        // a random time: possibly before the output exists).
        let target = rng.below(expected.len() as u64);
        let deadline = Instant::now() + Duration::from_secs(120);
        if round == 0 {
            std::thread::sleep(Duration::from_millis(rng.below(300)));
        } else {
            while std::fs::metadata(&out).map_or(0, |m| m.len()) < target && Instant::now() < deadline {
                if child.0.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        if child.0.try_wait().unwrap().is_none() {
            child.0.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.0.wait().unwrap();
        let got = std::fs::read(&out).unwrap_or_default();
        assert!(expected.starts_with(&got), "round {round}: the output is not a prefix of the reference");
        assert!(got.is_empty() || got.ends_with(b"\n"), "round {round}: a torn line ({} bytes)", got.len());
    }
    assert!(kills >= 3, "only {kills} runs were killed mid-way");
    let finish = batch(&job, &out, &["--resume"]).output().unwrap();
    assert_eq!(finish.status.code(), Some(1), "{}", String::from_utf8_lossy(&finish.stderr));
    assert!(std::fs::read(&out).unwrap() == expected, "the resumed output differs from the uninterrupted run's");
    // The summary counts the records done before the resume too.
    let stderr = String::from_utf8_lossy(&finish.stderr);
    assert!(stderr.contains(&format!("{} records", RECORDS + 1)), "{stderr}");
    // Resuming a finished job is a no-op with the same outcome.
    let again = batch(&job, &out, &["--resume"]).output().unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(std::fs::read(&out).unwrap() == expected);
}

#[test]
fn resume_refuses_an_output_of_another_job() {
    let job = job();
    let out = job.root.join("out.jsonl");
    assert_eq!(batch(&job, &out, &[]).status().unwrap().code(), Some(1));
    let before = std::fs::read(&out).unwrap();

    // Another input.
    let other = job.root.join("other.jsonl");
    std::fs::write(&other, "{\"i\":1,\"tag\":\"x\"}\n").unwrap();
    let o = batch_on(&job, &other, &out, &["--resume"]).output().unwrap();
    assert_eq!(o.status.code(), Some(7));
    assert!(String::from_utf8_lossy(&o.stderr).contains("different input"), "{}", String::from_utf8_lossy(&o.stderr));

    // Other options.
    let o = batch(&job, &out, &["--resume", "--timeout", "3s"]).output().unwrap();
    assert_eq!(o.status.code(), Some(7));
    assert!(String::from_utf8_lossy(&o.stderr).contains("set of options"));

    // No record next to the file: it cannot be vouched for.
    std::fs::remove_file(job.root.join("out.jsonl.jsbox-resume")).unwrap();
    let o = batch(&job, &out, &["--resume"]).output().unwrap();
    assert_eq!(o.status.code(), Some(7));
    assert_eq!(std::fs::read(&out).unwrap(), before, "a refused resume leaves the file alone");

    // --resume without --output is a usage error.
    let o = Command::new(bin())
        .args(["batch", "p.js", "--input", "in.jsonl", "--resume"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// A plugin directory: an ES module importing a module and a JSON file, and
/// a CommonJS plugin requiring them.
fn module_job() -> Job {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::create_dir_all(root.join("lib")).unwrap();
    std::fs::write(root.join("plugin.mjs"), "import { f } from './lib/f.mjs';\nimport t from './lib/t.json' with { type: 'json' };\nexport default (x) => f(x) + t.k;\n").unwrap();
    std::fs::write(root.join("plugin.js"), "const t = require('./lib/t.json');\nmodule.exports = (x) => require('./lib/g').g(x) + t.k;\n").unwrap();
    std::fs::write(root.join("lib/f.mjs"), "export const f = (x) => x * 2;\n").unwrap();
    std::fs::write(root.join("lib/g.js"), "exports.g = (x) => x * 2;\n").unwrap();
    std::fs::write(root.join("lib/t.json"), "{\"k\": 1}\n").unwrap();
    let input = root.join("in.jsonl");
    std::fs::write(&input, (0..50).map(|i| format!("{i}\n")).collect::<String>()).unwrap();
    Job { plugin: root.join("plugin.mjs"), input, root, _dir: dir }
}

fn stderr_of(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn resume_refuses_a_plugin_whose_imported_modules_changed() {
    // (plugin, file it imports or requires, an edit of that file)
    let cases = [
        ("plugin.mjs", "lib/f.mjs", "export const f = (x) => x * 3;\n"),
        ("plugin.mjs", "lib/t.json", "{\"k\": 2}\n"),
        ("plugin.mjs", "plugin.mjs", "import { f } from './lib/f.mjs';\nexport default (x) => f(x);\n"),
        ("plugin.js", "lib/g.js", "exports.g = (x) => x * 3;\n"),
        ("plugin.js", "lib/t.json", "{\"k\": 2}\n"),
    ];
    for (plugin, file, edit) in cases {
        let mut job = module_job();
        job.plugin = job.root.join(plugin);
        let out = job.root.join("out.jsonl");
        let o = batch(&job, &out, &[]).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{plugin}: {}", stderr_of(&o));
        let before = std::fs::read(&out).unwrap();
        assert!(before.starts_with(b"{\"ok\":1}\n{\"ok\":3}\n"), "{plugin}");
        // Unchanged: resuming the finished job is fine.
        assert_eq!(batch(&job, &out, &["--resume"]).status().unwrap().code(), Some(0), "{plugin}");

        std::fs::write(job.root.join(file), edit).unwrap();
        let o = batch(&job, &out, &["--resume"]).output().unwrap();
        assert_eq!(o.status.code(), Some(7), "{plugin} after editing {file}: {}", stderr_of(&o));
        assert!(stderr_of(&o).contains("different plugin"), "{}", stderr_of(&o));
        assert_eq!(std::fs::read(&out).unwrap(), before, "a refused resume leaves the file alone");
    }
}

#[test]
fn a_second_batch_on_the_same_output_refuses_at_once() {
    let job = module_job();
    std::fs::write(
        &job.plugin,
        "export default async (x) => { await new Promise((r) => setTimeout(r, 30)); return x; };\n",
    )
    .unwrap();
    std::fs::write(&job.input, (0..150).map(|i| format!("{i}\n")).collect::<String>()).unwrap();
    let out = job.root.join("out.jsonl");
    let mut first = KillOnDrop(batch(&job, &out, &[]).spawn().unwrap());
    // Once a result line is out, the first run holds the lock.
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::fs::metadata(&out).map_or(0, |m| m.len()) == 0 {
        assert!(first.0.try_wait().unwrap().is_none(), "the first run ended early");
        assert!(Instant::now() < deadline, "the first run wrote nothing");
        std::thread::sleep(Duration::from_millis(5));
    }
    // The same file, by name and through a symlink, fresh or resumed.
    let link = job.root.join("link.jsonl");
    std::os::unix::fs::symlink(&out, &link).unwrap();
    for (output, extra) in [(&out, &[][..]), (&link, &[][..]), (&out, &["--resume"][..])] {
        let o = batch(&job, output, extra).output().unwrap();
        assert_eq!(o.status.code(), Some(8), "{}", stderr_of(&o));
        assert!(stderr_of(&o).contains("being written by another jsbox batch"), "{}", stderr_of(&o));
        assert!(first.0.try_wait().unwrap().is_none(), "the second run waited for the first to end");
    }
    // The first run's output is whole.
    let status = first.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let expected: String = (0..150).map(|i| format!("{{\"ok\":{i}}}\n")).collect();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), expected);
    // Free again once it ended.
    assert_eq!(batch(&job, &out, &["--resume"]).status().unwrap().code(), Some(0));
}

#[test]
fn an_output_that_is_the_input_is_refused() {
    let job = module_job();
    let original = std::fs::read(&job.input).unwrap();
    let symlink = job.root.join("link.jsonl");
    std::os::unix::fs::symlink(&job.input, &symlink).unwrap();
    let hardlink = job.root.join("hard.jsonl");
    std::fs::hard_link(&job.input, &hardlink).unwrap();
    for output in [&job.input, &symlink, &hardlink] {
        for extra in [&[][..], &["--resume"][..]] {
            let o = batch(&job, output, extra).output().unwrap();
            assert_eq!(o.status.code(), Some(2), "{}", stderr_of(&o));
            assert!(stderr_of(&o).contains("is the input file"), "{}", stderr_of(&o));
            assert_eq!(std::fs::read(&job.input).unwrap(), original, "the input was touched");
            assert!(!job.root.join("in.jsonl.jsbox-resume").exists());
        }
    }
}
