//! Runs the live-mode evaluation until the `live-eval` subcommand is wired:
//! `cargo run --release --example live_eval -- [SCENARIO] [--json]`.

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let name = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(String::as_str);
    let options = hematovision::live::LiveEvalOptions::default();
    let reports = hematovision::live::live_eval(name, &options, None)?;
    if json {
        for r in &reports {
            println!("{}", serde_json::to_string(r)?);
        }
    } else {
        hematovision::live::print_reports(&reports, &mut std::io::stdout())?;
    }
    Ok(())
}
