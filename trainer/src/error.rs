//! The trainer's one error type. Every variant keeps the facts a user needs to fix the input:
//! the file, line and field of a bad record, the registry path, the blob that was refused, the
//! parameter that is out of range. `Display` prints them; tests match on the variants.

use std::fmt;
use std::io;
use std::path::PathBuf;

use inference_core::blob::EncodeError;
use inference_core::{LoadError, ModelKind};

use std::path::Path;

/// Everything that can go wrong in the trainer.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Malformed or unreadable input data (file, line, field).
    Data(DataError),
    /// The registry could not be read or written.
    Registry(RegistryError),
    /// inference-core refused a blob (`path`: the file it came from, if any).
    Blob {
        /// File the blob was read from.
        path: Option<PathBuf>,
        /// Why it was refused.
        source: LoadError,
    },
    /// A model could not be encoded as a blob.
    Encode(EncodeError),
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A parameter (hyperparameter, option, cache geometry) is out of range.
    Param {
        /// Its name, as the user writes it.
        name: &'static str,
        /// What is wrong, with the value given.
        message: String,
    },
    /// A command-line value that does not parse (model name, `--data` spec, duration).
    Usage(String),
    /// The data is too small or empty for the model.
    NotEnoughData {
        /// The model.
        kind: ModelKind,
        /// What is missing.
        message: String,
    },
    /// The trained model is not fit to publish (undefined validation metric, or worse than a
    /// naive baseline) and `--allow-worse` was not given.
    Refused {
        /// The model.
        kind: ModelKind,
        /// Why.
        message: String,
    },
    /// A signing or anonymisation key is missing, malformed or cannot be used.
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A program the trainer runs is missing or cannot work here (strace, ptrace refused).
    Tool {
        /// The program.
        program: &'static str,
        /// What went wrong and how to fix it.
        message: String,
    },
    /// A remote data source (a Prometheus server) could not be queried or answered with an
    /// error or with nothing.
    Remote {
        /// What was asked: the server and the query.
        what: String,
        /// What went wrong.
        message: String,
    },
    /// An error while working on one model (prefixes the model's name).
    Model {
        /// The model.
        kind: ModelKind,
        /// What went wrong.
        source: Box<Error>,
    },
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A refused blob read from `path`.
    pub fn blob(path: impl Into<PathBuf>, source: LoadError) -> Error {
        Error::Blob {
            path: Some(path.into()),
            source,
        }
    }

    /// A key error on `path`.
    pub fn key(path: impl Into<PathBuf>, message: impl fmt::Display) -> Error {
        Error::Key {
            path: path.into(),
            message: message.to_string(),
        }
    }

    /// A parameter out of range.
    pub fn param(name: &'static str, message: impl fmt::Display) -> Error {
        Error::Param {
            name,
            message: message.to_string(),
        }
    }

    /// Names the file a refused blob came from (other errors unchanged).
    pub fn with_path(self, file: impl Into<PathBuf>) -> Error {
        match self {
            Error::Blob { path: None, source } => Error::blob(file, source),
            e => e,
        }
    }

    /// This error, while working on model `kind` (unchanged if it already names `kind`).
    pub fn in_model(self, kind: ModelKind) -> Error {
        match &self {
            Error::NotEnoughData { kind: k, .. }
            | Error::Refused { kind: k, .. }
            | Error::Model { kind: k, .. }
                if *k == kind =>
            {
                return self
            }
            _ => {}
        }
        Error::Model {
            kind,
            source: Box::new(self),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Data(e) => e.fmt(f),
            Error::Registry(e) => e.fmt(f),
            Error::Blob {
                path: Some(p),
                source,
            } => write!(f, "{}: {source}", p.display()),
            Error::Blob { path: None, source } => write!(f, "blob refused: {source}"),
            Error::Encode(e) => write!(f, "blob encoding: {e}"),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Param { name, message } => write!(f, "{name}: {message}"),
            Error::Usage(m) => f.write_str(m),
            Error::NotEnoughData { kind, message } => write!(f, "{kind}: {message}"),
            Error::Refused { kind, message } => write!(f, "{kind}: {message}"),
            Error::Key { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Tool { program, message } => write!(f, "{program}: {message}"),
            Error::Remote { what, message } => write!(f, "{what}: {message}"),
            Error::Model { kind, source } => write!(f, "{kind}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Data(e) => Some(e),
            Error::Registry(e) => Some(e),
            Error::Blob { source, .. } => Some(source),
            Error::Encode(e) => Some(e),
            Error::Io { source, .. } => Some(source),
            Error::Model { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

impl From<DataError> for Error {
    fn from(e: DataError) -> Error {
        Error::Data(e)
    }
}

impl From<RegistryError> for Error {
    fn from(e: RegistryError) -> Error {
        Error::Registry(e)
    }
}

impl From<EncodeError> for Error {
    fn from(e: EncodeError) -> Error {
        Error::Encode(e)
    }
}

impl From<LoadError> for Error {
    fn from(source: LoadError) -> Error {
        Error::Blob { path: None, source }
    }
}

/// The trainer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A data error that says where.
#[derive(Debug, Clone, PartialEq)]
pub struct DataError {
    /// File.
    pub path: PathBuf,
    /// 1-based line, when the error is in one.
    pub line: Option<usize>,
    /// Field name or column, when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl DataError {
    /// An error about a whole file.
    pub fn file(path: &Path, message: impl fmt::Display) -> DataError {
        DataError {
            path: path.to_path_buf(),
            line: None,
            field: None,
            message: message.to_string(),
        }
    }

    /// An error at a line (and field).
    pub fn at(path: &Path, line: usize, field: Option<&str>, message: impl fmt::Display) -> Self {
        DataError {
            path: path.to_path_buf(),
            line: Some(line),
            field: field.map(str::to_string),
            message: message.to_string(),
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for DataError {}

/// A registry error, naming the path involved.
#[derive(Debug)]
pub struct RegistryError {
    /// Path involved.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for RegistryError {}
