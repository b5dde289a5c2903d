//! Serving a station in a test, and a minimal HTTP/1.1 client (std only) to talk to it and
//! to chromedriver.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use hematovision::count::{Counter, Stamp};
use hematovision::model::Classifier;
use hematovision::station::{ClassifyService, Station, StationOptions};
use hematovision::store::Journal;

/// A station served on 127.0.0.1 (ephemeral port) by its own thread, stopped on drop.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Settings of a test station.
pub struct Setup {
    pub token: Option<String>,
    pub max_upload_bytes: usize,
    pub max_pixels: u64,
    pub threshold: f32,
    /// The daemon's loop, when the station is served by the daemon.
    pub daemon: Option<hematovision::app::LoopHandle>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            token: None,
            max_upload_bytes: 1024 * 1024,
            max_pixels: 4_000_000,
            threshold: 0.6,
            daemon: None,
        }
    }
}

/// Serves `data_dir` with `classifier`.
pub fn serve(data_dir: &Path, classifier: Box<dyn Classifier + Send>, setup: Setup) -> Running {
    let classify = ClassifyService::new(classifier, setup.threshold, setup.max_pixels);
    serve_with(data_dir, classify, setup)
}

/// Serves `data_dir` with a classify service made by the test.
pub fn serve_with(data_dir: &Path, classify: ClassifyService, setup: Setup) -> Running {
    let station = Station::new(
        StationOptions {
            data_dir: data_dir.to_path_buf(),
            listen: "127.0.0.1:0".parse().unwrap(),
            token: setup.token,
            max_upload_bytes: setup.max_upload_bytes,
            model: Some("test double".into()),
            daemon: setup.daemon,
        },
        classify,
    )
    .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = station.bind().await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let stop = async move {
                let _ = rx.await;
            };
            station.serve(listener, stop).await.unwrap();
        });
    });
    let addr = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    Running {
        addr,
        stop: Some(tx),
        thread: Some(thread),
    }
}

pub fn stamp(ms: u64) -> Stamp {
    Stamp {
        wall_ms: ms,
        mono_ms: ms,
    }
}

/// A small JPEG picture of one colour.
pub fn jpeg(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb(rgb));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// Journals a slide `id` with one cell per answer (each with a crop file), finished if
/// asked; classes lymphocyte, neutrophil.
pub fn make_slide(data_dir: &Path, id: &str, answers: &[[f32; 2]], finish: bool) {
    let (mut journal, _) = Journal::open(data_dir).unwrap();
    let mut c = Counter::new();
    let labels = vec!["lymphocyte".to_string(), "neutrophil".to_string()];
    let mut commit = |c: &mut Counter, e| {
        journal.append(&e).unwrap();
        c.apply(&e).unwrap();
    };
    let e = c
        .start_event(id.into(), labels, 4, 0.6, stamp(1_700_000_000_000))
        .unwrap();
    commit(&mut c, e);
    let crops = data_dir.join("crops").join(id);
    std::fs::create_dir_all(&crops).unwrap();
    for (i, p) in answers.iter().enumerate() {
        let path = crops.join(format!("{:05}.jpg", i + 1));
        let shade = 60 + 40 * i as u8;
        std::fs::write(&path, jpeg(64, 64, [shade, 80, 160])).unwrap();
        let e = c
            .count_event(
                p.to_vec(),
                "field.jpg".into(),
                Some(path.display().to_string()),
                stamp(1_700_000_001_000 + i as u64),
            )
            .unwrap();
        commit(&mut c, e);
    }
    if finish {
        let e = c.finish_event(stamp(1_700_000_100_000)).unwrap();
        commit(&mut c, e);
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request on a fresh connection (`Connection: close`), bounded in time.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    try_request(addr, method, path, headers, body)
        .unwrap_or_else(|raw| panic!("no HTTP answer: {raw:?}"))
}

/// [`request`], or what came back (lossily as text) when it was no HTTP answer: for
/// probing a port that may belong to someone else.
pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Answer, String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("cannot connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| format!("cannot set a timeout: {e}"))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .map_err(|e| format!("cannot send: {e}"))?;
    // A server may refuse before reading the whole body; that is its answer.
    let _ = stream.write_all(body);
    // Read until the whole answer is in: a server may keep the connection open.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        if complete(&raw) {
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    parse(&raw).ok_or_else(|| String::from_utf8_lossy(&raw).into_owned())
}

/// True once `raw` holds the head and the whole body its head announces.
fn complete(raw: &[u8]) -> bool {
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let body = &raw[split + 4..];
    if let Some(len) = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        return body.len() >= len;
    }
    if head.contains("transfer-encoding: chunked") {
        return body.ends_with(b"0\r\n\r\n");
    }
    false
}

fn parse(raw: &[u8]) -> Option<Answer> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Some(Answer {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&data[..end]);
        let size =
            usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = end + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
}

/// POSTs a JSON body.
pub fn post_json(addr: SocketAddr, path: &str, body: &str) -> Answer {
    request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

/// POSTs pictures as multipart/form-data fields `(field, file name, bytes)`.
pub fn post_pictures(addr: SocketAddr, path: &str, parts: &[(&str, &str, &[u8])]) -> Answer {
    let (kind, body) = multipart(parts);
    request(addr, "POST", path, &[("Content-Type", &kind)], &body)
}

/// A multipart/form-data body: (field, file name, bytes); returns (content type, body).
pub fn multipart(parts: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "hv-test-boundary-7a1c";
    let mut body = Vec::new();
    for (field, file, bytes) in parts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A live stream of the station's changes (`GET /api/events`), read line by line.
pub struct Events {
    reader: std::io::BufReader<TcpStream>,
}

impl Events {
    /// Opens the stream and reads past the answer's head.
    pub fn open(addr: SocketAddr) -> Events {
        use std::io::BufRead;
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "GET /api/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .unwrap();
        let mut reader = std::io::BufReader::new(stream);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            head.push_str(&line);
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            head.to_ascii_lowercase().contains("text/event-stream"),
            "{head}"
        );
        Events { reader }
    }

    /// The next change (`{"slide", "event"}`), waiting at most 10 s.
    pub fn next(&mut self) -> serde_json::Value {
        use std::io::BufRead;
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).expect("no change in time");
            assert!(n > 0, "the stream ended");
            // Chunked transfer: sizes and blank lines around the event's own lines.
            if let Some(data) = line.trim_end().strip_prefix("data: ") {
                return serde_json::from_str(data).unwrap();
            }
        }
    }
}

/// Runs `f` while slide `id`'s crop folder is replaced by a file (so no picture can be
/// saved there), then puts the folder back.
pub fn with_crops_unwritable(data_dir: &Path, id: &str, f: impl FnOnce()) {
    let crops = data_dir.join("crops").join(id);
    let kept = data_dir.join("crops-kept-aside");
    std::fs::rename(&crops, &kept).unwrap();
    std::fs::write(&crops, b"not a folder").unwrap();
    f();
    std::fs::remove_file(&crops).unwrap();
    std::fs::rename(&kept, &crops).unwrap();
}
