//! The review station over HTTP: classify, slides, reviews that survive a restart,
//! reports, and every safety rule (token, same-origin, local host, sizes, paths).

mod station_support;
mod support;

use std::path::Path;

use hematovision::station::{ClassifyService, Station, StationOptions};
use station_support::{
    Setup, jpeg, make_slide, multipart, post_json, post_pictures, request, serve,
    with_crops_unwritable,
};
use support::Always;

const LABELS: [&str; 2] = ["lymphocyte", "neutrophil"];

fn model() -> Box<Always> {
    Box::new(Always::new(&LABELS, vec![0.3, 0.7]))
}

#[test]
fn a_non_loopback_address_needs_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let options = |listen: &str, token: Option<&str>| StationOptions {
        data_dir: dir.path().to_path_buf(),
        listen: listen.parse().unwrap(),
        token: token.map(String::from),
        max_upload_bytes: 1 << 20,
        model: None,
        daemon: None,
    };
    let classify = || ClassifyService::unavailable("none");
    let err = Station::new(options("0.0.0.0:8080", None), classify()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("station.listen") && text.contains("station.token"),
        "{text}"
    );
    assert!(Station::new(options("192.168.1.5:8080", Some("short")), classify()).is_err());
    assert!(
        Station::new(
            options("0.0.0.0:8080", Some("a-long-enough-token-1234")),
            classify()
        )
        .is_ok()
    );
    assert!(Station::new(options("127.0.0.1:8080", None), classify()).is_ok());
    assert!(Station::new(options("[::1]:8080", None), classify()).is_ok());
}

