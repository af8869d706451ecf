//! `actor`: see `actor --help` and actor/README.md.

fn main() {
    if let Err(e) = actor::cli::main_entry() {
        // `{:#}` prints the whole context chain on one line: "invalid arguments: --threads must be ...".
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
