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
