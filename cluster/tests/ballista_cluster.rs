//! vrae's functions on a Ballista cluster: one `vrae-scheduler` and two
//! `vrae-executor` processes on loopback, queried through
//! `vrae_datafusion::remote::connect`. Every query's result must equal,
//! value for value, the same query in one local `SessionContext`, and both
//! executors must have run tasks (the scheduler's event log names the
//! executor of every task).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{AsArray, Float32Builder, Int64Array, ListBuilder, RecordBatch};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

/// The longest any one query may take before the test calls it a hang.
const QUERY_LIMIT: Duration = Duration::from_secs(180);

/// Options of the model every query uses, and of the models trained per group.
const FIT: &str = r#"{"hidden_size": 8, "latent": 3, "epochs": 3, "clusters": 3, "seed": 11}"#;

/// One model trained per group.
const PER_GROUP: &str =
    r#"SELECT g, vrae_fit(series, '{"hidden_size": 8, "latent": 3, "epochs": 3, "clusters": 3, "seed": 5}') AS m FROM series GROUP BY g"#;

/// `n` ports nobody listens on now, all different: each listener is held
/// until every port is found, so that the system cannot hand one out twice.
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n).map(|_| TcpListener::bind("127.0.0.1:0").expect("no free loopback port")).collect();
    listeners.iter().map(|l| l.local_addr().expect("a bound listener's address").port()).collect()
}

/// Times the cluster is started afresh when one of its processes found its
/// port taken: between the test picking a free port and the process binding
/// it, another connection on the machine may take it as its own end.
const START_ATTEMPTS: usize = 3;

/// The executors' names.
const EXECUTORS: [&str; 2] = ["a", "b"];

/// One scheduler and two executors, stopped when dropped, even when the
/// test fails. Their logs stay in the work directory of a failed test.
struct Cluster {
    processes: Vec<Child>,
    dir: Option<tempfile::TempDir>,
    scheduler_port: u16,
}

