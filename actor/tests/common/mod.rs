//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Loads ONNX Runtime the way the binary finds it. Returns false (and says so loudly)
/// only when no library exists at all; a library that exists but fails to load fails
/// the test.
pub fn ort_available() -> bool {
    match actor::nn::find_ort_library(None) {
        Err(e) => {
            // run_tests.sh always provides the library; there a skip would hide a broken setup.
            if std::env::var_os("CARTRIDGE_REQUIRE_ORT").is_some() {
                panic!("CARTRIDGE_REQUIRE_ORT is set but ONNX Runtime is missing: {e}");
            }
            eprintln!("\n!!!!!!!! SKIPPING ONNX TEST: {e} !!!!!!!!\n");
            false
        }
        Ok(_) => {
            actor::nn::init_runtime(None).expect("ONNX Runtime exists but does not load");
            true
        }
    }
}

/// Publishes `src` as `models/latest.onnx` the way the trainer does: temp file in the
/// same folder, then rename.
pub fn publish(models: &Path, src: &Path) {
    std::fs::create_dir_all(models).unwrap();
    let tmp = models.join(".latest.onnx.tmp");
    std::fs::copy(src, &tmp).unwrap();
    std::fs::rename(&tmp, models.join("latest.onnx")).unwrap();
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until something accepts connections on `port` (at most 20 s).
pub fn wait_for_port(port: u16) {
    let t = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < std::time::Duration::from_secs(20), "server did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Starts `actor <args>` listening on `port`, with `data` as its data folder, no web
/// app (a missing folder under `tmp`) and its output discarded.
pub fn spawn_actor(args: &[&str], port: u16, data: &Path, tmp: &Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_actor"))
        .args(args)
        .args(["--port", &port.to_string()])
        .arg("--data-dir")
        .arg(data)
        .arg("--web-dir")
        .arg(tmp.join("no-web"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// A minimal HTTP/1.1 client (one request per connection): (status, body).
pub fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp.split(' ').nth(1).unwrap().parse().unwrap();
    let body = resp.split_once("\r\n\r\n").map(|x| x.1.to_string()).unwrap_or_default();
    (status, body)
}
