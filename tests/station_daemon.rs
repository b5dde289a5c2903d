//! The station served by the daemon: every change goes through the event loop (the one
//! writer), pages follow the loop live, and a second writer on the same data directory is
//! refused (a standalone station stays read-only, a second daemon does not start).

mod station_support;
mod support;
mod tiny_model;

use std::sync::mpsc;
use std::time::Duration;

use hematovision::app::{App, AppSettings, CellFinder, Devices, FoundCell, StationLink};
use hematovision::camera::{CameraError, Frame, FrameSource};
use hematovision::hw::button::{ButtonError, ButtonEvent, Buttons};
use hematovision::hw::display::SimDisplay;
use hematovision::station::ClassifyService;
use image::RgbImage;
use serde_json::Value;
use station_support::{
    Events, Running, Setup, jpeg, post_json, post_pictures, request, serve, serve_with,
    with_crops_unwritable,
};
use support::Always;

const LABELS: [&str; 2] = ["lymphocyte", "neutrophil"];

/// Presses sent by the test.
struct Presses(mpsc::Receiver<ButtonEvent>);

impl Buttons for Presses {
    fn next_event(&mut self, timeout: Duration) -> Result<Option<ButtonEvent>, ButtonError> {
        match self.0.recv_timeout(timeout) {
            Ok(event) => Ok(Some(event)),
            Err(mpsc::RecvTimeoutError::Timeout) => Ok(None),
            Err(mpsc::RecvTimeoutError::Disconnected) => Ok(Some(ButtonEvent::Quit)),
        }
    }
}

struct Field;

impl FrameSource for Field {
    fn latest_frame(&mut self) -> Result<Frame, CameraError> {
        Ok(Frame {
            image: RgbImage::from_pixel(32, 32, image::Rgb([120, 60, 160])),
            sequence: 0,
            timestamp: Duration::ZERO,
            origin: "field.jpg".into(),
        })
    }
}

struct Centre;

impl CellFinder for Centre {
    fn find(&mut self, frame: &RgbImage) -> Option<FoundCell> {
        Some(FoundCell {
            crop: frame.clone(),
            cells_in_view: 1,
        })
    }
}

fn settings(dir: &std::path::Path) -> AppSettings {
    AppSettings {
        target: 10,
        confidence_threshold: 0.6,
        outside_differential: Vec::new(),
        data_dir: dir.to_path_buf(),
        save_crops: true,
    }
}

fn devices(presses: mpsc::Receiver<ButtonEvent>) -> Devices {
    Devices {
        camera: Box::new(Field),
        finder: Box::new(Centre),
        classifier: Box::new(Always::new(&LABELS, vec![0.2, 0.8])),
        display: Box::new(SimDisplay::new(false, None).unwrap()),
        buttons: Box::new(Presses(presses)),
    }
}

/// The daemon's loop on a thread of its own, with the station linked to it.
fn daemon(
    dir: &std::path::Path,
    link: StationLink,
) -> (mpsc::Sender<ButtonEvent>, std::thread::JoinHandle<()>) {
    let (press, presses) = mpsc::channel();
    let settings = settings(dir);
    let (started_tx, started) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let mut app = App::start(devices(presses), settings).unwrap();
        app.attach_station(link);
        started_tx.send(()).unwrap();
        app.run().unwrap();
    });
    started.recv_timeout(Duration::from_secs(10)).unwrap();
    (press, thread)
}

/// The daemon's loop with a station linked to it, the open slide's id, and the live
/// stream of its changes.
fn daemon_with_station(
    dir: &std::path::Path,
    classify: ClassifyService,
) -> (
    mpsc::Sender<ButtonEvent>,
    std::thread::JoinHandle<()>,
    Running,
    String,
    Events,
) {
    let (link, handle) = hematovision::app::link();
    let (press, thread) = daemon(dir, link);
    let station = serve_with(
        dir,
        classify,
        Setup {
            daemon: Some(handle),
            ..Setup::default()
        },
    );
    let id = request(station.addr, "GET", "/api/slides", &[], b"").json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let events = Events::open(station.addr);
    (press, thread, station, id, events)
}

