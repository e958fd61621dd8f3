//! A private PostgreSQL cluster for a test that stops and restarts its database: `initdb` into a
//! temporary directory, `pg_ctl` on a free loopback port, stopped and removed on drop. The shared
//! cluster on 127.0.0.1:5432 serves the other tests in parallel and is never touched.
//!
//! `initdb` refuses to run as root, so as root every PostgreSQL binary runs as the `postgres`
//! user (`runuser`) in a directory handed to it. Binaries that cannot be found or started fail
//! the test with the reason: where this is used, PostgreSQL is part of the run.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

/// How long `pg_ctl` may wait for the server to start or stop on a loaded machine.
const PG_CTL_WAIT_S: &str = "120";

pub struct PgCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
}

impl PgCluster {
    /// A new cluster, started; panics saying what is missing when it cannot be.
    pub async fn start() -> Self {
        let bin = server_binaries().unwrap_or_else(|| {
            panic!(
                "PostgreSQL server binaries (initdb, pg_ctl) not found: neither `pg_config \
                 --bindir` nor /usr/lib/postgresql/*/bin has them; install the postgresql \
                 server package"
            )
        });
        let as_postgres = running_as_root().await;
        let dir = tempfile::Builder::new()
            .prefix("dialtone-pg-")
            .tempdir()
            .expect("temporary directory for the cluster");
        if as_postgres {
            run_checked(
                tokio::process::Command::new("chown")
                    .arg("postgres:")
                    .arg(dir.path()),
            )
            .await;
        }
        let mut cluster = Self {
            bin,
            dir,
            port: 0,
            as_postgres,
        };
        let data = cluster.data_dir();
        let mut initdb = cluster.command("initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"])
            .args(["--no-sync", "--no-instructions"]);
        run_checked(&mut initdb).await;
        // A free port can be taken between our probe and the server's bind: try a few.
        let mut last = None;
        for _ in 0..3 {
            cluster.port = free_port();
            match cluster.pg_ctl_start().await {
                Ok(()) => return cluster,
                Err(e) => last = Some(e),
            }
        }
        panic!(
            "private PostgreSQL did not start: {}",
            last.unwrap_or_default()
        );
    }

    /// The URL the daemon connects to (trust authentication, loopback).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server as an operator's restart does (`-m fast`: open sessions are
    /// terminated, a checkpoint is written) and waits until it is down.
    pub async fn stop(&self) {
        let mut stop = self.command("pg_ctl");
        stop.arg("-D")
            .arg(self.data_dir())
            .args(["-m", "fast", "-w", "-t", PG_CTL_WAIT_S, "stop"]);
        run_checked(&mut stop).await;
    }

    /// Starts the stopped server again on the same port and waits until it accepts connections.
    pub async fn start_again(&self) {
        if let Err(e) = self.pg_ctl_start().await {
            panic!("private PostgreSQL did not start again: {e}");
        }
    }

    async fn pg_ctl_start(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={}",
            self.port,
            self.dir.path().display()
        );
        let mut start = self.command("pg_ctl");
        start
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_file())
            .args(["-w", "-t", PG_CTL_WAIT_S, "-o", &options, "start"]);
        let output = run(&mut start).await;
        if output.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.log_file()).unwrap_or_default();
        Err(format!("{}\nserver log:\n{log}", describe(&output)))
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// `bin/name`, as the `postgres` user when we are root, run inside the cluster's directory
    /// (the `postgres` user cannot enter the test's working directory).
    fn command(&self, name: &str) -> tokio::process::Command {
        let program = self.bin.join(name);
        let mut command = if self.as_postgres {
            let mut c = tokio::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            tokio::process::Command::new(program)
        };
        command.current_dir(self.dir.path()).kill_on_drop(true);
        command
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // `-m immediate`: nothing in a test's throwaway cluster is worth a checkpoint.
        let program = self.bin.join("pg_ctl");
        let mut stop = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            std::process::Command::new(program)
        };
        let _ = stop
            .current_dir(self.dir.path())
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", "immediate", "-w", "-t", "30", "stop"])
            .output();
    }
}

/// The directory holding `initdb` and `pg_ctl`: `pg_config --bindir` when it names one that
/// has them, else the newest `/usr/lib/postgresql/<version>/bin` (Debian's layout).
fn server_binaries() -> Option<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let from_pg_config = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Some(dir) = from_pg_config.filter(|d| has_server(d)) {
        return Some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_server(bin))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

async fn running_as_root() -> bool {
    let output = run(tokio::process::Command::new("id").arg("-u")).await;
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a probe port");
    probe.local_addr().expect("probe address").port()
}

async fn run(command: &mut tokio::process::Command) -> Output {
    let shown = format!("{:?}", command.as_std());
    match tokio::time::timeout(Duration::from_secs(180), command.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => panic!("cannot run {shown}: {e}"),
        Err(_) => panic!("{shown} did not finish within 180 s"),
    }
}

async fn run_checked(command: &mut tokio::process::Command) {
    let shown = format!("{:?}", command.as_std());
    let output = run(command).await;
    assert!(output.status.success(), "{shown}: {}", describe(&output));
}

fn describe(output: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
