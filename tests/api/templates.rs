//! The operator's template folder in a running daemon: a changed file is picked up without a
//! restart, a broken one is refused, recorded in the platform's event log, and the previous
//! templates keep serving.

use crate::support::{self, TestApp};
use dialtone::types::Vendor;
use std::time::{Duration, Instant};

/// Waits (up to 15 s) for `check` to hold.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_changed_template_is_reloaded_and_a_broken_one_is_reported_and_refused() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("yealink/device.cfg.j2");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "#!version:1.0.0.1\n# first\n").unwrap();
    let dir = folder.path().to_path_buf();
    let app = TestApp::start_with(move |config| {
        config.provisioning.templates_dir = dir;
        config.provisioning.templates_poll_s = 1;
    })
    .await;
    let (tree, root) = support::tree(&app).await;
    let templates = app.state().templates.clone();
    assert_eq!(templates.current().generation(), 1);
    assert_eq!(
        templates
            .current()
            .resolve(Vendor::Yealink, "001565AABBCC.cfg")
            .unwrap()
            .template,
        "yealink/device.cfg.j2"
    );

    // A broken template: refused, reported once, the previous catalog keeps serving.
    std::fs::write(&file, "#!version:1.0.0.1\n{% for line in lines %}\n").unwrap();
    let events = format!("/v1/eventlog/{}", tree.platform);
    eventually("the failure in the event log", async || {
        let (_, body) = root.get(&events).await;
        body["data"]
            .as_array()
            .is_some_and(|list| list.iter().any(|e| e["event"] == "templates.reload_failed"))
    })
    .await;
    let (_, body) = root.get(&events).await;
    let event = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "templates.reload_failed")
        .unwrap()
        .clone();
    assert_eq!(event["severity"], "warning");
    assert_eq!(event["source"], "provisioning");
    let message = event["message"].as_str().unwrap();
    assert!(
        message.contains(&file.display().to_string()) && message.contains("line "),
        "{message}"
    );
    assert_eq!(
        templates.current().generation(),
        1,
        "the previous templates stay"
    );
    // A tenant does not see platform events.
    let (status, _) = root.get(&format!("/v1/eventlog/{}", tree.partner_a)).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(
        root.total(&format!("/v1/eventlog/{}", tree.partner_a))
            .await,
        0
    );

    // Fixed: reloaded without a restart.
    std::fs::write(&file, "#!version:1.0.0.1\n# second, fixed\n").unwrap();
    eventually("the reload", async || templates.current().generation() > 1).await;
    let (_, body) = root.get(&events).await;
    let failures = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "templates.reload_failed")
        .count();
    assert_eq!(failures, 1, "one broken change, one event");
    app.shutdown().await;
}

/// `dialtone serve` (the binary, as systemd runs it): SIGHUP reloads the templates, a broken
/// set is refused and logged, and the daemon keeps running.
#[test]
fn sighup_reloads_the_templates_of_the_running_binary() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;

    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("templates");
    let file = folder.join("snom/device.xml.j2");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "<settings/>\n").unwrap();
    let config = dir.path().join("dialtone.toml");
    std::fs::write(
        &config,
        format!(
            "state_directory = {:?}\n[http]\nlisten = \"127.0.0.1:0\"\n[sip]\nlisten = [\"127.0.0.1:0\"]\n\
             [pinger]\nenabled = false\n[redirect]\nlisten = [\"127.0.0.1:0\"]\n[provisioning]\nlisten = \"127.0.0.1:0\"\n\
             templates_dir = {:?}\ntemplates_poll_s = 0\n",
            dir.path().join("state"),
            folder
        ),
    )
    .unwrap();
    let notify_path = dir.path().join("notify.sock");
    let notify = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dialtone"))
        .args(["serve", "--config"])
        .arg(&config)
        .current_dir(dir.path())
        .env_remove("DIALTONE_DATABASE_URL")
        .env_remove("DIALTONE_HTTP_LISTEN")
        .env_remove("DIALTONE_SIP_LISTEN")
        .env_remove("STATE_DIRECTORY")
        .env_remove("WATCHDOG_USEC")
        .env("NOTIFY_SOCKET", &notify_path)
        .env("DIALTONE_LOG_FORMAT", "text")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, log) = mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut buf = [0u8; 256];
    let n = notify.recv(&mut buf).expect("READY from the daemon");
    assert!(String::from_utf8_lossy(&buf[..n]).contains("READY=1"));
    let wait_for = |wanted: &[&str]| -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = log
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no log line with {wanted:?}"));
            if wanted.iter().all(|w| line.contains(w)) {
                return line;
            }
        }
    };
    let hup = |pid: u32| {
        assert!(
            Command::new("kill")
                .args(["-HUP", &pid.to_string()])
                .status()
                .unwrap()
                .success()
        )
    };

    std::fs::write(&file, "<settings>{% if %}</settings>\n").unwrap();
    hup(child.id());
    let line = wait_for(&["not reloaded", "SIGHUP"]);
    assert!(
        line.contains(&file.display().to_string()) && line.contains("line 1"),
        "{line}"
    );

    std::fs::write(&file, "<settings>{{ device.mac }}</settings>\n").unwrap();
    hup(child.id());
    wait_for(&["provisioning templates reloaded", "generation=2"]);

    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "still alive until SIGTERM, then a clean exit: {status:?}"
    );
}
