//! The daemon's log: text lines on stderr; under systemd, lines journald files at their level.
//!
//! systemd connects a service's stderr to journald and says so in `JOURNAL_STREAM`
//! (`DEVICE:INODE` of that stream, `systemd.exec(5)`). When it names our stderr, each line starts
//! with a `<N>` syslog priority, which journald's stream reader strips and records as the
//! entry's `PRIORITY` (`sd-daemon(3)`), and leaves out the time and colours (journald stamps
//! entries itself). Nothing else changes, so the same test can read the lines from a file: it
//! only has to give that file's `DEVICE:INODE` as `JOURNAL_STREAM`.

use tracing::Level;
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields, Writer};
use tracing_subscriber::registry::LookupSpan;

/// Whether `journal_stream` (`JOURNAL_STREAM`'s value) names the stream of `stat`
/// (device, inode).
pub fn names_stream(journal_stream: &str, stat: (u64, u64)) -> bool {
    let Some((dev, ino)) = journal_stream.trim().split_once(':') else { return false };
    dev.parse::<u64>().ok() == Some(stat.0) && ino.parse::<u64>().ok() == Some(stat.1)
}

/// Whether stderr goes to journald.
fn stderr_is_journal() -> bool {
    let Ok(v) = std::env::var("JOURNAL_STREAM") else { return false };
    let Ok(st) = nix::sys::stat::fstat(std::io::stderr()) else { return false };
    names_stream(&v, (st.st_dev, st.st_ino))
}

/// syslog's priority for a level (`sd-daemon.h`: `SD_ERR` … `SD_DEBUG`).
pub fn priority(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

/// A line for journald: `<N>` then the usual line without time and level.
#[derive(Debug)]
struct Journal(format::Format<format::Full, ()>);

impl<S, N> FormatEvent<S, N> for Journal
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        write!(w, "<{}>", priority(*event.metadata().level()))?;
        self.0.format_event(ctx, w, event)
    }
}

/// Installs the subscriber: `filter` is the env-filter directive; journald's format when
/// stderr goes to it. Returns whether it does.
pub fn init(filter: tracing_subscriber::EnvFilter) -> bool {
    let journal = stderr_is_journal();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if journal {
        let fmt = format().without_time().with_level(false).with_ansi(false);
        builder.with_ansi(false).event_format(Journal(fmt)).init();
    } else {
        builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init();
    }
    journal
}

fn format() -> format::Format<format::Full, ()> {
    format::format().without_time()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream() {
        assert!(names_stream("2049:1234", (2049, 1234)));
        assert!(names_stream("2049:1234\n", (2049, 1234)));
        assert!(!names_stream("2049:1235", (2049, 1234)));
        assert!(!names_stream("2049", (2049, 1234)));
        assert!(!names_stream("", (2049, 1234)));
    }

    #[test]
    fn priorities() {
        assert_eq!(priority(Level::ERROR), 3);
        assert_eq!(priority(Level::WARN), 4);
        assert_eq!(priority(Level::INFO), 6);
        assert_eq!(priority(Level::DEBUG), 7);
    }
}
