//! A scheduler and two executors as real processes on loopback run a query
//! with a JS UDF that none of them registered; the result equals the
//! single-process one. Every process is killed when the test ends, however
//! it ends.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ballista::prelude::SessionContextExt;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::*;
use jsbox_datafusion::{JsFunctionFactory, JsType, JsUdaf, JsUdf, Mode, Plugin, UdfDefinition};

/// Kills and reaps its children when dropped.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for(port: u16, processes: &mut Processes) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        for child in &mut processes.0 {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("a cluster process exited early: {status}");
            }
        }
        assert!(Instant::now() < deadline, "nothing listens on port {port} after 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn tag_udf() -> JsUdf {
    let source = "let calls = 0; module.exports = (id, name) => `${name.trim().toUpperCase()}#${id * 2}/${++calls}`;";
    // Per row: every row's counter is 1 wherever the row runs (batches
    // differ between the two runs).
    JsUdf::new(UdfDefinition::new("tag", Plugin::from_source("tag.js", source)).mode(Mode::PerRow)).unwrap()
}

fn write_dataset(dir: &Path) {
    // Four files: at least four partitions, so both executors get tasks.
    for file in 0..4 {
        let mut text = String::from("id,name\n");
        for i in 0..500 {
            let id = file * 500 + i;
            text.push_str(&format!("{id}, name {id} \n"));
        }
        std::fs::write(dir.join(format!("part-{file}.csv")), text).unwrap();
    }
}

fn js_mean() -> JsUdaf {
    let source = "exports.create_state = () => ({ n: 0, sum: 0 });
exports.accumulate = (s, x) => { s.n += 1; s.sum += x; };
exports.merge = (s, o) => ({ n: s.n + o.n, sum: s.sum + o.sum });
exports.finish = (s) => s.sum / s.n;";
    let def = UdfDefinition::new("js_mean", Plugin::from_source("mean.js", source)).args([JsType::Float64]).returns(JsType::Float64);
    JsUdaf::new(def).unwrap()
}

const QUERY: &str = "SELECT id, tag(id, name) AS t, length(tag(id, name)) AS n FROM people ORDER BY id";

async fn run(ctx: &SessionContext, data: &Path) -> String {
    ctx.register_udf(tag_udf().into_scalar_udf());
    ctx.register_csv("people", data.to_str().unwrap(), CsvReadOptions::new()).await.unwrap();
    let batches = ctx.sql(QUERY).await.unwrap().collect().await.unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2000);
    pretty_format_batches(&batches).unwrap().to_string()
}

