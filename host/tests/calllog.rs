//! The call log: off by default, per-factory sinks (SQLite, memory,
//! custom), entry contents, nothing lost under concurrency, WAL mode.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jsbox::calllog::read_entries;
use jsbox::{CacheDir, CallEntry, CallLogPolicy, CallLogSink, Direction, EngineFactory, EngineOptions, MemoryCallLog, NativeModule};
use serde_json::json;

fn cache() -> CacheDir {
    CacheDir::Path(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cache"))
}

fn math() -> NativeModule {
    NativeModule::new("m")
        .function("add", |(a, b): (i64, i64)| Ok::<_, String>(a + b))
        .function("fail", |(why,): (String,)| Err::<(), _>(format!("failed: {why}")))
}

/// Every factory here has the same registry (one compiled snapshot).
fn options(calllog: CallLogPolicy) -> EngineOptions {
    EngineOptions::new()
        .cache(cache())
        .max_runtimes(32)
        .native_module(math())
        .init_script("function twice(x) { return require('m').add(x, x) }")
        .calllog(calllog)
}

fn count_rows(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT COUNT(*) FROM call_log", [], |r| r.get(0)).unwrap()
}

fn js_to_host(entries: &[CallEntry]) -> Vec<&CallEntry> {
    entries.iter().filter(|e| e.direction == Direction::JsToHost).collect()
}

fn host_to_js(entries: &[CallEntry]) -> Vec<&CallEntry> {
    entries.iter().filter(|e| e.direction == Direction::HostToJs).collect()
}

#[test]
fn default_factory_logs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("third.db");
    let memory = MemoryCallLog::new();
    let logged = EngineFactory::new(options(CallLogPolicy::Memory(memory.clone()))).unwrap();
    let sqlite = EngineFactory::new(options(CallLogPolicy::Sqlite(db.clone()))).unwrap();
    let default = EngineFactory::new(options(CallLogPolicy::Disabled)).unwrap();

    let marker = "default-factory-marker-7f3a";
    let mut rt = default.new_runtime().unwrap();
    let default_id = rt.id();
    assert_eq!(rt.eval(&format!("require('m').add(1, 2) + '{marker}'")).unwrap(), json!(format!("3{marker}")));
    assert_eq!(rt.require("m").unwrap(), json!({}));
    drop(rt);
    default.flush_calllog().unwrap();

    // The other loggers work (they exist in this process) ...
    let mut other = logged.new_runtime().unwrap();
    other.eval("require('m').add(2, 2)").unwrap();
    drop(other);
    let mut third = sqlite.new_runtime().unwrap();
    third.eval("require('m').add(3, 3)").unwrap();
    drop(third);
    sqlite.flush_calllog().unwrap();

    // ... but nothing from the default factory's runtime reached them.
    let mem_entries = memory.entries();
    assert_eq!(mem_entries.len(), 2, "{mem_entries:#?}");
    let db_entries = read_entries(&db, None, None, None).unwrap();
    assert_eq!(db_entries.len(), 2, "{db_entries:#?}");
    for e in mem_entries.iter().chain(&db_entries) {
        assert!(!e.args_json.contains(marker), "the default factory's call was logged: {e:?}");
        assert!(!e.result_json.as_deref().unwrap_or("").contains(marker), "{e:?}");
        assert_ne!(e.args_json, "[1,2]", "{e:?}");
    }
    // Runtime ids are per factory, so only content proves the point above;
    // but the default factory's first runtime id must not appear with its
    // marker anywhere.
    let _ = default_id;
    assert_eq!(count_rows(&db), 2);
}

