//! `hematovision bench --station`: what the review station costs. Upload → result for one
//! cell through the station's HTTP API, and the button path (press → display) with the
//! station served beside the loop and a live page connected, against the same loop without
//! it. The live page does what a browser's does: on every change it fetches the slide page
//! again, so its rendering competes with the loop for the CPU, as it would on the device.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use image::RgbImage;
use serde::Serialize;

use crate::model::{ClassifierOptions, TfliteClassifier};
use crate::station::{ClassifyService, Served, Station, StationOptions};
use crate::vision::LocatorParams;

use super::error::BenchError;
use super::stats::Summary;
use super::{BenchOptions, bench_app, presses};

/// How long a request of the bench's client may take before it counts as failed.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// The station's figures (milliseconds).
#[derive(Debug, Clone, Serialize)]
pub struct StationBench {
    /// One cell picture POSTed to `/api/classify` until its JSON result is read, median.
    pub upload_to_result_ms_median: f64,
    /// Its 95th percentile.
    pub upload_to_result_ms_p95: f64,
    /// Press → display with no station, median (measured in this same run).
    pub press_without_station_ms_median: f64,
    /// Its 95th percentile.
    pub press_without_station_ms_p95: f64,
    /// Press → display with the station served and a live page refreshing on each count.
    pub press_with_station_ms_median: f64,
    /// Its 95th percentile.
    pub press_with_station_ms_p95: f64,
    /// Live events the page received during the presses.
    pub live_events: usize,
    /// Slide pages it fetched again on them.
    pub page_refreshes: usize,
}

