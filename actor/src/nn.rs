//! ONNX Runtime: finding and loading the library, loading model files that match
//! docs/CONTRACTS.md §3, evaluating batches, and watching `models/latest.onnx` for new
//! versions.
//!
//! The runtime is loaded dynamically (the `libonnxruntime.so.1.*` inside the PyPI
//! `onnxruntime` wheel of the project's virtual environment), once, in `main`, before
//! any thread starts.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use engine_core::{Game, GameSpec};
use ort::environment::Environment;
use ort::session::Session;
use ort::value::TensorRef;

use crate::search::{EvalOutput, Evaluator, SearchError};

/// How to get the library. `ort` is built with the `api-22` feature, so ONNX Runtime
/// 1.22 or newer loads (the wheel ships 1.31); `ort` refuses older ones with a message
/// naming both versions, and this hint is added to it.
pub const ORT_HINT: &str = "install it with `.venv/bin/pip install onnxruntime` (or run ./start_training.sh, which creates .venv), or pass --ort-lib /path/to/libonnxruntime.so.1.x / set ORT_DYLIB_PATH";

#[derive(Debug, thiserror::Error)]
pub enum NnError {
    #[error("ONNX Runtime library not found (looked in: {searched}); {hint}")]
    LibraryNotFound { searched: String, hint: &'static str },
    #[error("cannot load ONNX Runtime from {path}: {reason}; {hint}")]
    LibraryLoad { path: PathBuf, reason: String, hint: &'static str },
    #[error("ONNX Runtime is not initialised (call nn::init_runtime first)")]
    NotInitialised,
    #[error("cannot read model {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("model {path} is not a loadable ONNX model: {reason}")]
    Load { path: PathBuf, reason: String },
    #[error("model {path} does not match this actor: {reason}")]
    Mismatch { path: PathBuf, reason: String },
    #[error("inference failed: {0}")]
    Run(String),
    #[error("{0}")]
    Device(String),
}

/// Where a session runs its graph.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Device {
    /// ONNX Runtime's CPU provider (the default, and the only one a plain build has).
    #[default]
    Cpu,
    /// The CUDA provider of an `onnxruntime-gpu` library; needs the `cuda` cargo feature.
    Cuda,
}

impl std::str::FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> Result<Device, String> {
        match s {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda),
            other => Err(format!("unknown device {other:?} (cpu or cuda)")),
        }
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
        })
    }
}

/// Which published file of a model a watcher plays: the fp32 `latest.onnx` or the int8
/// `latest.int8.onnx` the trainer quantizes, checks and publishes beside it (same step).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Always the fp32 file.
    Fp32,
    /// The int8 file when there is one of the same step, else fp32 (with a log line).
    Int8,
    /// int8 on the CPU (where its kernels are faster), fp32 on CUDA.
    #[default]
    Auto,
}

impl Precision {
    /// Whether a session on `device` should look for the int8 file.
    pub fn wants_int8(self, device: Device) -> bool {
        match self {
            Precision::Fp32 => false,
            Precision::Int8 => true,
            Precision::Auto => device == Device::Cpu,
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Precision, String> {
        match s {
            "fp32" => Ok(Precision::Fp32),
            "int8" => Ok(Precision::Int8),
            "auto" => Ok(Precision::Auto),
            other => Err(format!("unknown precision {other:?} (fp32, int8 or auto)")),
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::Fp32 => "fp32",
            Precision::Int8 => "int8",
            Precision::Auto => "auto",
        })
    }
}

/// The int8 file the trainer publishes beside `path`: `latest.onnx` → `latest.int8.onnx`.
pub fn int8_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let stem = name.strip_suffix(".onnx").unwrap_or(&name);
    path.with_file_name(format!("{stem}.int8.onnx"))
}

/// Session options shared by self-play, the benchmark's raw measurement and play, so
/// the benchmark measures the runtime exactly as self-play configures it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionSettings {
    /// ONNX Runtime intra-op threads.
    pub intra_threads: usize,
    pub device: Device,
    pub tuning: SessionTuning,
}

impl SessionSettings {
    pub fn cpu(intra_threads: usize) -> SessionSettings {
        SessionSettings { intra_threads, device: Device::Cpu, tuning: SessionTuning::default() }
    }
}

