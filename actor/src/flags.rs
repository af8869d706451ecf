//! Validation of command-line values, shared by every module that declares flags
//! (`config`, `search`, `nn`, `play`): the error that names the flag, and the range
//! check. Lowest in the module order, so flag-declaring modules need not import
//! `config`.

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    UnknownGame(#[from] engine_core::UnknownGame),
    #[error("unknown search {name:?}: known searches are {known}")]
    UnknownSearch { name: String, known: String },
    #[error("the solver is a switch of the puct search, not of {0}")]
    SolverNeedsPuct(&'static str),
    #[error("--{flag} must be {range}, got {value}")]
    OutOfRange { flag: &'static str, range: &'static str, value: String },
    #[error("--host {0:?} is not an IP address (use 127.0.0.1, or 0.0.0.0 to listen on every interface)")]
    BadHost(String),
    #[error("--eval-baselines: {0}")]
    BadBaseline(String),
    #[error("--trainer-url {0:?} must start with http:// (the trainer's control API, e.g. http://127.0.0.1:8081)")]
    BadTrainerUrl(String),
}

/// `value` if it lies in `lo..=hi`, else an error naming `--flag` and `range`.
pub fn check<T: PartialOrd + std::fmt::Display>(
    flag: &'static str,
    value: T,
    lo: T,
    hi: T,
    range: &'static str,
) -> Result<T, ConfigError> {
    if value >= lo && value <= hi {
        Ok(value)
    } else {
        Err(ConfigError::OutOfRange { flag, range, value: value.to_string() })
    }
}
