//! What the SQLite call log keeps when the process is killed, and how it
//! fails when it cannot write.
//!
//! The kill tests run this test binary again as a child process (the
//! ignored `child` test, selected by an environment variable); the child
//! makes calls, prints a line after each returns, and is killed with
//! SIGKILL by the parent on the line it chooses.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jsbox::calllog::{Durability, SqliteCallLog, SqliteOptions, Window};
use jsbox::{CacheDir, CallLogPolicy, EngineFactory, EngineOptions, Error, NativeModule};

const CHILD: &str = "JSBOX_CALLLOG_CHILD";

fn cache() -> CacheDir {
    CacheDir::Path(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cache"))
}

fn options(calllog: CallLogPolicy, calls: Arc<AtomicUsize>) -> EngineOptions {
    EngineOptions::new()
        .cache(cache())
        .native_module(
            NativeModule::new("m")
                .function("add", move |(a, b): (i64, i64)| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, String>(a + b)
                })
                .function("len", |(s,): (String,)| Ok::<_, String>(s.len())),
        )
        .init_script("function twice(x) { return require('m').add(x, x) }")
        .calllog(calllog)
}

/// The child: `MODE DB N`. Makes N calls of `twice` (two rows each: the
/// host->js call and the js->host call inside it), printing `CALL i` after
/// each returns, then `IDLE`, then waits to be killed.
#[test]
#[ignore = "a child process of the kill tests"]
fn child() {
    let Ok(spec) = std::env::var(CHILD) else { return };
    let parts: Vec<&str> = spec.split('\t').collect();
    let db = PathBuf::from(parts[1]);
    let n: usize = parts[2].parse().unwrap();
    let policy = match parts[0] {
        "durable" => CallLogPolicy::SqliteDurable(db),
        _ => CallLogPolicy::Sqlite(db),
    };
    let f = EngineFactory::new(options(policy, Arc::default())).unwrap();
    let mut rt = f.new_runtime().unwrap();
    // libtest has printed "test child ... " without a newline: end it.
    println!();
    for i in 0..n {
        assert_eq!(rt.call_as::<i64>("twice", (i,)).unwrap(), 2 * i as i64);
        println!("CALL {i}");
    }
    println!("IDLE");
    std::thread::sleep(Duration::from_secs(120));
}

/// Kills the child when dropped, whatever happened.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the child and SIGKILLs it right after it prints `last`.
fn run_child_until(mode: &str, db: &Path, n: usize, last: &str, then_wait: Duration) {
    let mut child = Killed(
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child", "--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD, format!("{mode}\t{}\t{n}", db.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let mut seen = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line == last {
            std::thread::sleep(then_wait);
            child.0.kill().unwrap(); // SIGKILL
            seen = true;
            break;
        }
    }
    assert!(seen, "the child never printed {last:?}");
    child.0.wait().unwrap();
}

fn rows_and_integrity(db: &Path) -> (i64, String) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let rows = conn.query_row("SELECT COUNT(*) FROM call_log", [], |r| r.get(0)).unwrap();
    let check = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    (rows, check)
}

#[test]
fn durable_mode_keeps_every_returned_call_through_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    for n in [1usize, 7, 40] {
        let db = dir.path().join(format!("durable-{n}.sqlite"));
        run_child_until("durable", &db, n, &format!("CALL {}", n - 1), Duration::ZERO);
        let (rows, check) = rows_and_integrity(&db);
        assert_eq!(rows, 2 * n as i64, "every row of the {n} returned calls");
        assert_eq!(check, "ok");
    }
}