/// ONNX Runtime session options that `actor bench` compares (docs/BENCHMARKS.md); the
/// defaults are the ones kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionTuning {
    /// Graph optimisation level.
    pub opt_level: OptLevel,
    /// The CPU provider's memory arena (buffers reused between runs).
    pub cpu_arena: bool,
    /// Intra-op worker threads spin while waiting for work (only with more than one).
    pub spinning: bool,
}

impl Default for SessionTuning {
    fn default() -> Self {
        SessionTuning { opt_level: OptLevel::All, cpu_arena: true, spinning: true }
    }
}

/// ONNX Runtime's graph optimisation levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OptLevel {
    Disable,
    Basic,
    Extended,
    All,
}

impl OptLevel {
    fn ort(self) -> ort::session::builder::GraphOptimizationLevel {
        use ort::session::builder::GraphOptimizationLevel as L;
        match self {
            OptLevel::Disable => L::Disable,
            OptLevel::Basic => L::Level1,
            OptLevel::Extended => L::Level2,
            OptLevel::All => L::All,
        }
    }
}

/// The ONNX Runtime flags of every command that runs a network (declared once,
/// flattened into each).
#[derive(clap::Args, Clone, Debug)]
pub struct OnnxArgs {
    /// libonnxruntime.so.1.x to load (else $ORT_DYLIB_PATH, else .venv/.../onnxruntime/capi/).
    #[arg(long)]
    pub ort_lib: Option<PathBuf>,
    /// ONNX Runtime intra-op threads per session.
    #[arg(long, default_value_t = 1)]
    pub intra_threads: usize,
    /// Where the network runs: cpu, or cuda (a build with `--features cuda` and the
    /// onnxruntime-gpu library).
    #[arg(long, default_value = "cpu")]
    pub device: Device,
    /// ONNX Runtime graph optimisation level.
    #[arg(long, value_enum, default_value = "all")]
    pub ort_opt_level: OptLevel,
    /// The CPU provider's memory arena.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub ort_cpu_arena: bool,
    /// Intra-op threads spin while waiting (matters with --intra-threads above 1).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub ort_spinning: bool,
}

impl OnnxArgs {
    /// The flags with their ranges checked.
    pub fn validate(&self) -> Result<OnnxArgs, crate::flags::ConfigError> {
        crate::flags::check("intra-threads", self.intra_threads, 1, 256, "between 1 and 256")?;
        Ok(self.clone())
    }

    /// Session settings for models these flags load.
    pub fn session(&self) -> SessionSettings {
        SessionSettings {
            intra_threads: self.intra_threads,
            device: self.device,
            tuning: SessionTuning {
                opt_level: self.ort_opt_level,
                cpu_arena: self.ort_cpu_arena,
                spinning: self.ort_spinning,
            },
        }
    }

    /// Loads ONNX Runtime (and checks the device) before any model is loaded.
    pub fn init(&self) -> Result<PathBuf, NnError> {
        let lib = init_runtime(self.ort_lib.as_deref())?;
        check_device(self.device)?;
        Ok(lib)
    }
}

/// Hint when CUDA was asked for and cannot be had.
#[cfg(feature = "cuda")]
const CUDA_HINT: &str = "install the GPU runtime (`.venv/bin/pip install onnxruntime-gpu`, CUDA 12 and cuDNN 9 on the library path) and point ORT_DYLIB_PATH or --ort-lib at its libonnxruntime.so.1.*";

/// Checks, before any model is loaded, that sessions can run on `device`, so
/// `--device cuda` stops the actor with the reason instead of every model load being
/// rejected. Call after [`init_runtime`].
pub fn check_device(device: Device) -> Result<(), NnError> {
    let env = ENV.get().ok_or(NnError::NotInitialised)?;
    let builder = Session::builder(env).map_err(|e| NnError::Device(e.to_string()))?;
    with_device(builder, device).map(|_| ())
}

