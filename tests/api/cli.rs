//! The `dialtone` binary as an operator runs it: bootstrap, check-config, migrate, and `serve`
//! with systemd notifications and a graceful drain on SIGTERM.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_dialtone");

pub(crate) fn dialtone(dir: &std::path::Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .current_dir(dir)
        .env_remove("DIALTONE_DATABASE_URL")
        .env_remove("DIALTONE_HTTP_LISTEN")
        .env_remove("DIALTONE_SIP_LISTEN")
        .env_remove("DIALTONE_REDIRECT_LISTEN")
        .env_remove("DIALTONE_PROVISIONING_LISTEN")
        .env_remove("STATE_DIRECTORY")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC");
    command
}

pub(crate) fn bootstrap(
    dir: &std::path::Path,
    username: &str,
    password: &str,
) -> std::process::Output {
    let mut child = dialtone(dir)
        .args(["bootstrap", "--username", username, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn bootstrap_creates_the_first_admin_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = bootstrap(dir.path(), "Admin", "first-password");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains("administrator \"admin\""));
    assert!(
        dir.path().join("dialtone-data/dialtone.db").exists(),
        "embedded default location"
    );

    let second = bootstrap(dir.path(), "other", "second-password");
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("already bootstrapped"), "{stderr}");

    let weak = bootstrap(tempfile::tempdir().unwrap().path(), "admin", "short");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));
}

#[test]
fn check_config_prints_the_effective_config_and_names_bad_keys() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[http]\nlisten = \"127.0.0.1:9999\"\n").unwrap();
    let out = dialtone(dir.path())
        .args(["check-config", "--config"])
        .arg(&good)
        .env("DIALTONE_DATABASE_URL", "postgres://u:p@127.0.0.1/x")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("listen = \"127.0.0.1:9999\""), "{stdout}");
    assert!(
        stdout.contains("postgres://u:p@127.0.0.1/x"),
        "env override applied: {stdout}"
    );

    for (text, key) in [
        ("[http]\nlisten = \"127.0.0.1:1\"\nlisen = 1\n", "lisen"),
        ("[http]\nlisten = \"not-an-address\"\n", "http.listen"),
        ("[rate_limit]\nrequests = 0\n", "rate_limit.requests"),
        ("[databse]\nurl = \"x\"\n", "databse"),
    ] {
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, text).unwrap();
        let out = dialtone(dir.path())
            .args(["check-config", "--config"])
            .arg(&bad)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{text}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(key), "{key} not named in: {stderr}");
    }
    let out = dialtone(dir.path())
        .arg("check-config")
        .env("DIALTONE_HTTP_LISTEN", "eighty")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("DIALTONE_HTTP_LISTEN"));
}

#[test]
fn migrate_applies_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let out = dialtone(dir.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("dialtone-data/dialtone.db").exists());
    let again = dialtone(dir.path()).arg("migrate").output().unwrap();
    assert!(again.status.success(), "idempotent");
}

/// Starts `dialtone serve` with zero config (but an ephemeral port) and returns the child, the
/// address it logged, and the notify socket's messages so far.
// The caller waits on the returned child; the early exits kill and reap it.
#[allow(clippy::zombie_processes)]
fn serve(dir: &std::path::Path, notify: &std::path::Path) -> (Child, String) {
    serve_with(dir, notify, &[])
}

/// [`serve`] with more environment variables.
#[allow(clippy::zombie_processes)]
pub(crate) fn serve_with(
    dir: &std::path::Path,
    notify: &std::path::Path,
    env: &[(&str, &str)],
) -> (Child, String) {
    let mut child = dialtone(dir)
        .arg("serve")
        .envs(env.iter().copied())
        .env("DIALTONE_HTTP_LISTEN", "127.0.0.1:0")
        .env("DIALTONE_SIP_LISTEN", "127.0.0.1:0")
        .env("DIALTONE_REDIRECT_LISTEN", "127.0.0.1:0")
        .env("DIALTONE_PROVISIONING_LISTEN", "127.0.0.1:0")
        .env("NOTIFY_SOCKET", notify)
        .env("DIALTONE_LOG_FORMAT", "text")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if stderr.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.kill();
            let _ = child.wait();
            panic!("daemon exited before listening");
        }
        if let Some(i) = line.find("http=") {
            let addr: String = line[i + 5..]
                .chars()
                .take_while(|c| !c.is_whitespace())
                .collect();
            let addr = addr
                .trim_matches(|c: char| !c.is_ascii_digit() && c != '.' && c != ':')
                .to_string();
            std::thread::spawn(move || for _ in stderr.lines() {});
            return (child, addr);
        }
    }
}

fn received(socket: &UnixDatagram) -> String {
    let mut all = String::new();
    let mut buf = [0u8; 1024];
    while let Ok(n) = socket.recv(&mut buf) {
        all.push_str(&String::from_utf8_lossy(&buf[..n]));
        all.push('\n');
    }
    all
}

#[tokio::test]
async fn serve_notifies_systemd_and_drains_an_in_flight_request_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let first = bootstrap(dir.path(), "admin", "admin-password");
    assert!(first.status.success());
    let notify_path = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let (mut child, addr) = serve(dir.path(), &notify_path);
    assert!(received(&notify).contains("READY=1"));

    // A login whose body is only half sent when SIGTERM arrives.
    let body = br#"{"username":"admin","password":"admin-password"}"#;
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/auth/user HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(received(&notify).contains("STOPPING=1"));

    // New connections are refused while the old one finishes.
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "listener closed on SIGTERM"
    );
    stream.write_all(&body[10..]).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "in-flight request finished: {response}"
    );
    assert!(response.contains("\"token\""));

    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit code 0 after draining: {status:?}");
}