#[test]
fn sqlite_logs_one_row_per_native_call_into_its_own_database() {
    let dir = tempfile::tempdir().unwrap();
    let (db_a, db_b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let fa = EngineFactory::new(options(CallLogPolicy::Sqlite(db_a.clone()))).unwrap();
    let fb = EngineFactory::new(options(CallLogPolicy::Sqlite(db_b.clone()))).unwrap();

    let mut rt = fa.new_runtime().unwrap();
    let id = rt.id();
    assert_eq!(rt.eval("require('m').add(20, 22)").unwrap(), json!(42));
    drop(rt);
    fa.flush_calllog().unwrap();
    fb.flush_calllog().unwrap();

    let entries = read_entries(&db_a, None, None, None).unwrap();
    let calls = js_to_host(&entries);
    assert_eq!(calls.len(), 1, "{entries:#?}");
    let c = calls[0];
    assert_eq!((c.module.as_str(), c.function.as_str()), ("m", "add"));
    assert_eq!(c.args_json, "[20,22]");
    assert_eq!(c.result_json.as_deref(), Some("42"));
    assert_eq!(c.error, None);
    assert_eq!(c.runtime_id, id);
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!((now_ms - 600_000..=now_ms).contains(&c.ts_unix_ms), "timestamp {} vs now {now_ms}", c.ts_unix_ms);

    let evals = host_to_js(&entries);
    assert_eq!(evals.len(), 1, "{entries:#?}");
    let e = evals[0];
    assert_eq!((e.module.as_str(), e.function.as_str()), ("", "eval"));
    assert_eq!(serde_json::from_str::<serde_json::Value>(&e.args_json).unwrap(), json!(["<eval>", "require('m').add(20, 22)"]));
    assert_eq!(e.result_json.as_deref(), Some("42"));
    assert_eq!(e.runtime_id, id);
    assert!(e.duration >= c.duration, "the eval contains the native call");

    // Nothing in the other factory's database.
    assert_eq!(read_entries(&db_b, None, None, None).unwrap().len(), 0);
    assert_eq!(count_rows(&db_b), 0);
    assert_eq!(count_rows(&db_a), 2);
}

#[test]
fn entry_fields_errors_and_runtime_ids() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fields.db");
    let f = EngineFactory::new(options(CallLogPolicy::Sqlite(db.clone()))).unwrap();
    let mut r1 = f.new_runtime().unwrap();
    let mut r2 = f.new_runtime().unwrap();
    assert_ne!(r1.id(), r2.id());
    let (id1, id2) = (r1.id(), r2.id());

    // A failing native call, caught in JS.
    assert_eq!(r1.eval("try { require('m').fail('why') } catch (e) { e.message }").unwrap(), json!("failed: why"));
    // A failing eval (uncaught).
    assert!(r1.eval("throw new Error('js-side')").is_err());
    // require and call_module are host->js calls too.
    r2.require("m").unwrap();
    r2.eval("globalThis.mod = 1").unwrap();
    let _ = r2.call_module("m", "add", (1, 2));
    drop(r1);
    drop(r2);
    f.flush_calllog().unwrap();

    let e1 = read_entries(&db, Some(id1), None, None).unwrap();
    assert!(e1.iter().all(|e| e.runtime_id == id1));
    let fail = js_to_host(&e1);
    assert_eq!(fail.len(), 1, "{e1:#?}");
    assert_eq!((fail[0].module.as_str(), fail[0].function.as_str()), ("m", "fail"));
    assert_eq!(fail[0].args_json, r#"["why"]"#);
    assert_eq!(fail[0].result_json, None);
    assert!(fail[0].error.as_deref().unwrap().contains("failed: why"), "{:?}", fail[0].error);
    let evals = host_to_js(&e1);
    assert_eq!(evals.len(), 2);
    assert_eq!(evals[0].result_json.as_deref(), Some(r#""failed: why""#));
    assert_eq!(evals[0].error, None);
    assert_eq!(evals[1].result_json, None);
    assert!(evals[1].error.as_deref().unwrap().contains("js-side"), "{:?}", evals[1].error);

    let e2 = read_entries(&db, Some(id2), None, None).unwrap();
    assert!(e2.iter().all(|e| e.runtime_id == id2), "{e2:#?}");
    let summary: Vec<_> = e2.iter().map(|e| (e.direction, e.module.as_str(), e.function.as_str(), e.args_json.as_str())).collect();
    assert_eq!(
        summary,
        vec![
            (Direction::HostToJs, "m", "require", r#"["m"]"#),
            (Direction::HostToJs, "", "eval", r#"["<eval>","globalThis.mod = 1"]"#),
            // call_module of a native module's function: JS calls the host.
            (Direction::JsToHost, "m", "add", "[1,2]"),
            (Direction::HostToJs, "m", "add", "[1,2]"),
        ]
    );
    assert_eq!(e2[3].result_json.as_deref(), Some("3"));

    // The module filter.
    let by_module = read_entries(&db, None, Some("m"), None).unwrap();
    assert!(by_module.iter().all(|e| e.module == "m"));
    assert_eq!(by_module.len(), 4, "{by_module:#?}");
    assert_eq!(read_entries(&db, None, None, Some(2)).unwrap().len(), 2);
}

#[test]
fn global_calls_are_logged() {
    let memory = MemoryCallLog::new();
    let f = EngineFactory::new(options(CallLogPolicy::Memory(memory.clone()))).unwrap();
    let mut rt = f.new_runtime().unwrap();
    assert_eq!(rt.call_as::<i64>("twice", (21,)).unwrap(), 42);
    drop(rt);
    let entries = memory.entries();
    assert_eq!(entries.len(), 2, "{entries:#?}");
    assert_eq!((entries[0].direction, entries[0].function.as_str(), entries[0].args_json.as_str()), (Direction::JsToHost, "add", "[21,21]"));
    assert_eq!((entries[1].direction, entries[1].module.as_str(), entries[1].function.as_str()), (Direction::HostToJs, "", "twice"));
    assert_eq!(entries[1].result_json.as_deref(), Some("42"));
}

#[test]
fn long_eval_sources_are_truncated_in_the_log() {
    let memory = MemoryCallLog::new();
    let f = EngineFactory::new(options(CallLogPolicy::Memory(memory.clone()))).unwrap();
    let mut rt = f.new_runtime().unwrap();
    let source = format!("'{}'.length", "x".repeat(10_000));
    assert_eq!(rt.eval(&source).unwrap(), json!(10_000));
    drop(rt);
    let entries = memory.entries();
    assert_eq!(entries.len(), 1);
    let args: Vec<String> = serde_json::from_str(&entries[0].args_json).unwrap();
    assert!(args[1].len() < source.len());
    assert!(args[1].ends_with('…'));
}

#[test]
fn nothing_is_lost_under_concurrency() {
    const THREADS: usize = 4;
    const RUNTIMES: usize = 5;
    const CALLS: usize = 100;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("many.db");
    let f = Arc::new(EngineFactory::new(options(CallLogPolicy::Sqlite(db.clone()))).unwrap());
    let ids = Arc::new(Mutex::new(Vec::new()));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (f, ids) = (f.clone(), ids.clone());
            std::thread::spawn(move || {
                for r in 0..RUNTIMES {
                    let mut rt = f.new_runtime().unwrap();
                    ids.lock().unwrap().push(rt.id());
                    if r % 2 == 0 {
                        // One eval making every call (crosses the 256-entry batch on odd runs below).
                        let sum = rt
                            .eval(&format!("let s = 0; for (let i = 0; i < {CALLS}; i++) s = require('m').add(s, i); s"))
                            .unwrap();
                        assert_eq!(sum, json!((0..CALLS).sum::<usize>()));
                    } else {
                        // One eval per call: 2 entries each, so 200 per runtime.
                        for i in 0..CALLS {
                            assert_eq!(rt.eval(&format!("require('m').add({t}, {i})")).unwrap(), json!(t + i));
                        }
                    }
                    drop(rt);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    drop(Arc::into_inner(f).expect("no other factory handle"));

    let ids = ids.lock().unwrap().clone();
    assert_eq!(ids.len(), THREADS * RUNTIMES);
    let entries = read_entries(&db, None, None, None).unwrap();
    let single_eval_runtimes = THREADS * RUNTIMES.div_ceil(2);
    let per_call_runtimes = THREADS * (RUNTIMES / 2);
    let expected_js = THREADS * RUNTIMES * CALLS;
    let expected_host = single_eval_runtimes + per_call_runtimes * CALLS;
    assert_eq!(js_to_host(&entries).len(), expected_js);
    assert_eq!(host_to_js(&entries).len(), expected_host);
    assert_eq!(count_rows(&db) as usize, expected_js + expected_host);
    for id in ids {
        let n = entries.iter().filter(|e| e.runtime_id == id && e.direction == Direction::JsToHost).count();
        assert_eq!(n, CALLS, "runtime {id}");
    }
}

#[derive(Default)]
struct Collect {
    entries: Mutex<Vec<CallEntry>>,
    batches: Mutex<usize>,
    flushes: Mutex<usize>,
}

impl CallLogSink for Collect {
    fn record(&self, mut entries: Vec<CallEntry>) {
        *self.batches.lock().unwrap() += 1;
        self.entries.lock().unwrap().append(&mut entries);
    }
    fn flush(&self) -> Result<(), jsbox::Error> {
        *self.flushes.lock().unwrap() += 1;
        Ok(())
    }
}

#[test]
fn custom_sink_receives_entries() {
    let sink = Arc::new(Collect::default());
    let f = EngineFactory::new(options(CallLogPolicy::Custom(sink.clone()))).unwrap();
    let mut rt = f.new_runtime().unwrap();
    let id = rt.id();
    // 300 native calls: each handed over as it returns, while the runtime lives.
    rt.eval("for (let i = 0; i < 300; i++) require('m').add(i, 1)").unwrap();
    assert_eq!(*sink.batches.lock().unwrap(), 301, "every call is handed over before drop");
    drop(rt);
    f.flush_calllog().unwrap();
    assert!(*sink.flushes.lock().unwrap() >= 1);
    let entries = sink.entries.lock().unwrap().clone();
    assert_eq!(entries.len(), 301);
    assert!(entries.iter().all(|e| e.runtime_id == id));
    assert_eq!(js_to_host(&entries).len(), 300);
    assert_eq!(entries[0].args_json, "[0,1]");
    assert_eq!(entries[299].args_json, "[299,1]");
    assert_eq!(entries[300].function, "eval");
    drop(f);
}

#[test]
fn sqlite_database_is_in_wal_mode_with_the_seed_columns() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nested/dir/wal.db");
    let f = EngineFactory::new(options(CallLogPolicy::Sqlite(db.clone()))).unwrap();
    let mut rt = f.new_runtime().unwrap();
    rt.eval("require('m').add(1, 1)").unwrap();
    drop(rt);
    f.flush_calllog().unwrap();

    let conn = rusqlite::Connection::open(&db).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('call_log')").unwrap();
    let columns: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    for c in ["ts_unix_ms", "direction", "module", "function", "args_json", "result_json", "duration_ms", "error", "runtime_id", "duration_us"] {
        assert!(columns.iter().any(|x| x == c), "missing column {c}: {columns:?}");
    }
    let directions: Vec<String> = conn
        .prepare("SELECT direction FROM call_log ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(directions, vec!["js->host", "host->js"]);
    drop(f);
    // A file that is not a call log is reported as such.
    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
    assert!(matches!(read_entries(&other, None, None, None), Err(jsbox::Error::CallLog(_))));
}

#[test]
fn memory_log_is_per_factory() {
    let (ma, mb) = (MemoryCallLog::new(), MemoryCallLog::new());
    let fa = EngineFactory::new(options(CallLogPolicy::Memory(ma.clone()))).unwrap();
    let fb = EngineFactory::new(options(CallLogPolicy::Memory(mb.clone()))).unwrap();
    let mut a = fa.new_runtime().unwrap();
    let mut b = fb.new_runtime().unwrap();
    a.eval("require('m').add(1, 0)").unwrap();
    b.eval("require('m').add(2, 0)").unwrap();
    b.eval("require('m').add(3, 0)").unwrap();
    drop((a, b));
    assert_eq!(js_to_host(&ma.entries()).iter().map(|e| e.args_json.clone()).collect::<Vec<_>>(), vec!["[1,0]"]);
    assert_eq!(js_to_host(&mb.entries()).iter().map(|e| e.args_json.clone()).collect::<Vec<_>>(), vec!["[2,0]", "[3,0]"]);
}