#[test]
fn classify_answers_per_picture_and_refuses_bad_input_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let station = serve(
        dir.path(),
        model(),
        Setup {
            max_upload_bytes: 200 * 1024,
            max_pixels: 100 * 100,
            ..Setup::default()
        },
    );
    let good = jpeg(40, 30, [200, 100, 150]);
    let (ct, body) = multipart(&[
        ("image", "cell.jpg", &good),
        ("image", "notes.txt", b"not a picture"),
    ]);
    let a = request(
        station.addr,
        "POST",
        "/api/classify",
        &[("Content-Type", &ct)],
        &body,
    );
    assert_eq!(a.status, 200, "{}", a.text());
    let v = a.json();
    assert_eq!(v["images"][0]["label"], "neutrophil");
    assert!((v["images"][0]["confidence"].as_f64().unwrap() - 0.7).abs() < 1e-6);
    assert_eq!(v["images"][0]["unsure"], false);
    assert_eq!(v["images"][0]["size"], serde_json::json!([40, 30]));
    assert!(v["images"][0]["probabilities"]["lymphocyte"].is_number());
    assert!(
        v["images"][1]["error"]
            .as_str()
            .unwrap()
            .contains("not a picture")
    );

    // Only bad pictures: 4xx with the message.
    let (ct, body) = multipart(&[("image", "notes.txt", b"hello")]);
    let a = request(
        station.addr,
        "POST",
        "/api/classify",
        &[("Content-Type", &ct)],
        &body,
    );
    assert_eq!(a.status, 422);
    assert!(
        a.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("notes.txt: ")
    );

    // Over the pixel limit: refused from the header, the key named.
    let big = jpeg(200, 200, [1, 2, 3]);
    let (ct, body) = multipart(&[("image", "big.jpg", &big)]);
    let a = request(
        station.addr,
        "POST",
        "/api/classify",
        &[("Content-Type", &ct)],
        &body,
    );
    assert_eq!(a.status, 422);
    assert!(
        a.json()["error"]
            .as_str()
            .unwrap()
            .contains("limits.max_image_pixels")
    );

    // No picture at all; not multipart; over the request size limit.
    let (ct, body) = multipart(&[("other", "x", b"1")]);
    let a = request(
        station.addr,
        "POST",
        "/api/classify",
        &[("Content-Type", &ct)],
        &body,
    );
    assert_eq!(a.status, 400);
    assert!(a.json()["error"].as_str().unwrap().contains("no picture"));
    let a = post_json(station.addr, "/api/classify", "{}");
    assert!((400..500).contains(&a.status));
    assert!(a.json()["error"].as_str().unwrap().contains("multipart"));
    let huge = vec![7u8; 300 * 1024];
    let (ct, body) = multipart(&[("image", "huge.jpg", &huge)]);
    let a = request(
        station.addr,
        "POST",
        "/api/classify",
        &[("Content-Type", &ct)],
        &body,
    );
    assert_eq!(a.status, 413, "{}", a.text());
    assert!(
        a.json()["error"]
            .as_str()
            .unwrap()
            .contains("max_upload_bytes")
    );

    // Uploads are never written: the data directory stays empty.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_review_is_journaled_changes_the_differential_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    make_slide(
        dir.path(),
        "20250101T000000Z",
        &[[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]],
        true,
    );
    let id = "20250101T000000Z";
    {
        let station = serve(dir.path(), model(), Setup::default());
        let list = request(station.addr, "GET", "/api/slides", &[], b"").json();
        assert_eq!(list[0]["id"], id);
        assert_eq!(list[0]["state"], "finished");
        assert_eq!(list[0]["differential_total"], 2);

        let a = post_json(
            station.addr,
            &format!("/api/slides/{id}/cells/1"),
            r#"{"label": "lymphocyte", "reviewer": "Ana"}"#,
        );
        assert_eq!(a.status, 200, "{}", a.text());
        let v = a.json();
        assert_eq!(v["counts"]["lymphocyte"], 2);
        assert_eq!(v["counts"]["neutrophil"], 0);
        assert_eq!(v["cells"][0]["model_label"], "neutrophil");
        assert_eq!(v["cells"][0]["final_label"], "lymphocyte");
        assert_eq!(v["cells"][0]["reviewer"], "Ana");

        // Wrong label, unknown cell, malformed body, bad slide id: refused with a message.
        for (path, body, status) in [
            (
                format!("/api/slides/{id}/cells/1"),
                r#"{"label": "basophil"}"#,
                400,
            ),
            (
                format!("/api/slides/{id}/cells/99"),
                r#"{"label": "lymphocyte"}"#,
                404,
            ),
            (
                format!("/api/slides/{id}/cells/1"),
                r#"{"lable": "x"}"#,
                422,
            ),
            (
                format!("/api/slides/{id}/cells/x"),
                r#"{"label": "lymphocyte"}"#,
                400,
            ),
            (
                "/api/slides/..%2Fx/cells/1".into(),
                r#"{"label": "lymphocyte"}"#,
                400,
            ),
            (
                "/api/slides/20990101T000000Z/cells/1".into(),
                r#"{"label": "lymphocyte"}"#,
                404,
            ),
        ] {
            let a = post_json(station.addr, &path, body);
            assert_eq!(a.status, status, "{path} {body}: {}", a.text());
            assert!(a.json()["error"].is_string());
        }
    }
    // A fresh station (a restart) and the CLI replay the journal and see the review.
    let journal = std::fs::read_to_string(dir.path().join(format!("journal/{id}.jsonl"))).unwrap();
    assert_eq!(journal.matches("\"cell_reviewed\"").count(), 1);
    assert_eq!(
        journal.matches("\"cell_counted\"").count(),
        3,
        "nothing rewritten"
    );
    let station = serve(dir.path(), model(), Setup::default());
    let v = request(station.addr, "GET", &format!("/api/slides/{id}"), &[], b"").json();
    assert_eq!(v["counts"]["lymphocyte"], 2);
    assert_eq!(v["state"], "finished");

    // Sign-off closes the slide for edits.
    let a = post_json(
        station.addr,
        &format!("/api/slides/{id}/sign-off"),
        r#"{"operator": "Dr. Lee"}"#,
    );
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.json()["signed_off"]["operator"], "Dr. Lee");
    let a = post_json(
        station.addr,
        &format!("/api/slides/{id}/cells/2"),
        r#"{"label": "neutrophil"}"#,
    );
    assert_eq!(a.status, 409);
    assert!(a.json()["error"].as_str().unwrap().contains("signed off"));

    // The daemon's recovery does not take a reviewed, signed-off slide for an open one.
    let (_, replay) = hematovision::store::Journal::open(dir.path()).unwrap();
    assert!(replay.counter.session().is_none());
    assert!(replay.problems.is_empty(), "{:?}", replay.problems);
}