/// Adds the execution provider for `device` to a session builder. CPU needs nothing;
/// CUDA is registered with `error_on_failure`, so a missing provider is an error
/// rather than ONNX Runtime's silent fall-back to the CPU.
fn with_device(
    builder: ort::session::builder::SessionBuilder,
    device: Device,
) -> Result<ort::session::builder::SessionBuilder, NnError> {
    match device {
        Device::Cpu => Ok(builder),
        #[cfg(feature = "cuda")]
        Device::Cuda => {
            use ort::ep::ExecutionProvider;
            let available = ort::ep::CUDA::is_available().unwrap_or(false);
            if !available {
                return Err(NnError::Device(format!(
                    "--device cuda: this ONNX Runtime library has no CUDA execution provider; {CUDA_HINT}"
                )));
            }
            builder
                .with_execution_providers([ort::ep::CUDA::default().build().error_on_failure()])
                .map_err(|e| NnError::Device(format!("--device cuda: the CUDA execution provider failed to start: {e}; {CUDA_HINT}")))
        }
        #[cfg(not(feature = "cuda"))]
        Device::Cuda => Err(NnError::Device(
            "--device cuda: this actor was built without CUDA support; rebuild with `cargo build --release -p actor --features cuda`".to_string(),
        )),
    }
}

static ENV: OnceLock<Environment> = OnceLock::new();

/// Where the library is looked for, in order: `explicit` (`--ort-lib`), then
/// `ORT_DYLIB_PATH`, then `.venv/lib/python3*/site-packages/onnxruntime/capi/
/// libonnxruntime.so.1.*` under the current folder and every ancestor folder of the
/// current folder and of the executable.
pub fn find_ort_library(explicit: Option<&Path>) -> Result<PathBuf, NnError> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(NnError::LibraryNotFound {
                searched: format!("--ort-lib {} (no such file)", p.display()),
                hint: ORT_HINT,
            })
        };
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(NnError::LibraryNotFound {
                searched: format!("ORT_DYLIB_PATH={} (no such file)", p.display()),
                hint: ORT_HINT,
            })
        };
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            roots.extend(dir.ancestors().map(Path::to_path_buf));
        }
    }
    roots.dedup();
    for root in &roots {
        if let Some(p) = find_in_venv(&root.join(".venv")) {
            return Ok(p);
        }
    }
    Err(NnError::LibraryNotFound {
        searched: format!(
            "--ort-lib, ORT_DYLIB_PATH, .venv/lib/python3*/site-packages/onnxruntime/capi/ under {}",
            roots.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        ),
        hint: ORT_HINT,
    })
}

/// The newest `libonnxruntime.so.1.*` in a virtual environment, if any.
fn find_in_venv(venv: &Path) -> Option<PathBuf> {
    let lib = venv.join("lib");
    let mut found: Vec<PathBuf> = Vec::new();
    for py in std::fs::read_dir(&lib).ok()?.flatten() {
        if !py.file_name().to_string_lossy().starts_with("python3") {
            continue;
        }
        let capi = py.path().join("site-packages/onnxruntime/capi");
        for f in std::fs::read_dir(&capi).into_iter().flatten().flatten() {
            let name = f.file_name().to_string_lossy().to_string();
            if name.starts_with("libonnxruntime.so.1.") {
                found.push(f.path());
            }
        }
    }
    found.sort();
    found.pop()
}

/// Loads ONNX Runtime (once per process) and returns the library's path. Safe to call
/// again; later calls return the environment already made.
pub fn init_runtime(explicit: Option<&Path>) -> Result<PathBuf, NnError> {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    if let Some(p) = PATH.get() {
        return Ok(p.clone());
    }
    let path = find_ort_library(explicit)?;
    let builder = ort::init_from(&path).map_err(|e| NnError::LibraryLoad {
        path: path.clone(),
        reason: e.to_string(),
        hint: ORT_HINT,
    })?;
    let env = builder.with_name("cartridge-actor").with_telemetry(false).build().map_err(|e| NnError::LibraryLoad {
        path: path.clone(),
        reason: e.to_string(),
        hint: ORT_HINT,
    })?;
    let _ = ENV.set(env);
    let _ = PATH.set(path.clone());
    Ok(path)
}

/// Whether [`init_runtime`] has succeeded in this process.
pub fn runtime_ready() -> bool {
    ENV.get().is_some()
}