impl Cluster {
    fn start() -> Cluster {
        for attempt in 1..=START_ATTEMPTS {
            let mut cluster = Cluster::launch();
            match cluster.wait_until_ready() {
                Ok(()) => return cluster,
                Err(_) if attempt < START_ATTEMPTS && cluster.lost_a_port() => {
                    eprintln!("a cluster process found its port taken; starting the cluster again");
                }
                Err(message) => panic!("{message}; logs in {}", cluster.keep_logs()),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// The three processes, on ports picked now.
    fn launch() -> Cluster {
        let dir = tempfile::Builder::new().prefix("vrae-ballista-").tempdir().expect("temporary directory");
        // The scheduler's port, then each executor's three.
        let ports = free_ports(1 + 3 * EXECUTORS.len());
        let scheduler_port = ports[0];
        let mut cluster = Cluster { processes: Vec::new(), dir: Some(dir), scheduler_port };
        let events = cluster.path("events");
        std::fs::create_dir_all(&events).unwrap();
        cluster.spawn(
            env!("CARGO_BIN_EXE_vrae-scheduler"),
            "scheduler",
            &[
                "--bind-host=127.0.0.1",
                "--external-host=127.0.0.1",
                &format!("--bind-port={scheduler_port}"),
                &format!("--event-log-dir={}", events.display()),
                // Spread tasks over both executors, and answer /readyz only
                // once both have registered.
                "--task-distribution=round-robin",
                "--min-ready-executors=2",
            ],
        );
        for (name, ports) in EXECUTORS.into_iter().zip(ports[1..].chunks_exact(3)) {
            let work = cluster.path(&format!("work-{name}"));
            std::fs::create_dir_all(&work).unwrap();
            cluster.spawn(
                env!("CARGO_BIN_EXE_vrae-executor"),
                &format!("executor-{name}"),
                &[
                    &format!("--id=executor-{name}"),
                    "--scheduler-host=127.0.0.1",
                    &format!("--scheduler-port={scheduler_port}"),
                    "--scheduler-connect-timeout-seconds=60",
                    "--bind-host=127.0.0.1",
                    "--external-host=127.0.0.1",
                    &format!("--bind-port={}", ports[0]),
                    &format!("--bind-grpc-port={}", ports[1]),
                    &format!("--bind-health-port={}", ports[2]),
                    &format!("--work-dir={}", work.display()),
                    "--vcores=2",
                ],
            );
        }
        cluster
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.as_ref().expect("the work directory lives as long as the cluster").path().join(name)
    }

    fn spawn(&mut self, exe: &str, name: &str, args: &[&str]) {
        let log = std::fs::File::create(self.path(&format!("{name}.log"))).unwrap();
        let child = Command::new(exe)
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {exe}: {e}"));
        self.processes.push(child);
    }

    /// The scheduler's `/readyz` answers 200 once both executors are live;
    /// an error if a process exits first or it takes over 120 s.
    fn wait_until_ready(&mut self) -> Result<(), String> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(120) {
            for p in &mut self.processes {
                if let Ok(Some(status)) = p.try_wait() {
                    return Err(format!("a cluster process exited early ({status})"));
                }
            }
            if http_status(self.scheduler_port, "/readyz") == Some(200) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err("the cluster was not ready after 120 s".to_string())
    }

    /// Whether a process's log (every `.log` file `spawn` wrote) says it
    /// could not bind its port.
    fn lost_a_port(&self) -> bool {
        let Some(dir) = &self.dir else { return false };
        std::fs::read_dir(dir.path()).into_iter().flatten().flatten().any(|entry| {
            entry.path().extension().is_some_and(|e| e == "log")
                && std::fs::read_to_string(entry.path()).is_ok_and(|log| log.contains("Address already in use"))
        })
    }

    fn url(&self) -> String {
        format!("df://127.0.0.1:{}", self.scheduler_port)
    }

    /// The executors named by the scheduler's event log as having finished tasks.
    fn executors_with_finished_tasks(&self) -> BTreeSet<String> {
        let mut executors = BTreeSet::new();
        for file in std::fs::read_dir(self.path("events")).unwrap() {
            let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
            for line in text.lines() {
                let event: serde_json::Value = serde_json::from_str(line).unwrap();
                if event["ev"] == "TaskEnd" {
                    executors.insert(event["data"]["executor_id"].as_str().unwrap_or_default().to_string());
                }
            }
        }
        executors
    }

    /// Keeps the work directory (and the processes' logs in it) past the test.
    fn keep_logs(&mut self) -> String {
        match self.dir.take() {
            Some(dir) => dir.keep().display().to_string(),
            None => "(kept already)".to_string(),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for p in &mut self.processes {
            let _ = p.kill();
            let _ = p.wait();
        }
        if std::thread::panicking() {
            eprintln!("cluster logs kept in {}", self.keep_logs());
        }
    }
}

/// The HTTP status of a GET on the scheduler's port, if it answers.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// 160 series of 24 steps, three shapes, `g` = id % 4, written as four
/// Parquet files into `dir`.
async fn write_series(dir: &Path) {
    let local = SessionContext::new();
    for part in 0..4i64 {
        let ids: Vec<i64> = (part * 40..(part + 1) * 40).collect();
        let mut series = ListBuilder::new(Float32Builder::new());
        for &id in &ids {
            let shape = id % 3;
            series.append_value((0..24).map(|t| {
                let x = t as f32 / 24.0;
                let wobble = ((id * 7 + t) % 5) as f32 * 0.02;
                Some(match shape {
                    0 => (x * std::f32::consts::TAU).sin() + wobble,
                    1 => (if x < 0.5 { 1.0 } else { -1.0 }) + wobble,
                    _ => 2.0 * x - 1.0 + wobble,
                })
            }));
        }
        let groups = Int64Array::from(ids.iter().map(|id| id % 4).collect::<Vec<_>>());
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(ids)) as _),
            ("g", Arc::new(groups) as _),
            ("series", Arc::new(series.finish()) as _),
        ])
        .unwrap();
        let file = dir.join(format!("part-{part}.parquet"));
        local.read_batch(batch).unwrap().write_parquet(file.to_str().unwrap(), DataFrameWriteOptions::new(), None).await.unwrap();
    }
}