fn journal_lines(dir: &std::path::Path, id: &str) -> Vec<Value> {
    std::fs::read_to_string(dir.join(format!("journal/{id}.jsonl")))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn inside_the_daemon_every_change_goes_through_the_loop_and_pages_follow_it() {
    let dir = tempfile::tempdir().unwrap();
    let classify = ClassifyService::new(
        Box::new(Always::new(&LABELS, vec![0.9, 0.1])),
        Setup::default().threshold,
        Setup::default().max_pixels,
    );
    let (press, thread, station, id, mut events) = daemon_with_station(dir.path(), classify);

    // A press is announced live, and the slide served is the loop's own copy.
    press.send(ButtonEvent::Count).unwrap();
    let change = events.next();
    assert_eq!(change["slide"], id.as_str());
    assert_eq!(change["event"], "cell_counted");
    let v = request(station.addr, "GET", &format!("/api/slides/{id}"), &[], b"").json();
    assert_eq!(v["counts"]["neutrophil"], 1, "{v}");
    let page = request(station.addr, "GET", &format!("/slides/{id}"), &[], b"").text();
    assert!(
        page.contains("id=\"cell-1\"") && page.contains("id=\"live\""),
        "{page}"
    );

    // A review from another tab: journaled by the loop, announced, stamped on its clock.
    std::thread::sleep(Duration::from_millis(20));
    let a = post_json(
        station.addr,
        &format!("/api/slides/{id}/cells/1"),
        r#"{"label": "lymphocyte", "reviewer": "Ana"}"#,
    );
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.json()["counts"]["lymphocyte"], 1);
    assert_eq!(events.next()["event"], "cell_reviewed");
    let lines = journal_lines(dir.path(), &id);
    let reviewed = lines
        .iter()
        .find(|l| l["event"] == "cell_reviewed")
        .unwrap();
    let counted = lines.iter().find(|l| l["event"] == "cell_counted").unwrap();
    let mono = reviewed["at"]["mono_ms"].as_u64().unwrap();
    assert!(
        mono > 0 && mono >= counted["cell"]["at"]["mono_ms"].as_u64().unwrap(),
        "the review carries the loop's monotonic clock: {reviewed}"
    );

    // An upload saved to the slide is counted by the loop, its crop kept.
    let picture = jpeg(40, 40, [200, 80, 160]);
    let parts = [("image", "upload.jpg", picture.as_slice())];
    let a = post_pictures(station.addr, &format!("/api/slides/{id}/cells"), &parts);
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.json()["seq"], 2);
    assert_eq!(events.next()["event"], "cell_counted");
    let v = request(station.addr, "GET", &format!("/api/slides/{id}"), &[], b"").json();
    assert_eq!(
        v["counts"]["lymphocyte"], 2,
        "the station's model said lymphocyte: {v}"
    );
    assert!(dir.path().join(format!("crops/{id}/00002.jpg")).is_file());
    let lines = journal_lines(dir.path(), &id);
    assert_eq!(lines.last().unwrap()["cell"]["frame"], "upload:upload.jpg");
    // An upload whose picture cannot be saved is not counted (its folder replaced by a file).
    with_crops_unwritable(dir.path(), &id, || {
        let a = post_pictures(station.addr, &format!("/api/slides/{id}/cells"), &parts);
        assert_eq!(a.status, 500, "{}", a.text());
        assert!(
            a.json()["error"].as_str().unwrap().contains("not saved"),
            "{}",
            a.text()
        );
    });
    assert_eq!(
        journal_lines(dir.path(), &id).len(),
        lines.len(),
        "nothing journaled"
    );

    // An upload cannot join a slide that is not being counted.
    let a = post_pictures(station.addr, "/api/slides/20200101-000000/cells", &parts);
    assert_eq!(a.status, 409, "{}", a.text());

    // A standalone station on the same data directory only reads while the daemon runs.
    let standalone = serve(
        dir.path(),
        Box::new(Always::new(&LABELS, vec![0.9, 0.1])),
        Setup::default(),
    );
    let a = post_json(
        standalone.addr,
        &format!("/api/slides/{id}/cells/2"),
        r#"{"label": "neutrophil"}"#,
    );
    assert_eq!(a.status, 409, "{}", a.text());
    assert!(
        a.json()["error"].as_str().unwrap().contains("read-only"),
        "{}",
        a.text()
    );
    let page = request(standalone.addr, "GET", &format!("/slides/{id}"), &[], b"").text();
    assert!(page.contains("id=\"read-only\""), "{page}");
    assert!(
        !page.contains("form class=\"review\""),
        "no review controls: {page}"
    );
    // ... and a second daemon does not start on it.
    let (_unused, presses) = mpsc::channel();
    let second = App::start(devices(presses), settings(dir.path()));
    let e = second
        .err()
        .expect("a second daemon must not start")
        .to_string();
    assert!(e.contains("another hematovision process"), "{e}");

    // Signing the open slide off closes it; the loop opens the next one.
    let a = post_json(
        station.addr,
        &format!("/api/slides/{id}/sign-off"),
        r#"{"operator": "Dr. Lee"}"#,
    );
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(events.next()["event"], "signed_off");
    let next = events.next();
    assert_eq!(next["event"], "session_started");
    assert_ne!(next["slide"], id.as_str());

    // Once the loop stops, changes are refused with a reason, never lost silently.
    press.send(ButtonEvent::Quit).unwrap();
    thread.join().unwrap();
    let a = post_json(
        station.addr,
        &format!("/api/slides/{id}/cells/1"),
        r#"{"label": "neutrophil"}"#,
    );
    assert_eq!(a.status, 503, "{}", a.text());
    assert!(a.json()["error"].as_str().unwrap().contains("stopping"));

    // With the daemon gone the standalone station may write again.
    let a = post_json(
        standalone.addr,
        &format!("/api/slides/{}/cells/1", next["slide"].as_str().unwrap()),
        r#"{"label": "neutrophil"}"#,
    );
    assert_eq!(
        a.status,
        404,
        "the new slide has no cell 1 yet: {}",
        a.text()
    );
}

