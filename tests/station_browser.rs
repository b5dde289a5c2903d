//! The review station in a real browser: headless Chromium driven over WebDriver
//! (chromedriver), with plain HTTP calls. Upload → result; a bad file → the message;
//! reclassify → the differential changes and survives a restart; the printed report holds
//! every cell. Then the real daemon (the demo configuration, its simulated button): the
//! gallery fills while the button counts, without a reload; a reclassification survives
//! a daemon restart; an upload saved to the slide joins it. "Teach this microscope" with
//! the tiny real model: the before/after table appears. Screenshots of each page are
//! written to docs/station/.
//!
//! Skipped, with the reason printed, only when chromedriver is not installed; `.ci/run`
//! installs it (Debian: chromium, chromium-driver).

mod station_support;
mod support;
mod tiny_model;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use station_support::{Setup, jpeg, make_slide, request, serve, serve_with, try_request};
use support::Always;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one headless browser session, both ended on drop.
struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.call("DELETE", "", Value::Null);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Waits (at most 20 s) until `driver` answers on `addr` that it is ready; false when it
/// exits first or something else answers there.
fn driver_ready(driver: &mut Child, addr: SocketAddr) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if !matches!(driver.try_wait(), Ok(None)) {
            return false;
        }
        if std::net::TcpStream::connect(addr).is_ok() {
            return try_request(addr, "GET", "/status", &[], &[])
                .ok()
                .and_then(|a| serde_json::from_slice::<Value>(&a.body).ok())
                .is_some_and(|v| v["value"]["ready"] == json!(true));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

impl Browser {
    fn start() -> Option<Browser> {
        if !Path::new(CHROMEDRIVER).exists() {
            eprintln!(
                "SKIPPED: {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)"
            );
            return None;
        }
        // A port picked free may be taken again before chromedriver binds it (another
        // test's daemon); then chromedriver exits and the port answers as something else.
        // So the port counts only once chromedriver itself says it is ready there.
        let mut browser = None;
        for attempt in 1..=3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut driver = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            if driver_ready(&mut driver, addr) {
                browser = Some(Browser {
                    driver,
                    addr,
                    session: String::new(),
                });
                break;
            }
            eprintln!("chromedriver was not ready on port {port} (attempt {attempt})");
            let _ = driver.kill();
            let _ = driver.wait();
        }
        let mut browser = browser.expect("chromedriver did not start in 3 attempts");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1000,760"]
            }
        }}});
        let v = browser.call("POST", "/session", caps);
        browser.session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        Some(browser)
    }

    /// One WebDriver command; `path` is under `/session/{id}` (or `/session` to create).
    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = if path == "/session" {
            path.to_string()
        } else {
            format!("/session/{}{path}", self.session)
        };
        let body = if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        let a = request(
            self.addr,
            method,
            &url,
            &[("Content-Type", "application/json")],
            &body,
        );
        a.json()
    }

    fn go(&self, url: &str) {
        let v = self.call("POST", "/url", json!({"url": url}));
        assert!(v["value"].is_null(), "cannot open {url}: {v}");
    }

    fn find(&self, css: &str) -> Option<String> {
        let v = self.call(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        v["value"][ELEMENT].as_str().map(String::from)
    }

    /// Waits (at most 10 s) for an element.
    fn wait(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(e) = self.find(css) {
                return e;
            }
            assert!(
                Instant::now() < deadline,
                "no {css} on the page: {}",
                self.call(
                    "POST",
                    "/element",
                    json!({"using": "css selector", "value": css})
                )
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn text(&self, element: &str) -> String {
        self.call("GET", &format!("/element/{element}/text"), Value::Null)["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn click(&self, element: &str) {
        self.call("POST", &format!("/element/{element}/click"), json!({}));
    }

    fn type_into(&self, element: &str, text: &str) {
        self.call(
            "POST",
            &format!("/element/{element}/value"),
            json!({"text": text}),
        );
    }

    /// Runs `script` in the page and returns its value.
    fn run(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": []}),
        )["value"]
            .clone()
    }

    /// Waits (at most `secs`) until `script` returns true.
    fn wait_until(&self, script: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while self.run(script) != Value::Bool(true) {
            assert!(Instant::now() < deadline, "never true: {script}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn source(&self) -> String {
        self.call("GET", "/source", Value::Null)["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn screenshot(&self, name: &str) {
        self.screenshot_after(name, "window.scrollTo(0, 0)");
    }

    /// A screenshot once `scroll` (a script) has scrolled the page.
    fn screenshot_after(&self, name: &str, scroll: &str) {
        self.run(scroll);
        let v = self.call("GET", "/screenshot", Value::Null);
        let png = base64(v["value"].as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG"));
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/station");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), png).unwrap();
    }
}

fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = text
        .bytes()
        .filter(|&c| c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let n = chunk
            .iter()
            .fold(0u32, |acc, &c| (acc << 6) | u32::from(value(c)))
            << (6 * (4 - chunk.len()));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn the_station_works_in_a_real_browser() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let uploads = tempfile::tempdir().unwrap();
    let id = "20250105T093000Z";
    make_slide(
        data.path(),
        id,
        &[[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.5, 0.5], [0.2, 0.8]],
        true,
    );
    let labels = ["lymphocyte", "neutrophil"];
    let base;
    {
        let station = serve(
            data.path(),
            Box::new(Always::new(&labels, vec![0.25, 0.75])),
            Setup::default(),
        );
        base = format!("http://{}", station.addr);

        // Upload → the class is shown beside the picture.
        browser.go(&format!("{base}/"));
        let input = browser.wait("#files");
        let cell = write(uploads.path(), "cell.jpg", &jpeg(96, 96, [180, 90, 170]));
        browser.type_into(&input, cell.to_str().unwrap());
        browser.click(&browser.wait("#classify"));
        let result = browser.wait(".result .class");
        assert_eq!(browser.text(&result), "neutrophil");
        assert!(browser.source().contains("75.0%"));
        browser.screenshot("classify.png");

        // A bad file → the message.
        browser.click(&browser.wait("#again"));
        let input = browser.wait("#files");
        let bad = write(uploads.path(), "notes.jpg", b"this is not a picture");
        browser.type_into(&input, bad.to_str().unwrap());
        browser.click(&browser.wait("#classify"));
        let deadline = Instant::now() + Duration::from_secs(10);
        let message = loop {
            let text = browser.text(&browser.wait("#message"));
            if !text.is_empty() || Instant::now() > deadline {
                break text;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert!(
            message.contains("notes.jpg") && message.contains("not a picture"),
            "{message}"
        );
        browser.screenshot("classify-error.png");

        // A cell the gate flags → UNFAMILIAR beside the class, in the page.
        let odd_station = serve(
            data.path(),
            Box::new(Always::new(&labels, vec![0.05, 0.95]).unfamiliar()),
            Setup::default(),
        );
        browser.go(&format!("http://{}/", odd_station.addr));
        let input = browser.wait("#files");
        browser.type_into(&input, cell.to_str().unwrap());
        browser.click(&browser.wait("#classify"));
        let flag = browser.wait(".result .unsure");
        assert!(
            browser.text(&flag).starts_with("UNFAMILIAR"),
            "{}",
            browser.text(&flag)
        );
        drop(odd_station);

        // The slide list, then reclassify cell 1 (neutrophil → lymphocyte).
        browser.go(&format!("{base}/slides"));
        browser.wait("#slides");
        browser.screenshot("slides.png");
        browser.go(&format!("{base}/slides/{id}"));
        assert_eq!(browser.text(&browser.wait("#differential-total")), "4");
        let before = request(station.addr, "GET", &format!("/api/slides/{id}"), &[], b"").json();
        assert_eq!(before["counts"]["lymphocyte"], 1);
        browser.type_into(&browser.wait("#reviewer"), "Ana");
        browser.click(&browser.wait("#cell-1 select option[value=lymphocyte]"));
        browser.click(&browser.wait("#cell-1 form.review button"));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let v = request(station.addr, "GET", &format!("/api/slides/{id}"), &[], b"").json();
            if v["counts"]["lymphocyte"] == 2 {
                assert_eq!(v["cells"][0]["reviewer"], "Ana");
                break;
            }
            assert!(Instant::now() < deadline, "the review did not arrive: {v}");
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(300));
        browser.wait("#cell-1[data-label=lymphocyte]");
        browser.screenshot("slide.png");
    }
    // Restart: a new station over the same data directory shows the review.
    let station = serve(
        data.path(),
        Box::new(Always::new(&labels, vec![0.25, 0.75])),
        Setup::default(),
    );
    let base = format!("http://{}", station.addr);
    browser.go(&format!("{base}/slides/{id}"));
    browser.wait("#cell-1[data-label=lymphocyte]");
    assert!(browser.source().contains("reviewed by Ana"));

    // The printable report holds every cell.
    browser.go(&format!("{base}/slides/{id}/report.html"));
    browser.wait("#slide-id");
    let page = browser.source();
    for seq in 1..=5 {
        assert!(
            page.contains(&format!("id=\"cell-{seq}\"")),
            "cell {seq} missing from the report"
        );
    }
    assert!(page.contains("<svg"));
    browser.screenshot("report.png");
    drop(base);
}

/// "Teach this microscope" on the slides list: the signed-off slide is ticked, the click
/// runs the recalibration, and the before/after table and the configuration line appear.
#[test]
fn teach_this_microscope_shows_before_and_after() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    tiny_model::slide(
        data.path(),
        "20250105T093000Z",
        &tiny_model::three_classes(8),
        true,
    );
    let station = serve_with(
        data.path(),
        tiny_model::service(&tiny_model::int8_model()),
        Setup::default(),
    );
    let base = format!("http://{}", station.addr);
    browser.go(&format!("{base}/slides"));
    browser.wait("#teach input[value='20250105T093000Z']:checked");
    browser.click(&browser.wait("#teach button"));
    let table = browser.wait("#teach-table");
    let text = browser.text(&table);
    for label in ["EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE", "all"] {
        assert!(text.contains(label), "{text}");
    }
    let verdict = browser.text(&browser.wait("#teach-verdict"));
    assert!(verdict.starts_with("Accepted"), "{verdict}");
    let line = browser.text(&browser.wait("#teach-config"));
    assert!(line.contains("calibration = \""), "{line}");
    assert!(
        std::fs::read_dir(data.path().join("calibrations"))
            .unwrap()
            .count()
            == 1
    );
    browser.screenshot_after(
        "teach.png",
        "document.getElementById('teach-section').scrollIntoView()",
    );
}

/// The real daemon (demo configuration: replayed fields, real model, simulated button)
/// with its station on a free port; killed on drop.
struct Daemon {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    fn start(data: &Path, presses: &str) -> Daemon {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_hematovision"))
            .arg("run")
            .arg("--config")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml"))
            .arg("--data-dir")
            .arg(data)
            .args(["--listen", &addr.to_string(), "--presses", presses])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut daemon = Daemon { child, addr };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(addr).is_err() {
            if let Some(status) = daemon.child.try_wait().unwrap() {
                panic!("the daemon stopped: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "the daemon's station never answered"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        daemon
    }

    fn slide(&self) -> Value {
        let list = request(self.addr, "GET", "/api/slides", &[], b"").json();
        let id = list[0]["id"].as_str().unwrap().to_string();
        request(self.addr, "GET", &format!("/api/slides/{id}"), &[], b"").json()
    }
}

#[test]
fn the_daemons_station_follows_the_button_live() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    // Three presses once the page is open, then nothing for long enough.
    let daemon = Daemon::start(data.path(), "8s,1s,1s,600s");
    let slide = daemon.slide();
    let id = slide["session"].as_str().unwrap().to_string();
    let base = format!("http://{}", daemon.addr);
    browser.go(&format!("{base}/slides/{id}"));
    browser.wait("#live");
    let before: u64 = browser.text(&browser.wait("#cell-count")).parse().unwrap();
    assert!(before < 3, "the presses came before the page: {before}");
    browser.run("window.hvNotReloaded = true; return true;");

    // The button counts: the gallery and the differential follow without a reload.
    browser.wait_until(
        "return document.getElementById('cell-count').textContent === '3'",
        40,
    );
    browser.wait("#cell-3");
    assert_eq!(
        browser.run("return window.hvNotReloaded === true"),
        json!(true)
    );
    let total: u64 = browser
        .text(&browser.wait("#differential-total"))
        .parse()
        .unwrap();
    let counted = daemon.slide();
    assert_eq!(total, counted["differential_total"].as_u64().unwrap());
    browser.screenshot_after(
        "slide-live.png",
        "document.querySelector('#live .progress, #live h2').scrollIntoView()",
    );

    // Reclassify cell 1 to another class: the differential changes.
    let labels: Vec<String> = counted["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    let was = counted["cells"][0]["final_label"]
        .as_str()
        .unwrap()
        .to_string();
    let now = labels.iter().find(|l| **l != was).unwrap().clone();
    browser.type_into(&browser.wait("#reviewer"), "Ana");
    browser.click(&browser.wait(&format!("#cell-1 select option[value={now}]")));
    browser.click(&browser.wait("#cell-1 form.review button"));
    browser.wait(&format!("#cell-1[data-label={now}]"));
    assert_eq!(
        browser.run("return window.hvNotReloaded === true"),
        json!(true)
    );
    let reviewed = daemon.slide();
    assert_eq!(reviewed["cells"][0]["final_label"], now.as_str());
    assert_eq!(
        reviewed["counts"][&now].as_u64().unwrap(),
        counted["counts"][&now].as_u64().unwrap() + 1,
        "{reviewed}"
    );

    // The daemon restarts (killed, as by a power cut): the review is still there.
    drop(daemon);
    let daemon = Daemon::start(data.path(), "600s");
    let base = format!("http://{}", daemon.addr);
    let after = daemon.slide();
    assert_eq!(after["session"], id.as_str(), "the same slide resumed");
    assert_eq!(after["counts"], reviewed["counts"]);
    browser.go(&format!("{base}/slides/{id}"));
    browser.wait(&format!("#cell-1[data-label={now}]"));
    assert!(browser.source().contains("reviewed by Ana"));

    // A picture saved from the classify page joins the open slide as its next cell.
    let crop = data.path().join(format!("crops/{id}/00002.jpg"));
    browser.go(&format!("{base}/"));
    browser.type_into(&browser.wait("#files"), crop.to_str().unwrap());
    browser.click(&browser.wait("#classify"));
    browser.wait(".result .framing img");
    browser.click(&browser.wait(".result button.save"));
    browser.wait_until(
        "const s = document.querySelector('.result .saved'); return !!s && s.textContent.includes('saved as cell 4');",
        20,
    );
    browser.screenshot_after(
        "classify-saved.png",
        "document.querySelector('.result').scrollIntoView()",
    );
    assert_eq!(daemon.slide()["cells"].as_array().unwrap().len(), 4);

    // The printable report holds every cell.
    browser.go(&format!("{base}/slides/{id}/report.html"));
    browser.wait("#slide-id");
    let page = browser.source();
    for seq in 1..=4 {
        assert!(
            page.contains(&format!("id=\"cell-{seq}\"")),
            "cell {seq} missing from the report"
        );
    }
}
