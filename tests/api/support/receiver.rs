//! The webhook receiver of the tests (`webhook_receiver.py`, run with python3): a real HTTP
//! server on loopback that checks signatures with its own implementation of the spec.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Receiver {
    child: Child,
    pub port: u16,
    http: reqwest::Client,
}

impl Receiver {
    pub fn start() -> Self {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/api/support/webhook_receiver.py"
        );
        let mut child = Command::new("python3")
            .arg(script)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the webhook receiver");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("receiver prints its port");
        let port = line.trim().parse().expect("a port");
        Self {
            child,
            port,
            http: reqwest::Client::new(),
        }
    }

    /// The URL of `path` on the receiver.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Sets how it answers (any of `secrets`, `fail_first`, `status`, `delay_ms`).
    pub async fn control(&self, settings: Value) {
        let answer = self
            .http
            .post(self.url("/_control"))
            .json(&settings)
            .send()
            .await
            .expect("receiver control");
        assert!(answer.status().is_success());
    }

    pub async fn received(&self) -> Vec<Value> {
        let answer = self
            .http
            .get(self.url("/_received"))
            .send()
            .await
            .expect("receiver list");
        let list: Value = answer.json().await.expect("json");
        list.as_array().cloned().unwrap_or_default()
    }

    /// Waits (up to `within`) until `done` holds for what came, and returns it.
    pub async fn wait_for(&self, within: Duration, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = self.received().await;
            if done(&got) {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the receiver did not get what was expected in {within:?}: {}",
                json!(got)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