#[test]
fn pages_and_reports_show_every_cell() {
    let dir = tempfile::tempdir().unwrap();
    let id = "20250102T000000Z";
    make_slide(dir.path(), id, &[[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]], true);
    let station = serve(dir.path(), model(), Setup::default());
    let page = request(station.addr, "GET", &format!("/slides/{id}"), &[], b"");
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("<svg") && html.contains("<progress"));
    for seq in 1..=3 {
        assert!(html.contains(&format!("id=\"cell-{seq}\"")), "cell {seq}");
    }
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("default-src 'self'")
    );
    let list = request(station.addr, "GET", "/slides", &[], b"").text();
    assert!(list.contains(&format!("href=\"/slides/{id}\"")));
    let report = request(
        station.addr,
        "GET",
        &format!("/slides/{id}/report.html"),
        &[],
        b"",
    )
    .text();
    assert!(report.contains("<svg") && report.contains("test double"));
    assert_eq!(report.matches("class=\"cell\"").count(), 3);
    let csv = request(
        station.addr,
        "GET",
        &format!("/slides/{id}/report.csv"),
        &[],
        b"",
    );
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert_eq!(csv.text().lines().count(), 4);
    assert!(csv.text().contains(&format!("{id},3,")));
    // Assets are compiled in.
    let js = request(station.addr, "GET", "/assets/station.js", &[], b"");
    assert_eq!(js.status, 200);
    assert!(js.text().contains("/api/classify"));
    let page = request(station.addr, "GET", "/", &[], b"").text();
    assert!(page.contains("Try another") && page.contains("multiple"));

    // The CLI renders the same reports.
    let out = dir.path().join("r.csv");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_hematovision"))
        .args(["report", "--format", "csv", "--data-dir"])
        .arg(dir.path())
        .args(["--session", id, "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), csv.text());
    let html = std::process::Command::new(env!("CARGO_BIN_EXE_hematovision"))
        .args(["report", "--format", "html", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(html.status.success());
    assert_eq!(
        String::from_utf8_lossy(&html.stdout)
            .matches("class=\"cell\"")
            .count(),
        3
    );
}

#[test]
fn no_request_reaches_a_file_outside_the_crops_the_journal_names() {
    let dir = tempfile::tempdir().unwrap();
    let id = "20250103T000000Z";
    make_slide(dir.path(), id, &[[0.1, 0.9], [0.8, 0.2]], true);
    let secret = dir.path().join("secret.jpg");
    std::fs::write(&secret, b"secret").unwrap();
    // Cell 2's crop replaced by a link to a file outside crops/: not served.
    let crop2 = dir.path().join(format!("crops/{id}/00002.jpg"));
    std::fs::remove_file(&crop2).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", &crop2).unwrap();
    // A file in the crops folder that the journal does not name.
    std::fs::write(dir.path().join(format!("crops/{id}/00009.jpg")), b"x").unwrap();
    let hostname = std::fs::read("/etc/hostname").unwrap_or_default();
    let station = serve(dir.path(), model(), Setup::default());
    let ok = request(
        station.addr,
        "GET",
        &format!("/slides/{id}/cells/00001.jpg"),
        &[],
        b"",
    );
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("content-type"), Some("image/jpeg"));
    assert_eq!(
        ok.body,
        std::fs::read(dir.path().join(format!("crops/{id}/00001.jpg"))).unwrap()
    );
    for path in [
        format!("/slides/{id}/cells/00002.jpg"),
        format!("/slides/{id}/cells/00009.jpg"),
        format!("/slides/{id}/cells/..%2F..%2Fsecret.jpg"),
        format!("/slides/{id}/cells/"),
        format!("/slides/{id}/cells"),
        "/slides/..%2F..%2Fetc/cells/00001.jpg".to_string(),
        "/slides/%2e%2e/report.csv".to_string(),
        "/crops/".to_string(),
        format!("/crops/{id}/00001.jpg"),
        "/journal/".to_string(),
        "/assets/".to_string(),
        "/assets/..%2Fmod.rs".to_string(),
        "/../secret.jpg".to_string(),
    ] {
        let a = request(station.addr, "GET", &path, &[], b"");
        assert!(matches!(a.status, 400 | 404), "{path}: {}", a.status);
        assert!(!a.body.starts_with(b"secret"), "{path}");
        assert_ne!(a.body, hostname, "{path}");
    }
    assert!(Path::new(&secret).exists());
}

#[test]
fn changes_need_same_origin_and_the_token_when_one_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let id = "20250104T000000Z";
    make_slide(dir.path(), id, &[[0.1, 0.9]], true);
    let body = br#"{"label": "lymphocyte"}"#;
    let path = format!("/api/slides/{id}/cells/1");
    {
        let station = serve(dir.path(), model(), Setup::default());
        let json = ("Content-Type", "application/json");
        let a = request(
            station.addr,
            "POST",
            &path,
            &[json, ("Origin", "http://evil.example")],
            body,
        );
        assert_eq!(a.status, 403);
        let a = request(
            station.addr,
            "POST",
            &path,
            &[json, ("Sec-Fetch-Site", "cross-site")],
            body,
        );
        assert_eq!(a.status, 403);
        // Without a token, a request addressed to another name (DNS rebinding) is refused.
        let mut stream = std::net::TcpStream::connect(station.addr).unwrap();
        use std::io::{Read, Write};
        stream
            .write_all(
                b"GET /api/slides HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
            )
            .unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        assert!(raw.starts_with("HTTP/1.1 403"), "{raw}");
        let origin = format!("http://{}", station.addr);
        let a = request(
            station.addr,
            "POST",
            &path,
            &[json, ("Origin", &origin), ("Sec-Fetch-Site", "same-origin")],
            body,
        );
        assert_eq!(a.status, 200, "{}", a.text());
    }
    let token = "test-token-0123456789";
    let station = serve(
        dir.path(),
        model(),
        Setup {
            token: Some(token.into()),
            ..Setup::default()
        },
    );
    let a = request(station.addr, "GET", "/api/slides", &[], b"");
    assert_eq!(a.status, 401);
    assert!(a.json()["error"].as_str().unwrap().contains("token"));
    let a = request(station.addr, "GET", "/slides/x/cells/00001.jpg", &[], b"");
    assert_eq!(a.status, 401);
    let bearer = format!("Bearer {token}");
    let a = request(
        station.addr,
        "GET",
        "/api/slides",
        &[("Authorization", &bearer)],
        b"",
    );
    assert_eq!(a.status, 200);
    let a = request(station.addr, "GET", &format!("/?token={token}"), &[], b"");
    assert_eq!(a.status, 200);
    let cookie = a.header("set-cookie").unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().unwrap();
    let a = request(station.addr, "GET", "/api/slides", &[("Cookie", pair)], b"");
    assert_eq!(a.status, 200);
    let a = request(
        station.addr,
        "POST",
        &path,
        &[("Content-Type", "application/json"), ("Cookie", pair)],
        br#"{"label": "neutrophil"}"#,
    );
    assert_eq!(a.status, 200, "{}", a.text());
}

#[test]
fn an_upload_saved_to_the_open_slide_is_counted_and_reviewed_cells_are_exported() {
    let dir = tempfile::tempdir().unwrap();
    let id = "20250106T000000Z";
    make_slide(dir.path(), id, &[[0.1, 0.9], [0.8, 0.2], [0.2, 0.8]], false);
    let finished = "20250105T000000Z";
    make_slide(dir.path(), finished, &[[0.1, 0.9]], true);
    let station = serve(dir.path(), model(), Setup::default());

    // The result shows what the model saw; the page offers the open slide.
    let picture = jpeg(48, 40, [190, 90, 170]);
    let parts = [("image", "mine.jpg", picture.as_slice())];
    let v = post_pictures(station.addr, "/api/classify", &parts).json();
    let framing = v["images"][0]["framing"].as_str().unwrap();
    assert!(framing.starts_with("data:image/jpeg;base64,"), "{v}");
    assert_eq!(
        v["images"][0]["framed"], false,
        "no locator in this station"
    );
    let page = request(station.addr, "GET", "/", &[], b"").text();
    assert!(
        page.contains(&format!("data-open-slide=\"{id}\"")),
        "{page}"
    );

    // Saved: counted as the slide's next cell, its crop kept; nothing else is kept.
    let a = post_pictures(station.addr, &format!("/api/slides/{id}/cells"), &parts);
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.json()["seq"], 4);
    assert!(dir.path().join(format!("crops/{id}/00004.jpg")).is_file());
    let journal = std::fs::read_to_string(dir.path().join(format!("journal/{id}.jsonl"))).unwrap();
    assert!(journal.contains("upload:mine.jpg"), "{journal}");
    // Refused: a finished slide, a picture that is none, another site, two pictures.
    let a = post_pictures(
        station.addr,
        &format!("/api/slides/{finished}/cells"),
        &parts,
    );
    assert_eq!(a.status, 409, "{}", a.text());
    let bad = [("image", "bad.jpg", b"not a picture".as_slice())];
    let a = post_pictures(station.addr, &format!("/api/slides/{id}/cells"), &bad);
    assert_eq!(a.status, 422, "{}", a.text());
    assert!(a.json()["error"].as_str().unwrap().contains("bad.jpg"));
    let two = [parts[0], parts[0]];
    let a = post_pictures(station.addr, &format!("/api/slides/{id}/cells"), &two);
    assert_eq!(a.status, 413, "{}", a.text());
    for path in [
        format!("/api/slides/{id}/cells"),
        format!("/api/slides/{id}/export"),
    ] {
        let a = request(
            station.addr,
            "POST",
            &path,
            &[("Origin", "http://evil.example")],
            b"",
        );
        assert_eq!(a.status, 403, "{path}");
    }
    let crops = std::fs::read_dir(dir.path().join(format!("crops/{id}"))).unwrap();
    assert_eq!(crops.count(), 4, "refused uploads leave no file");
    // A picture that cannot be saved (its folder replaced by a file) is not counted.
    with_crops_unwritable(dir.path(), id, || {
        let a = post_pictures(station.addr, &format!("/api/slides/{id}/cells"), &parts);
        assert!((400..600).contains(&a.status), "{}", a.text());
        assert!(
            a.json()["error"].as_str().unwrap().contains("not saved"),
            "{}",
            a.text()
        );
    });
    let v = request(station.addr, "GET", &format!("/api/slides/{id}"), &[], b"").json();
    assert_eq!(
        v["cells"].as_array().unwrap().len(),
        4,
        "nothing journaled: {v}"
    );

    // Reviews: cell 1 corrected, cell 2 moved to unidentified, stamped on the station's
    // own monotonic clock.
    std::thread::sleep(std::time::Duration::from_millis(5));
    for (seq, label) in [(1, "lymphocyte"), (2, "unidentified")] {
        let body = format!(r#"{{"label": "{label}", "reviewer": "Ana"}}"#);
        let a = post_json(
            station.addr,
            &format!("/api/slides/{id}/cells/{seq}"),
            &body,
        );
        assert_eq!(a.status, 200, "{}", a.text());
    }
    let journal = std::fs::read_to_string(dir.path().join(format!("journal/{id}.jsonl"))).unwrap();
    for line in journal.lines().filter(|l| l.contains("cell_reviewed")) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["at"]["mono_ms"].as_u64().unwrap() > 0, "{line}");
    }

    // Export: only the reviewed, identified cell, under the reviewer's class.
    let a = post_json(station.addr, &format!("/api/slides/{id}/export"), "");
    assert_eq!(a.status, 200, "{}", a.text());
    let v = a.json();
    assert_eq!(v["summary"]["written"]["lymphocyte"], 1, "{v}");
    assert_eq!(v["summary"]["unidentified"], 1);
    assert_eq!(v["summary"]["unreviewed"], 2);
    let exported = dir
        .path()
        .join(format!("exports/{id}/lymphocyte/{id}-00001.jpg"));
    assert!(exported.is_file(), "{v}");
    let a = post_json(station.addr, "/api/slides/..%2Fx/export", "");
    assert_eq!(a.status, 400, "{}", a.text());

    // The same from the command line, into a folder of one's choice.
    let out = tempfile::tempdir().unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_hematovision"))
        .args(["export-cells", "--data-dir"])
        .arg(dir.path())
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("1 reviewed cell(s) from 2 slide(s)")
            && stdout.contains("3 unreviewed, 1 moved to unidentified"),
        "{stdout}"
    );
    assert!(
        out.path()
            .join(format!("lymphocyte/{id}-00001.jpg"))
            .is_file()
    );
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_hematovision"))
        .args(["export-cells", "--data-dir"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("no journal/ folder"));
}