/// Measures the station's figures with `n` repetitions; `crop` is the cell uploaded.
pub fn station_figures(
    options: &BenchOptions,
    crop: &RgbImage,
    scratch: &Path,
    n: usize,
) -> Result<StationBench, BenchError> {
    let open = |threads| {
        TfliteClassifier::open(
            &options.model,
            options.library.as_deref(),
            &ClassifierOptions {
                threads,
                views: options.views,
            },
        )
        .map_err(BenchError::Model)
    };
    let finder = |classifier: &TfliteClassifier| {
        crate::app::LocatorFinder::new(
            LocatorParams::default(),
            classifier.bundle().cell_fraction(),
            None,
        )
    };

    // Without a station first, on a journal of its own.
    let classifier = open(options.threads)?;
    let lone = finder(&classifier);
    let mut app = bench_app(classifier, lone, options, &scratch.join("without"))?;
    let without = presses(&mut app, n);
    drop(app);

    // The same loop with the station beside it, as the daemon serves it (its own model
    // on one thread, one runtime thread).
    let data = scratch.join("with");
    let classifier = open(options.threads)?;
    let near = finder(&classifier);
    let mut app = bench_app(classifier, near, options, &data)?;
    let (link, handle) = crate::app::link();
    app.attach_station(link);
    let station_model = open(std::num::NonZeroUsize::new(1))?;
    let cell_fraction = station_model.bundle().cell_fraction();
    let classify = ClassifyService::new(Box::new(station_model), 0.6, 40_000_000)
        .with_reframing(LocatorParams::default(), cell_fraction);
    let station = Station::new(
        StationOptions {
            data_dir: data.clone(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: None,
            max_upload_bytes: 32 * 1024 * 1024,
            model: None,
            daemon: Some(handle.clone()),
        },
        classify,
    )
    .map_err(station_error)?;
    let served = Served::start(station, 1).map_err(station_error)?;
    let addr = served.addr();
    let slide = handle
        .open_slide()
        .map(|s| s.id.clone())
        .ok_or_else(|| client_error("the loop published no open slide"))?;
    let page = LivePage::open(addr, &slide)?;
    let with = presses(&mut app, n);
    // Let the page catch up with the last count before it is read.
    std::thread::sleep(Duration::from_millis(500));
    let (live_events, page_refreshes) = page.counts();

    let mut jpeg = std::io::Cursor::new(Vec::new());
    crop.write_to(&mut jpeg, image::ImageFormat::Jpeg)
        .map_err(|e| client_error(&format!("cannot encode the cell picture: {e}")))?;
    let (kind, body) = multipart("cell.jpg", jpeg.get_ref());
    let mut uploads = Vec::with_capacity(n);
    for _ in 0..=n {
        let t = Instant::now();
        let answer = http(addr, "POST", "/api/classify", Some((&kind, &body)))?;
        if !answer.starts_with(b"HTTP/1.1 200") {
            return Err(client_error(&String::from_utf8_lossy(
                &answer[..answer.len().min(300)],
            )));
        }
        uploads.push(t.elapsed());
    }
    // The first upload warms the station's model up; it is not counted.
    let upload = Summary::of(&uploads[1..]);
    served.stop();
    drop(page);
    Ok(StationBench {
        upload_to_result_ms_median: upload.median_ms,
        upload_to_result_ms_p95: upload.p95_ms,
        press_without_station_ms_median: without.median_ms,
        press_without_station_ms_p95: without.p95_ms,
        press_with_station_ms_median: with.median_ms,
        press_with_station_ms_p95: with.p95_ms,
        live_events,
        page_refreshes,
    })
}

/// A page following the station live: it reads the event stream and fetches its slide
/// page again on every event, on a thread of its own.
struct LivePage {
    events: Arc<AtomicUsize>,
    refreshes: Arc<AtomicUsize>,
    stream: TcpStream,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LivePage {
    fn open(addr: SocketAddr, slide: &str) -> Result<LivePage, BenchError> {
        let mut stream = TcpStream::connect(addr).map_err(client_io)?;
        write!(
            stream,
            "GET /api/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .map_err(client_io)?;
        let reader = stream.try_clone().map_err(client_io)?;
        let events = Arc::new(AtomicUsize::new(0));
        let refreshes = Arc::new(AtomicUsize::new(0));
        let (e, r) = (events.clone(), refreshes.clone());
        let path = format!("/slides/{slide}");
        let thread = std::thread::spawn(move || follow(reader, addr, &path, &e, &r));
        Ok(LivePage {
            events,
            refreshes,
            stream,
            thread: Some(thread),
        })
    }

    fn counts(&self) -> (usize, usize) {
        (
            self.events.load(Ordering::SeqCst),
            self.refreshes.load(Ordering::SeqCst),
        )
    }
}

impl Drop for LivePage {
    fn drop(&mut self) {
        let _closed = self.stream.shutdown(std::net::Shutdown::Both);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads the stream until it ends; every `data:` line is an event and costs a page fetch.
fn follow(
    mut stream: TcpStream,
    addr: SocketAddr,
    path: &str,
    events: &AtomicUsize,
    refreshes: &AtomicUsize,
) {
    let mut buf = [0u8; 4096];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let fresh = buf[..n].windows(5).filter(|w| w == b"data:").count();
        if fresh > 0 {
            events.fetch_add(fresh, Ordering::SeqCst);
            if http(addr, "GET", path, None).is_ok() {
                refreshes.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

/// One request on a fresh connection; the whole answer, head included.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<(&str, &[u8])>,
) -> Result<Vec<u8>, BenchError> {
    let (kind, bytes) = body.unwrap_or(("text/plain", &[]));
    let mut answer = Vec::new();
    TcpStream::connect(addr)
        .and_then(|mut stream| {
            stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
            write!(
                stream,
                "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\r\n",
                bytes.len()
            )?;
            stream.write_all(bytes)?;
            stream.read_to_end(&mut answer)
        })
        .map_err(client_io)?;
    Ok(answer)
}

/// A multipart/form-data body with one `image` field: (content type, body).
fn multipart(file: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "hematovision-bench-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{file}\"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn station_error(e: crate::station::StationError) -> BenchError {
    BenchError::Station(e.to_string())
}

fn client_io(e: std::io::Error) -> BenchError {
    BenchError::Station(format!("the bench's client: {e}"))
}

fn client_error(why: &str) -> BenchError {
    BenchError::Station(why.to_string())
}
