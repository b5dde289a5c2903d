//! A one-line progress bar on standard error, for the commands that take a while.

use std::io::Write;

/// Redraws `what [#####     ] done/total` over the current line of standard error; the
/// last step ends the line.
pub fn draw(what: &str, done: usize, total: usize) {
    let width = 30;
    let filled = (done * width)
        .checked_div(total)
        .unwrap_or(width)
        .min(width);
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "\r{what}[{}{}] {done}/{total}",
        "#".repeat(filled),
        " ".repeat(width - filled)
    );
    if done == total {
        let _ = writeln!(err);
    }
}