/// What a model file says about itself (its `cartridge.*` metadata, §3).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ModelInfo {
    pub path: PathBuf,
    pub game: String,
    pub obs_version: u32,
    pub obs_shape: [usize; 3],
    pub num_actions: usize,
    pub arch: Option<String>,
    /// `cartridge.step`: the model version.
    pub step: i64,
    /// `cartridge.precision`: "int8" for a quantized file, "fp32" when absent.
    pub precision: String,
}

/// A loaded model. The session is behind a mutex because running it needs `&mut`;
/// each self-play worker loads its own, so the lock is only shared with nobody or with
/// HTTP play requests.
pub struct NnModel {
    session: Mutex<Session>,
    pub info: ModelInfo,
    /// `value` output is `[N]` rather than `[N, 1]`; both are accepted.
    obs_len: usize,
}

impl std::fmt::Debug for NnModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NnModel").field("info", &self.info).finish()
    }
}

fn meta_field(path: &Path, meta: &ort::session::ModelMetadata<'_>, key: &str) -> Result<String, NnError> {
    meta.custom(key).ok_or_else(|| NnError::Mismatch {
        path: path.to_path_buf(),
        reason: format!("metadata property `{key}` is missing (docs/CONTRACTS.md §3)"),
    })
}

impl NnModel {
    /// Loads `path` and checks it against `spec` (game, obs_version, obs_shape,
    /// num_actions, input/output names), then runs one dummy batch to check the output
    /// shapes.
    pub fn load(path: &Path, spec: &GameSpec, intra_threads: usize) -> Result<NnModel, NnError> {
        NnModel::load_with(path, spec, SessionSettings::cpu(intra_threads))
    }

    /// [`NnModel::load`] with explicit session settings (threads, device).
    pub fn load_with(path: &Path, spec: &GameSpec, settings: SessionSettings) -> Result<NnModel, NnError> {
        let env = ENV.get().ok_or(NnError::NotInitialised)?;
        // Read the bytes first: the trainer may replace the file at any moment, and a
        // single read sees one whole version (the rename is atomic).
        let bytes =
            std::fs::read(path).map_err(|e| NnError::Read { path: path.to_path_buf(), reason: e.to_string() })?;
        let load_err = |reason: String| NnError::Load { path: path.to_path_buf(), reason };
        let builder = Session::builder(env)
            .map_err(|e| load_err(e.to_string()))?
            .with_optimization_level(settings.tuning.opt_level.ort())
            .map_err(|e| load_err(e.to_string()))?
            .with_intra_threads(settings.intra_threads.max(1))
            .map_err(|e| load_err(e.to_string()))?
            .with_inter_threads(1)
            .map_err(|e| load_err(e.to_string()))?
            .with_intra_op_spinning(settings.tuning.spinning)
            .map_err(|e| load_err(e.to_string()))?;
        let builder = if settings.device == Device::Cpu && !settings.tuning.cpu_arena {
            builder
                .with_execution_providers([ort::ep::CPU::default().with_arena_allocator(false).build()])
                .map_err(|e| load_err(e.to_string()))?
        } else {
            builder
        };
        let session =
            with_device(builder, settings.device)?.commit_from_memory(&bytes).map_err(|e| load_err(e.to_string()))?;

        let mismatch = |reason: String| NnError::Mismatch { path: path.to_path_buf(), reason };
        let meta = session.metadata().map_err(|e| load_err(e.to_string()))?;
        let game = meta_field(path, &meta, "cartridge.game")?;
        let obs_version_s = meta_field(path, &meta, "cartridge.obs_version")?;
        let obs_shape_s = meta_field(path, &meta, "cartridge.obs_shape")?;
        let num_actions_s = meta_field(path, &meta, "cartridge.num_actions")?;
        let step_s = meta_field(path, &meta, "cartridge.step")?;
        let arch = meta.custom("cartridge.arch");
        let precision = meta.custom("cartridge.precision").unwrap_or_else(|| "fp32".to_string());
        drop(meta);

        if game != spec.name {
            return Err(mismatch(format!("it is a model for {game:?}, this actor plays {:?}", spec.name)));
        }
        let obs_version: u32 = obs_version_s
            .trim()
            .parse()
            .map_err(|_| mismatch(format!("cartridge.obs_version {obs_version_s:?} is not a number")))?;
        if obs_version != spec.obs_version {
            return Err(mismatch(format!(
                "obs_version {obs_version}, this actor encodes version {}",
                spec.obs_version
            )));
        }
        let dims: Vec<usize> = obs_shape_s
            .split(',')
            .map(|d| d.trim().parse::<usize>())
            .collect::<Result<_, _>>()
            .map_err(|_| mismatch(format!("cartridge.obs_shape {obs_shape_s:?} is not C,H,W")))?;
        let expected_shape = spec.obs_shape();
        if dims.as_slice() != expected_shape.as_slice() {
            return Err(mismatch(format!(
                "obs_shape {obs_shape_s}, this actor's is {}",
                expected_shape.map(|d| d.to_string()).join(",")
            )));
        }
        let num_actions: usize = num_actions_s
            .trim()
            .parse()
            .map_err(|_| mismatch(format!("cartridge.num_actions {num_actions_s:?} is not a number")))?;
        if num_actions != spec.num_actions {
            return Err(mismatch(format!("num_actions {num_actions}, this actor's game has {}", spec.num_actions)));
        }
        let step: i64 =
            step_s.trim().parse().map_err(|_| mismatch(format!("cartridge.step {step_s:?} is not a number")))?;

        let inputs: Vec<&str> = session.inputs().iter().map(|o| o.name()).collect();
        if !inputs.contains(&"obs") {
            return Err(mismatch(format!("no input named `obs` (inputs: {inputs:?})")));
        }
        let outputs: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
        for want in ["policy", "value"] {
            if !outputs.contains(&want) {
                return Err(mismatch(format!("no output named `{want}` (outputs: {outputs:?})")));
            }
        }

        let model = NnModel {
            session: Mutex::new(session),
            info: ModelInfo {
                path: path.to_path_buf(),
                game,
                obs_version,
                obs_shape: expected_shape,
                num_actions,
                arch,
                step,
                precision,
            },
            obs_len: spec.obs_len(),
        };
        // A model can carry the right metadata and still compute the wrong shapes.
        let probe = vec![0.0f32; 2 * model.obs_len];
        model.run(&probe, 2).map_err(|e| mismatch(format!("a test batch failed: {e}")))?;
        Ok(model)
    }

