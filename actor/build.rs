//! Compiles the game profiles (`games/<name>/profile.toml`, and the benchmark file a
//! profile names) into the binary, so the actor carries its per-game defaults wherever
//! it runs. Generates `$OUT_DIR/profiles.rs`: `PROFILES: &[(name, profile text,
//! benchmark text)]`, read by `src/profile.rs`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let games = manifest.join("../games");
    println!("cargo:rerun-if-changed={}", games.display());
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&games)
        .unwrap_or_else(|e| panic!("cannot read the game profiles in {}: {e}", games.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("profile.toml").is_file())
        .collect();
    dirs.sort();
    let mut code = String::from("pub static PROFILES: &[(&str, &str, Option<&str>)] = &[\n");
    for dir in dirs {
        let profile = dir.join("profile.toml");
        println!("cargo:rerun-if-changed={}", profile.display());
        let text = std::fs::read_to_string(&profile).unwrap_or_else(|e| panic!("{}: {e}", profile.display()));
        let table: toml::Table = text.parse().unwrap_or_else(|e| panic!("{}: {e}", profile.display()));
        let name =
            table.get("name").and_then(|v| v.as_str()).unwrap_or_else(|| panic!("{}: no name", profile.display()));
        let folder = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        assert_eq!(name, folder, "{}: name must equal the folder's name", profile.display());
        let bench = table
            .get("eval")
            .and_then(|e| e.get("benchmark"))
            .and_then(|b| b.as_str())
            .unwrap_or_else(|| panic!("{}: [eval] benchmark is missing", profile.display()));
        let bench_file = match bench {
            "" | "solve" => None,
            file => Some(dir.join(file)),
        };
        let bench_code = match &bench_file {
            Some(f) => {
                assert!(f.is_file(), "{}: benchmark file {} does not exist", profile.display(), f.display());
                println!("cargo:rerun-if-changed={}", f.display());
                format!("Some(include_str!({:?}))", abs(f))
            }
            None => "None".to_string(),
        };
        writeln!(code, "    ({name:?}, include_str!({:?}), {bench_code}),", abs(&profile)).unwrap();
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("profiles.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}

fn abs(p: &Path) -> String {
    p.canonicalize().unwrap_or_else(|e| panic!("{}: {e}", p.display())).display().to_string()
}