#[test]
fn batched_mode_loses_at_most_its_window() {
    let dir = tempfile::tempdir().unwrap();
    let window = Window::default();
    // Killed right after the last call: at most 2 * max_rows rows lost.
    let n = 1500;
    let db = dir.path().join("batched-now.sqlite");
    run_child_until("batched", &db, n, &format!("CALL {}", n - 1), Duration::ZERO);
    let (rows, check) = rows_and_integrity(&db);
    assert_eq!(check, "ok");
    assert!(rows <= 2 * n as i64 && rows >= 2 * n as i64 - 2 * window.max_rows as i64, "{rows} rows");
    // Killed after the window's time has passed: nothing lost, though the
    // runtime and factory were never dropped or flushed.
    let db = dir.path().join("batched-later.sqlite");
    run_child_until("batched", &db, 10, "IDLE", window.max_delay * 10);
    let (rows, check) = rows_and_integrity(&db);
    assert_eq!((rows, check.as_str()), (20, "ok"));
}

#[test]
fn an_unwritable_location_is_a_typed_error_at_build() {
    let build = |path: PathBuf| EngineFactory::new(options(CallLogPolicy::Sqlite(path), Arc::default()));
    // procfs refuses new files even to root.
    let err = build(PathBuf::from("/proc/jsbox-no-such-dir/calls.sqlite")).unwrap_err();
    assert!(matches!(err, Error::CallLog(_)), "{err}");
    // A directory where the file should be.
    let dir = tempfile::tempdir().unwrap();
    let err = build(dir.path().to_path_buf()).unwrap_err();
    assert!(matches!(err, Error::CallLog(_)), "{err}");
    // A read-only directory (only meaningful when not running as root,
    // which bypasses permissions).
    use std::os::unix::fs::PermissionsExt;
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let probe = std::fs::File::create(ro.join("probe"));
    if probe.is_err() {
        let err = build(ro.join("calls.sqlite")).unwrap_err();
        assert!(matches!(err, Error::CallLog(_)), "{err}");
    }
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn full_log(dir: &Path, durability: Durability) -> Arc<SqliteCallLog> {
    let options = SqliteOptions { durability, max_bytes: Some(64 << 10) };
    Arc::new(SqliteCallLog::open_with(&dir.join("full.sqlite"), options).unwrap())
}

#[test]
fn a_full_log_fails_loudly_in_durable_mode() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let f = EngineFactory::new(options(CallLogPolicy::Custom(full_log(dir.path(), Durability::PerCall)), calls.clone()))
        .unwrap();
    let mut rt = f.new_runtime().unwrap();
    let big = "x".repeat(4000);
    let mut failed = None;
    for i in 0..200 {
        match rt.call("twice", (i,)).and_then(|_| rt.eval(&format!("require('m').len('{big}')"))) {
            Ok(_) => {}
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let err = failed.expect("a 64 KiB log fills up");
    assert!(matches!(err, Error::CallLog(ref m) if m.contains("full")), "{err}");
    // The log is failing: the next native call is refused before it runs.
    let before = calls.load(Ordering::SeqCst);
    let err = rt.call("twice", (1,)).unwrap_err();
    assert!(matches!(err, Error::CallLog(_)), "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), before, "no unrecorded side effect");
    assert!(matches!(f.flush_calllog(), Err(Error::CallLog(m)) if m.contains("could not be written")));
    assert!(matches!(f.new_runtime(), Err(Error::CallLog(_))));
}

#[test]
fn a_full_log_fails_loudly_in_batched_mode() {
    let dir = tempfile::tempdir().unwrap();
    let window = Window { max_rows: 8, max_delay: Duration::from_millis(5) };
    let sink = full_log(dir.path(), Durability::Batched(window));
    let f = EngineFactory::new(options(CallLogPolicy::Custom(sink), Arc::default())).unwrap();
    let mut rt = f.new_runtime().unwrap();
    let big = "x".repeat(4000);
    let mut failed = None;
    for _ in 0..500 {
        if let Err(e) = rt.eval(&format!("require('m').len('{big}')")) {
            failed = Some(e);
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let err = failed.expect("the loss surfaces at a later call");
    assert!(matches!(err, Error::CallLog(ref m) if m.contains("could not be written")), "{err}");
    let err = f.flush_calllog().unwrap_err();
    assert!(matches!(err, Error::CallLog(_)), "{err}");
}