    /// Evaluates `n` observations (`n × C×H×W` floats): policy logits `[n × A]` and
    /// values `[n]`.
    pub fn run(&self, obs: &[f32], n: usize) -> Result<EvalOutput, NnError> {
        if obs.len() != n * self.obs_len {
            return Err(NnError::Run(format!("{} floats for {n} observations of {}", obs.len(), self.obs_len)));
        }
        if n == 0 {
            return Ok(EvalOutput::default());
        }
        let [c, h, w] = self.info.obs_shape;
        let shape = [n as i64, c as i64, h as i64, w as i64];
        let input = TensorRef::from_array_view((shape, obs)).map_err(|e| NnError::Run(e.to_string()))?;
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let outputs = session.run(ort::inputs!["obs" => input]).map_err(|e| NnError::Run(e.to_string()))?;
        let (pshape, policy) =
            outputs["policy"].try_extract_tensor::<f32>().map_err(|e| NnError::Run(format!("policy: {e}")))?;
        let a = self.info.num_actions;
        if pshape.len() != 2 || pshape[0] != n as i64 || pshape[1] != a as i64 {
            return Err(NnError::Run(format!("policy has shape {:?}, expected [{n}, {a}]", &pshape[..])));
        }
        let (vshape, value) =
            outputs["value"].try_extract_tensor::<f32>().map_err(|e| NnError::Run(format!("value: {e}")))?;
        let ok = matches!(&vshape[..], [m] if *m == n as i64) || matches!(&vshape[..], [m, 1] if *m == n as i64);
        if !ok {
            return Err(NnError::Run(format!("value has shape {:?}, expected [{n}] or [{n}, 1]", &vshape[..])));
        }
        Ok(EvalOutput { logits: policy.to_vec(), values: value.to_vec() })
    }
}

/// [`Evaluator`] over a shared [`NnModel`].
#[derive(Clone, Debug)]
pub struct NnEvaluator(pub Arc<NnModel>);