/// "Teach this microscope" in the daemon: over the open slide (the loop's own copy), on
/// the station's model, while the button keeps counting through the loop.
#[test]
fn the_daemons_station_teaches_from_the_open_slide_while_the_button_counts() {
    let dir = tempfile::tempdir().unwrap();
    let classify = tiny_model::service(&tiny_model::int8_model());
    let (press, thread, station, id, mut events) = daemon_with_station(dir.path(), classify);
    for _ in 0..8 {
        press.send(ButtonEvent::Count).unwrap();
        assert_eq!(events.next()["event"], "cell_counted");
    }
    for seq in 1..=8 {
        let label = if seq % 2 == 0 {
            "lymphocyte"
        } else {
            "neutrophil"
        };
        let a = post_json(
            station.addr,
            &format!("/api/slides/{id}/cells/{seq}"),
            &format!(r#"{{"label": "{label}", "reviewer": "Ana"}}"#),
        );
        assert_eq!(a.status, 200, "{}", a.text());
        assert_eq!(events.next()["event"], "cell_reviewed");
    }
    let addr = station.addr;
    let body = format!(r#"{{"slides": ["{id}"]}}"#);
    let teaching = std::thread::spawn(move || post_json(addr, "/api/calibrate", &body));
    // The button is answered by the loop meanwhile, whatever the station is doing.
    let pressed = std::time::Instant::now();
    press.send(ButtonEvent::Count).unwrap();
    assert_eq!(events.next()["event"], "cell_counted");
    assert!(pressed.elapsed() < Duration::from_secs(2));
    let a = teaching.join().unwrap();
    assert_eq!(a.status, 200, "{}", a.text());
    let v = a.json();
    assert_eq!(v["slides"], serde_json::json!([id]));
    assert_eq!(
        v["cells"], 8,
        "the reviewed cells, not the one counted meanwhile: {v}"
    );
    assert!(v["accepted"].is_boolean() && v["html"].is_string(), "{v}");
    press.send(ButtonEvent::Quit).unwrap();
    thread.join().unwrap();
}

#[test]
fn a_full_inbox_is_refused_at_once_and_the_loop_never_waits_for_the_web() {
    // No loop drains this link: requests beyond its capacity are refused immediately.
    let (_link, handle) = hematovision::app::link();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let refused = runtime.block_on(async {
        let mut waiting = Vec::new();
        for seq in 0..hematovision::app::INBOX_CAPACITY as u64 {
            let handle = handle.clone();
            waiting.push(tokio::spawn(async move {
                handle
                    .ask(|reply| hematovision::app::Request::SignOff {
                        slide: format!("s{seq}"),
                        operator: "x".into(),
                        reply,
                    })
                    .await
            }));
        }
        // Let every spawned request reach the queue.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let extra = handle
            .ask(|reply| hematovision::app::Request::SignOff {
                slide: "one-too-many".into(),
                operator: "x".into(),
                reply,
            })
            .await;
        for w in waiting {
            w.abort();
        }
        extra
    });
    assert_eq!(refused, Err(hematovision::app::LinkError::Busy));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn the_standalone_station_says_up_front_that_a_daemon_holds_the_data_directory() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("journal")).unwrap();
    // This test process holds the lock, as a running daemon does.
    let held = hematovision::store::DataDirLock::try_acquire(dir.path())
        .unwrap()
        .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hematovision"))
        .args(["station", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines: Vec<String> = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take(2)
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    drop(held);
    assert!(lines[0].contains("Review station for"), "{lines:?}");
    assert!(
        lines[1].starts_with("Read-only: a running daemon"),
        "{lines:?}"
    );
}
