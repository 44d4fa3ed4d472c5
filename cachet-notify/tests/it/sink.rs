//! The SMTP sink process (`tests/smtp_sink.py`) and the mails it received.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// One received mail.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) rcpt_to: Vec<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) text: String,
    pub(crate) html: Option<String>,
}

impl Received {
    /// The first header of that name ("" when absent).
    pub(crate) fn header(&self, name: &str) -> String {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

pub(crate) struct Sink {
    pub(crate) port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> String {
    std::env::var("CACHET_TEST_SMTP_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Whether the Python has aiosmtpd; prints the skip line (or fails when required).
fn have_aiosmtpd() -> bool {
    let ok = Command::new(python())
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CACHET_REQUIRE_SMTP").as_deref() != Ok("1"),
            "CACHET_REQUIRE_SMTP=1 but {} has no aiosmtpd",
            python()
        );
        // Written to the stream itself: the test harness would swallow `eprintln!`.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: no aiosmtpd for {} (set CACHET_TEST_SMTP_PYTHON)",
            python()
        );
    }
    ok
}

pub(crate) fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A port nothing listens on, when the sink could be started there later.
pub(crate) fn free_port_if_python() -> Option<u16> {
    have_aiosmtpd().then(free_port)
}

impl Sink {
    pub(crate) async fn start() -> Option<Sink> {
        if !have_aiosmtpd() {
            return None;
        }
        Sink::start_on(free_port()).await
    }

    pub(crate) async fn start_on(port: u16) -> Option<Sink> {
        let dir = tempfile::tempdir().unwrap();
        // From this crate's folder or a sibling's (the server's crash test uses it too).
        let script = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../cachet-notify/tests/smtp_sink.py"
        ));
        let child = Command::new(python())
            .arg(script)
            .arg(port.to_string())
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(Sink { port, dir, child });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the SMTP sink did not start on port {port}");
    }

    /// Every mail received so far, in arrival order.
    pub(crate) fn mails(&self) -> Vec<Received> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|p| {
                let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
                let strings = |v: &Value| -> Vec<String> {
                    v.as_array()
                        .unwrap()
                        .iter()
                        .map(|s| s.as_str().unwrap().to_owned())
                        .collect()
                };
                Received {
                    rcpt_to: strings(&v["rcpt_to"]),
                    headers: v["headers"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|h| {
                            let h = strings(h);
                            (h[0].clone(), h[1].clone())
                        })
                        .collect(),
                    text: v["text"].as_str().unwrap_or_default().to_owned(),
                    html: v["html"].as_str().map(str::to_owned),
                }
            })
            .collect()
    }

    /// The mails once at least `n` have arrived (waits up to 10 s).
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..100 {
            let m = self.mails();
            if m.len() >= n {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{} mails arrived, {n} expected", self.mails().len());
    }
}