#[test]
fn an_unfamiliar_upload_is_shown_and_saved_as_unidentified() {
    let dir = tempfile::tempdir().unwrap();
    let id = "20250106T000000Z";
    make_slide(dir.path(), id, &[[0.1, 0.9]], false);
    // A confident answer the gate flags: unsure whatever the confidence.
    let gated = Box::new(Always::new(&LABELS, vec![0.05, 0.95]).unfamiliar());
    let station = serve(dir.path(), gated, Setup::default());
    let picture = jpeg(48, 40, [120, 60, 160]);
    let parts = [("image", "odd.jpg", picture.as_slice())];
    let v = post_pictures(station.addr, "/api/classify", &parts).json();
    assert_eq!(v["images"][0]["label"], "neutrophil", "{v}");
    assert_eq!(v["images"][0]["unfamiliar"], true, "{v}");
    assert_eq!(v["images"][0]["unsure"], true, "{v}");

    let a = post_pictures(station.addr, &format!("/api/slides/{id}/cells"), &parts);
    assert_eq!(a.status, 200, "{}", a.text());
    let slide = request(station.addr, "GET", &format!("/api/slides/{id}"), &[], b"").json();
    assert_eq!(slide["unidentified"], 1, "{slide}");
    assert_eq!(slide["unfamiliar"], 1, "{slide}");
    assert_eq!(
        slide["counts"]["neutrophil"], 1,
        "only the first cell: {slide}"
    );
    assert_eq!(slide["cells"][1]["unfamiliar"], true, "{slide}");
    assert_eq!(slide["cells"][1]["final_label"], "unidentified", "{slide}");
    let page = request(
        station.addr,
        "GET",
        &format!("/slides/{id}/report.html"),
        &[],
        b"",
    );
    let text = page.text();
    assert!(text.contains("UNFAMILIAR"), "{text}");
    assert!(text.contains("check them by eye"), "{text}");
}