/// 9,000 short series in one Parquet file in `dir`: more rows than a
/// batch holds (8,192), for a model joined onto every row.
async fn write_wide(dir: &Path) {
    let local = SessionContext::new();
    let mut series = ListBuilder::new(Float32Builder::new());
    for id in 0..9000 {
        series.append_value((0..4).map(|t| Some(((id * 4 + t) as f32 * 0.37).sin())));
    }
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from((0..9000).collect::<Vec<i64>>())) as _),
        ("series", Arc::new(series.finish()) as _),
    ])
    .unwrap();
    let file = dir.join("wide.parquet");
    local.read_batch(batch).unwrap().write_parquet(file.to_str().unwrap(), DataFrameWriteOptions::new(), None).await.unwrap();
}

/// Registers the Parquet directory `dir` as table `name` on `ctx`.
async fn register_table(ctx: &SessionContext, name: &str, dir: &Path) {
    ctx.sql(&format!("CREATE EXTERNAL TABLE {name} STORED AS PARQUET LOCATION '{}/'", dir.display())).await.unwrap();
}

async fn run(ctx: &SessionContext, sql: &str) -> Result<String, String> {
    let work = async {
        let batches = ctx.sql(sql).await.map_err(|e| e.to_string())?.collect().await.map_err(|e| e.to_string())?;
        Ok(pretty_format_batches(&batches).map_err(|e| e.to_string())?.to_string())
    };
    match tokio::time::timeout(QUERY_LIMIT, work).await {
        Ok(result) => result,
        Err(_) => panic!("no answer within {QUERY_LIMIT:?} (a hang): {sql}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vrae_queries_on_a_ballista_cluster_equal_the_local_results() {
    let cluster = Cluster::start();
    let series_dir = cluster.path("series");
    let models_dir = cluster.path("models");
    std::fs::create_dir_all(&series_dir).unwrap();
    std::fs::create_dir_all(&models_dir).unwrap();
    write_series(&series_dir).await;

    // Train one model locally; keep it as a file, and as a one-row Parquet table.
    let local = SessionContext::new();
    vrae_datafusion::register(&local);
    register_table(&local, "series", &series_dir).await;
    let fitted = local.sql(&format!("SELECT vrae_fit(series, '{FIT}') AS model FROM series")).await.unwrap().collect().await.unwrap();
    let model = fitted[0].column(0).as_binary_view().value(0).to_vec();
    let model_file = cluster.path("model.safetensors");
    std::fs::write(&model_file, &model).unwrap();
    local
        .sql(&format!(
            "COPY (SELECT 'shapes' AS name, arrow_cast(X'{}', 'Binary') AS model) TO '{}/model.parquet'",
            hex(&model),
            models_dir.display()
        ))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    register_table(&local, "models", &models_dir).await;

    let state = SessionStateBuilder::new().with_config(SessionConfig::new()).with_default_features().build();
    let remote = vrae_datafusion::remote::connect(&cluster.url(), state).await.unwrap();
    // The static planner: the adaptive one hangs when an executor dies
    // under a job (bench/ballista/fault.sh).
    let adaptive = remote.state().config().options().entries().into_iter().find(|e| e.key == vrae_datafusion::remote::ADAPTIVE_PLANNER);
    assert_eq!(adaptive.and_then(|e| e.value).as_deref(), Some("false"));
    register_table(&remote, "series", &series_dir).await;
    register_table(&remote, "models", &models_dir).await;

    let path = model_file.display();
    let queries = [
        // A model file every executor can read.
        format!("SELECT id, vrae_embed(series, '{path}') AS z, vrae_cluster(series, '{path}') AS c, vrae_score(series, '{path}') AS s FROM series ORDER BY id"),
        // The model's bytes as a literal.
        format!("SELECT id, vrae_embed(series, X'{}') AS z, vrae_cluster(series, X'{}') AS c FROM series ORDER BY id", hex(&model), hex(&model)),
        // The model's bytes from a scalar subquery over the model table.
        "SELECT id, vrae_cluster(series, (SELECT model FROM models WHERE name = 'shapes')) AS c, \
         vrae_score(series, (SELECT model FROM models WHERE name = 'shapes')) AS s FROM series ORDER BY id"
            .to_string(),
        // The model table joined to the series.
        "SELECT s.id, vrae_embed(s.series, m.model) AS z, vrae_cluster(s.series, m.model) AS c, vrae_score(s.series, m.model) AS score \
         FROM series s JOIN models m ON m.name = 'shapes' ORDER BY s.id"
            .to_string(),
        // Clusters counted per group (aggregation over the embedding functions).
        format!("SELECT g, vrae_cluster(series, '{path}') AS c, count(*) AS n FROM series GROUP BY g, c ORDER BY g, c"),
        // Each cluster's prototype: a table function, whose in-memory table
        // travels in the plan.
        format!("SELECT cluster, prototype FROM vrae_prototypes('{path}', 12) ORDER BY cluster"),
        // One model per group, used on its own group.
        format!(
            "SELECT s.id, vrae_cluster(s.series, f.m) AS c, vrae_embed(s.series, f.m) AS z \
             FROM series s JOIN ({PER_GROUP}) f ON s.g = f.g ORDER BY s.id"
        ),
    ];
    for sql in &queries {
        let here = run(&local, sql).await.unwrap_or_else(|e| panic!("local: {e}\n{sql}"));
        let there = run(&remote, sql).await.unwrap_or_else(|e| panic!("on the cluster: {e}\n{sql}"));
        assert_same(&there, &here, sql);
    }

    // A model whose copies on the 8,192 rows of a batch would pass 2 GiB,
    // trained in a query and kept in a Parquet table, joined onto every
    // row: the rows share one copy on the executors as they do locally.
    let wide_dir = cluster.path("wide");
    let large_dir = cluster.path("large");
    std::fs::create_dir_all(&wide_dir).unwrap();
    write_wide(&wide_dir).await;
    register_table(&local, "wide", &wide_dir).await;
    register_table(&remote, "wide", &wide_dir).await;
    let large = "'{\"hidden_size\": 120, \"latent\": 2, \"epochs\": 1, \"seed\": 3}'";
    // Kept as Binary, as other writers (pyarrow, Spark) keep binary columns.
    let fit = format!("SELECT arrow_cast(vrae_fit(series, {large}), 'Binary') AS model FROM wide WHERE id < 64");
    run(&local, &format!("COPY ({fit}) TO '{}/' STORED AS PARQUET", large_dir.display())).await.unwrap();
    register_table(&local, "large", &large_dir).await;
    register_table(&remote, "large", &large_dir).await;
    // Sums, rounded: partitions add up in a different order on the cluster.
    let sql = "SELECT count(*) AS n, round(sum(vrae_score(w.series, m.model)), 3) AS s, \
               round(sum(array_element(vrae_embed(w.series, m.model), 1)), 3) AS z FROM wide w CROSS JOIN large m";
    let here = run(&local, sql).await.unwrap_or_else(|e| panic!("local: {e}\n{sql}"));
    let there = run(&remote, sql).await.unwrap_or_else(|e| panic!("on the cluster: {e}\n{sql}"));
    assert!(here.contains("| 9000 "), "{here}");
    assert_same(&there, &here, sql);

    // One model per group, trained where the group's final aggregation
    // runs: the same models as training locally (their checksums cover all
    // but the wall-clock times).
    let sql = format!("SELECT g, m FROM ({PER_GROUP}) ORDER BY g");
    let (here, there) = (group_checksums(&local, &sql).await, group_checksums(&remote, &sql).await);
    assert_eq!(here.len(), 4);
    assert_eq!(there, here, "checksums of the models trained per group on the cluster (left) and locally");

    // Bad input: the cluster's error carries the local error's text.
    let garbage = cluster.path("garbage.safetensors");
    std::fs::write(&garbage, b"not a model at all").unwrap();
    let bad = [
        format!("SELECT vrae_embed(series, '{path}', '{{\"epochs\": 3}}') FROM series"),
        format!("SELECT vrae_embed(series, '{}') FROM series", garbage.display()),
        format!("SELECT vrae_cluster(CASE WHEN id = 77 THEN make_array(1.0, 'NaN'::float) ELSE series END, '{path}') FROM series"),
        "SELECT g, vrae_fit(series, '{\"hiden_size\": 4}') FROM series GROUP BY g".to_string(),
    ];
    for sql in &bad {
        let here = run(&local, sql).await.expect_err("the local query should fail");
        let there = run(&remote, sql).await.expect_err("the cluster query should fail");
        // Ballista reports a failed task with the error's Debug form, which
        // escapes quotes; the message inside is the local one.
        let there = there.replace("\\\"", "\"");
        let message = here.trim_start_matches("Execution error: ").trim_start_matches("External error: ");
        let message = message.split(" (counted from").next().unwrap_or(message);
        assert!(there.contains(message), "the cluster's error\n  {there}\nlacks the local error's text\n  {message}\nfor {sql}");
    }

    // The shell's quick start on the cluster: train, keep the model with
    // COPY, use it; the same printout as the shell without --remote.
    let here = quick_start_in_the_shell(None, &series_dir, &cluster.path("quick-local"));
    let there = quick_start_in_the_shell(Some(&cluster.url()), &series_dir, &cluster.path("quick-cluster"));
    assert_eq!(there, here, "vrae-sql --remote (left) and vrae-sql");
    assert!(here.contains("cluster,series"), "{here}");

    let executors = cluster.executors_with_finished_tasks();
    assert_eq!(executors, BTreeSet::from(["executor-a".to_string(), "executor-b".to_string()]), "executors that finished tasks");
}

/// `vrae-sql` (built next to this test by `cargo test` at the workspace
/// root; `VRAE_SQL` names another) running the quick start on `series`,
/// keeping the model under `out`, on a cluster when `remote` is given.
fn quick_start_in_the_shell(remote: Option<&str>, series: &Path, out: &Path) -> String {
    let shell = std::env::var_os("VRAE_SQL").map(PathBuf::from).unwrap_or_else(|| {
        let deps = std::env::current_exe().expect("the test's path");
        deps.parent().and_then(Path::parent).expect("target/<profile>/deps").join("vrae-sql")
    });
    assert!(
        shell.is_file(),
        "{} is missing: build it with `cargo build -p vrae-datafusion --features cli` or set VRAE_SQL",
        shell.display()
    );
    let (series, out) = (series.display(), out.display());
    let commands = [
        format!("CREATE EXTERNAL TABLE series STORED AS PARQUET LOCATION '{series}/'"),
        format!("COPY (SELECT vrae_fit(series, '{FIT}') AS model FROM series) TO '{out}/' STORED AS PARQUET"),
        format!("CREATE EXTERNAL TABLE m STORED AS PARQUET LOCATION '{out}/'"),
        "SELECT vrae_cluster(s.series, m.model) AS cluster, count(*) AS series FROM series s CROSS JOIN m GROUP BY cluster ORDER BY cluster"
            .to_string(),
    ];
    let mut shell = Command::new(shell);
    shell.args(["-q", "--format", "csv"]);
    if let Some(url) = remote {
        shell.args(["--remote", url]);
    }
    for c in &commands {
        shell.args(["-c", c]);
    }
    let output = shell.output().expect("vrae-sql runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "vrae-sql {remote:?} failed: {}\n{stdout}", String::from_utf8_lossy(&output.stderr));
    stdout
}

/// The checksum of each model in the second column of `sql`'s result.
async fn group_checksums(ctx: &SessionContext, sql: &str) -> Vec<String> {
    let batches = tokio::time::timeout(QUERY_LIMIT, async { ctx.sql(sql).await.unwrap().collect().await.unwrap() }).await.expect("no hang");
    let mut sums = Vec::new();
    for batch in &batches {
        for model in batch.column(1).as_binary_view().iter() {
            let (_, header) = safetensors::SafeTensors::read_metadata(model.expect("a model per group")).unwrap();
            sums.push(header.metadata().as_ref().unwrap()["checksum"].clone());
        }
    }
    sums
}

/// Fails with the first row that differs (the header is row 0), its padding removed.
fn assert_same(cluster: &str, local: &str, sql: &str) {
    let squeeze = |line: &str| line.split_whitespace().collect::<Vec<_>>().join(" ");
    let rows = |table: &str| table.lines().filter(|line| !line.starts_with('+')).map(squeeze).collect::<Vec<_>>();
    let (cluster, local) = (rows(cluster), rows(local));
    for (i, (c, l)) in cluster.iter().zip(&local).enumerate() {
        assert_eq!(c, l, "line {i} of the cluster's result (left) differs from the local one for\n{sql}");
    }
    assert_eq!(cluster.len(), local.len(), "lines in the result of\n{sql}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
