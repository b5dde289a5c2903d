//! The troubleshooting table of `docs/INSTALL.md` (for whoever installs the device) and the
//! error table of `docs/TECHNICIAN.md` (for the technician at the microscope) say, for every
//! code the screen can show, exactly what the daemon's [`ErrorCode`] says: neither doc can
//! drift from the code.

use std::path::PathBuf;

use hematovision::hw::display::screens;
use hematovision::hw::display::{ErrorCode, Status};

fn install_md() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/INSTALL.md");
    std::fs::read_to_string(&path).unwrap()
}

/// The table row documenting `code`.
fn row(code: ErrorCode) -> String {
    format!(
        "| ERR {} | {} | {} |",
        code.code(),
        code.meaning(),
        code.fix()
    )
}

#[test]
fn install_md_documents_every_error_code_as_the_daemon_defines_it() {
    let doc = install_md();
    for code in ErrorCode::ALL {
        assert!(
            doc.lines().any(|l| l == row(code)),
            "docs/INSTALL.md has no row, or an outdated one, for {code}; expected:\n{}",
            row(code)
        );
    }
    // No row for a code the daemon does not have.
    let rows = doc.lines().filter(|l| l.starts_with("| ERR ")).count();
    assert_eq!(rows, ErrorCode::ALL.len(), "stale rows in docs/INSTALL.md");
}

#[test]
fn the_technician_page_explains_every_error_code_and_the_readme_links_it() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/TECHNICIAN.md")).unwrap();
    for code in ErrorCode::ALL {
        let row = format!(
            "| ERR {} | {} | {} |",
            code.code(),
            code.meaning(),
            code.at_the_microscope()
        );
        assert!(
            doc.lines().any(|l| l == row),
            "docs/TECHNICIAN.md has no row, or an outdated one, for {code}; expected:\n{row}"
        );
    }
    let rows = doc.lines().filter(|l| l.starts_with("| ERR ")).count();
    assert_eq!(
        rows,
        ErrorCode::ALL.len(),
        "stale rows in docs/TECHNICIAN.md"
    );
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains("(docs/TECHNICIAN.md)"),
        "the README must link the technician's page"
    );
}

#[test]
fn the_screen_shows_each_code_with_its_meaning() {
    for code in ErrorCode::ALL {
        let status = Status::from(code);
        assert_eq!(
            screens::status_text(&status),
            format!("ERR {}", code.code())
        );
        assert_eq!(screens::status_hint(&status), code.meaning());
    }
    // A code that is not one of them points to the log.
    assert_eq!(
        screens::status_hint(&Status::Error("E12".into())),
        "DETAILS IN LOG"
    );
}