impl<G: Game> Evaluator<G> for NnEvaluator {
    fn evaluate(&mut self, states: &[G], obs: &[f32]) -> Result<EvalOutput, SearchError> {
        self.0.run(obs, states.len()).map_err(|e| SearchError::Evaluator(e.to_string()))
    }

    fn model_version(&self) -> Option<i64> {
        Some(self.0.info.step)
    }

    /// The step and the precision: the fp32 and int8 files of one step answer alike,
    /// but not exactly.
    fn cache_identity(&self) -> Option<i64> {
        Some(self.0.info.step.wrapping_mul(2) + i64::from(self.0.info.precision == "int8"))
    }
}

/// A file's identity, to notice a replaced `latest.onnx` cheaply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileSig {
    pub modified: Option<SystemTime>,
    pub len: u64,
    pub inode: u64,
}

pub fn file_sig(path: &Path) -> Option<FileSig> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(FileSig { modified: m.modified().ok(), len: m.len(), inode: m.ino() })
}

/// What a poll of the models folder found.
#[derive(Debug)]
pub enum WatchEvent {
    Unchanged,
    Loaded(ModelInfo),
    /// The fp32 file was loaded, although the precision asked for int8: `reason` says
    /// why (no int8 file, one of another step, or one that failed to load).
    Fallback {
        info: ModelInfo,
        reason: String,
    },
    Rejected {
        path: PathBuf,
        reason: String,
    },
}

/// The published model files a watcher can follow: `latest.onnx`, which the trainer
/// replaces with every publish (docs/CONTRACTS.md §4), and `best.onnx`, which the
/// evaluator replaces when a candidate wins its gating match (§8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModelFile {
    Latest,
    Best,
}

impl ModelFile {
    pub fn file_name(self) -> &'static str {
        match self {
            ModelFile::Latest => "latest.onnx",
            ModelFile::Best => "best.onnx",
        }
    }
}

/// Watches `DATA_DIR/models/latest.onnx` (or another [`ModelFile`], see
/// [`ModelWatcher::watching`]) by polling its inode, size and mtime (cheap: one
/// `stat`), at most every `interval`. The trainer publishes by rename, so a new
/// inode means a complete new file. A file that fails to load is remembered and not
/// retried until it changes; the model in use stays.
///
/// With a [`Precision`] that wants int8, the watcher plays `latest.int8.onnx` when it
/// holds the same step as `latest.onnx` (the trainer writes it first, so a new
/// `latest.onnx` finds its int8 file already there), and the fp32 file otherwise.
pub struct ModelWatcher {
    pub path: PathBuf,
    spec: &'static GameSpec,
    settings: SessionSettings,
    precision: Precision,
    interval: Duration,
    last_poll: Option<Instant>,
    seen: Option<FileSig>,
    seen_int8: Option<FileSig>,
    /// The step of the fp32 file last loaded, whichever file is played.
    fp32_step: Option<i64>,
    /// The fallback reason last reported, so an int8 file that never comes is said once.
    said_fallback: Option<String>,
    current: Option<Arc<NnModel>>,
}

impl ModelWatcher {
    pub fn new(models_dir: &Path, spec: &'static GameSpec, intra_threads: usize, interval: Duration) -> ModelWatcher {
        ModelWatcher {
            path: models_dir.join("latest.onnx"),
            spec,
            settings: SessionSettings::cpu(intra_threads),
            precision: Precision::Fp32,
            interval,
            last_poll: None,
            seen: None,
            seen_int8: None,
            fp32_step: None,
            said_fallback: None,
            current: None,
        }
    }

    /// Loads with these ONNX Runtime session options.
    pub fn with_tuning(mut self, tuning: SessionTuning) -> ModelWatcher {
        self.settings.tuning = tuning;
        self
    }

    /// Plays the int8 file beside the watched one when `precision` asks for it.
    pub fn with_precision(mut self, precision: Precision) -> ModelWatcher {
        self.precision = precision;
        self
    }

    /// Watches `file` in the same folder instead of `latest.onnx`.
    pub fn watching(mut self, file: ModelFile) -> ModelWatcher {
        self.path.set_file_name(file.file_name());
        self
    }