/// A scheduler and `executors` executors (one task at a time each) on
/// loopback: the processes, the scheduler's port and the executors' work
/// directories.
fn cluster(dir: &Path, executors: usize) -> (Processes, u16, Vec<std::path::PathBuf>) {
    let mut processes = Processes(Vec::new());
    let scheduler_port = free_port();
    processes.0.push(
        Command::new(env!("CARGO_BIN_EXE_jsbox-scheduler"))
            .args(["--bind", &format!("127.0.0.1:{scheduler_port}")])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(scheduler_port, &mut processes);
    let mut work_dirs = Vec::new();
    for n in 0..executors {
        let (port, grpc_port) = (free_port(), free_port());
        let work_dir = dir.join(format!("executor-{n}"));
        std::fs::create_dir(&work_dir).unwrap();
        processes.0.push(
            Command::new(env!("CARGO_BIN_EXE_jsbox-executor"))
                .args(["--port", &port.to_string(), "--grpc-port", &grpc_port.to_string()])
                .args(["--scheduler", &format!("127.0.0.1:{scheduler_port}"), "--concurrent-tasks", "1"])
                .arg("--work-dir")
                .arg(&work_dir)
                .env("JSBOX_CACHE_DIR", dir.join("cache"))
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_for(port, &mut processes);
        wait_for(grpc_port, &mut processes);
        work_dirs.push(work_dir);
    }
    (processes, scheduler_port, work_dirs)
}

/// A client context of the cluster, with JS `CREATE FUNCTION`.
async fn remote(scheduler_port: u16) -> SessionContext {
    let config = jsbox_ballista::client_config().with_target_partitions(4);
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .with_function_factory(Some(Arc::new(JsFunctionFactory::new())))
        .build();
    SessionContext::remote_with_state(&format!("df://127.0.0.1:{scheduler_port}"), state).await.unwrap()
}

#[test]
fn a_js_udf_runs_on_a_ballista_cluster_of_real_processes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("people");
    std::fs::create_dir(&data).unwrap();
    write_dataset(&data);
    let (processes, scheduler_port, work_dirs) = cluster(dir.path(), 2);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (local, distributed) = runtime.block_on(async {
        let local = run(&SessionContext::new(), &data).await;
        let remote = remote(scheduler_port).await;
        let distributed = tokio::time::timeout(Duration::from_secs(180), run(&remote, &data))
            .await
            .expect("the distributed query finished within 180 s");
        // A JS aggregate: partial states on the executors, merged by the
        // final step; it equals SQL's own avg for every group.
        remote.register_udaf(js_mean().into_aggregate_udf());
        let same = "SELECT count(*) AS groups, sum(CASE WHEN abs(js - s) < 1e-9 THEN 1 ELSE 0 END) AS same \
            FROM (SELECT id % 7 AS g, js_mean(id) AS js, avg(id) AS s FROM people GROUP BY id % 7)";
        let batches = tokio::time::timeout(Duration::from_secs(180), async { remote.sql(same).await.unwrap().collect().await.unwrap() })
            .await
            .expect("the distributed aggregate finished within 180 s");
        let same = pretty_format_batches(&batches).unwrap().to_string();
        assert!(same.contains("| 7      | 7    |"), "{same}");
        (local, distributed)
    });
    assert!(local.contains("| 3    | NAME 3#6/1"), "{}", &local[..local.len().min(600)]);
    assert_eq!(local, distributed, "Ballista's rows equal single-process DataFusion's");
    // The executors ran the tasks (their shuffle files are in their work
    // directories), not the client.
    let used = work_dirs.iter().filter(|d| std::fs::read_dir(d).unwrap().next().is_some()).count();
    assert!(used >= 1, "no executor wrote anything");
    drop(processes);
}

/// `CREATE FUNCTION` on a Ballista client: the body travels with the
/// plan to an executor that never saw the statement.
#[test]
fn a_created_function_runs_on_ballista() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("people");
    std::fs::create_dir(&data).unwrap();
    write_dataset(&data);
    let (processes, scheduler_port, work_dirs) = cluster(dir.path(), 1);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let table = runtime.block_on(async {
        let ctx = remote(scheduler_port).await;
        ctx.register_csv("people", data.to_str().unwrap(), CsvReadOptions::new()).await.unwrap();
        let create = "CREATE FUNCTION shout(VARCHAR, BIGINT) RETURNS VARCHAR LANGUAGE javascript AS '
export function shout(name, id) { return name.trim().toUpperCase() + ''!'' + (id % 7); }'";
        ctx.sql(create).await.unwrap().collect().await.unwrap();
        let query = "SELECT shout(name, id) AS s, count(*) AS n FROM people GROUP BY shout(name, id) ORDER BY s LIMIT 2";
        let batches = tokio::time::timeout(Duration::from_secs(180), async { ctx.sql(query).await.unwrap().collect().await.unwrap() })
            .await
            .expect("the distributed query finished within 180 s");
        pretty_format_batches(&batches).unwrap().to_string()
    });
    assert!(table.contains("| NAME 0!0 | 1 |"), "{table}");
    assert!(table.contains("| NAME 1!1 | 1 |"), "{table}");
    assert!(std::fs::read_dir(&work_dirs[0]).unwrap().next().is_some(), "the executor ran no task");
    drop(processes);
}
