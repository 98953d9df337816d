//! Where a runtime's `console.log` (and `debug`, `info`, `warn`, `error`)
//! goes. Chosen on the factory options; each runtime keeps its own buffer.

use std::io::Write;

/// Severity of a console line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// `console.debug`
    Debug,
    /// `console.info`
    Info,
    /// `console.log`
    Log,
    /// `console.warn`
    Warn,
    /// `console.error`
    Error,
}

impl LogLevel {
    pub(crate) fn from_abi(level: i32) -> Self {
        match level {
            0 => LogLevel::Debug,
            1 => LogLevel::Info,
            3 => LogLevel::Warn,
            4 => LogLevel::Error,
            _ => LogLevel::Log,
        }
    }
}

/// One line of console output.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConsoleLine {
    /// Its level.
    pub level: LogLevel,
    /// The text (arguments joined by spaces, objects as JSON).
    pub message: String,
}

/// The console policy of a factory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConsoleOutput {
    /// Dropped (the default: a plugin cannot write to the host's streams
    /// unless the embedder says so).
    #[default]
    Discard,
    /// `log`/`info`/`debug` to the host's stdout, `warn`/`error` to stderr.
    Inherit,
    /// Everything to the host's stderr (what the CLI does).
    Stderr,
    /// Kept in the runtime; read with [`crate::Runtime::take_console`].
    Capture,
}

/// A runtime's console state.
pub(crate) struct Console {
    pub(crate) output: ConsoleOutput,
    pub(crate) lines: Vec<ConsoleLine>,
    pub(crate) bytes: usize,
    pub(crate) dropped: u64,
}

impl Console {
    pub(crate) fn new(output: ConsoleOutput) -> Self {
        Console { output, lines: Vec::new(), bytes: 0, dropped: 0 }
    }

    pub(crate) fn write(&mut self, level: LogLevel, message: String, max_bytes: usize) {
        if self.output == ConsoleOutput::Discard {
            return;
        }
        if self.bytes + message.len() > max_bytes {
            self.dropped += message.len() as u64;
            return;
        }
        self.bytes += message.len();
        match self.output {
            ConsoleOutput::Discard => {}
            ConsoleOutput::Capture => self.lines.push(ConsoleLine { level, message }),
            ConsoleOutput::Inherit if level < LogLevel::Warn => {
                let _ = writeln!(std::io::stdout().lock(), "{message}");
            }
            ConsoleOutput::Inherit | ConsoleOutput::Stderr => {
                let _ = writeln!(std::io::stderr().lock(), "{message}");
            }
        }
    }
}