    /// Runs the sessions this watcher loads on `device`.
    pub fn with_device(mut self, device: Device) -> ModelWatcher {
        self.settings.device = device;
        self
    }

    pub fn current(&self) -> Option<Arc<NnModel>> {
        self.current.clone()
    }

    /// Checks the file (rate-limited) and loads it if it changed.
    pub fn poll(&mut self) -> WatchEvent {
        if let Some(t) = self.last_poll {
            if t.elapsed() < self.interval {
                return WatchEvent::Unchanged;
            }
        }
        self.poll_now()
    }

    /// Checks the file now, ignoring the rate limit.
    pub fn poll_now(&mut self) -> WatchEvent {
        self.last_poll = Some(Instant::now());
        let Some(sig) = file_sig(&self.path) else { return WatchEvent::Unchanged };
        let int8 = self.precision.wants_int8(self.settings.device).then(|| int8_path(&self.path));
        let sig8 = int8.as_deref().and_then(file_sig);
        let fp32_changed = self.seen != Some(sig);
        if !fp32_changed && self.seen_int8 == sig8 {
            return WatchEvent::Unchanged;
        }
        self.seen = Some(sig);
        self.seen_int8 = sig8;
        let fp32 = if fp32_changed {
            match NnModel::load_with(&self.path, self.spec, self.settings) {
                Ok(model) => {
                    self.fp32_step = Some(model.info.step);
                    Some(model)
                }
                Err(e) => {
                    self.fp32_step = None;
                    return WatchEvent::Rejected { path: self.path.clone(), reason: e.to_string() };
                }
            }
        } else {
            None
        };
        let Some(int8) = int8 else {
            return match fp32 {
                Some(model) => self.play(model, None),
                None => WatchEvent::Unchanged,
            };
        };
        let Some(step) = self.fp32_step else { return WatchEvent::Unchanged };
        let reason = if sig8.is_none() {
            format!("no {} beside it", file_name(&int8))
        } else {
            match NnModel::load_with(&int8, self.spec, self.settings) {
                Ok(model) if model.info.step == step => {
                    self.said_fallback = None;
                    return self.play(model, None);
                }
                Ok(model) => format!("{} holds step {}, not step {step}", file_name(&int8), model.info.step),
                Err(e) => e.to_string(),
            }
        };
        match fp32 {
            Some(model) => self.play(model, Some(reason)),
            // Only the int8 file changed, and it does not fit: keep what is played (the
            // trainer writes the int8 file of the next step just before its fp32 file).
            None => WatchEvent::Unchanged,
        }
    }

    /// Makes `model` the one played; `fallback` is why it is the fp32 file although
    /// int8 was asked for. The same reason twice in a row is reported once.
    fn play(&mut self, model: NnModel, fallback: Option<String>) -> WatchEvent {
        let info = model.info.clone();
        self.current = Some(Arc::new(model));
        match fallback {
            None => WatchEvent::Loaded(info),
            Some(reason) => {
                let kind = reason.replace(|c: char| c.is_ascii_digit(), "");
                if self.said_fallback.as_deref() == Some(kind.as_str()) {
                    return WatchEvent::Loaded(info);
                }
                self.said_fallback = Some(kind);
                WatchEvent::Fallback { info, reason }
            }
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_missing_library_is_a_clear_error() {
        let err = find_ort_library(Some(Path::new("/nonexistent/libonnxruntime.so.1.99"))).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("/nonexistent/libonnxruntime.so.1.99") && msg.contains("pip install onnxruntime"),
            "{msg}"
        );
    }

    #[test]
    fn venv_search_picks_the_versioned_library() {
        let dir = tempfile::tempdir().unwrap();
        let capi = dir.path().join(".venv/lib/python3.11/site-packages/onnxruntime/capi");
        std::fs::create_dir_all(&capi).unwrap();
        assert!(find_in_venv(&dir.path().join(".venv")).is_none());
        std::fs::write(capi.join("libonnxruntime_providers_shared.so"), b"").unwrap();
        std::fs::write(capi.join("libonnxruntime.so.1.31.1"), b"").unwrap();
        assert_eq!(find_in_venv(&dir.path().join(".venv")).unwrap(), capi.join("libonnxruntime.so.1.31.1"));
    }
}
