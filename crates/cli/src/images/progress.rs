//! The JSON-lines progress stream of `load` and `import` (and of pull, push and build), shown
//! as docker's `jsonmessage.DisplayJSONMessagesStream` does: `stream` text as is, one line per
//! `status`, progress bars only on a terminal, and an `error` ending the command.

use anyhow::{anyhow, bail};
use api_types::image::JsonMessage;
use hyper::body::Incoming;

use crate::format::{as_f64, human_size, print};

/// Renders docker's `JSONProgress` (`[=====>    ]  1.2MB/3.4MB`) for a terminal.
fn progress_text(m: &JsonMessage) -> String {
    let Some(p) = &m.progress_detail else {
        return m.progress.clone().unwrap_or_default();
    };
    let (current, total) = (p.current.unwrap_or(0), p.total.unwrap_or(0));
    if current <= 0 && total <= 0 {
        return String::new();
    }
    if total <= 0 {
        return format!("{:>8}", human_size(as_f64(current)));
    }
    #[allow(clippy::cast_possible_truncation)]
    let pct = ((as_f64(current) / as_f64(total) * 100.0) as i64 / 2).clamp(0, 50);
    let pct = usize::try_from(pct).unwrap_or(0);
    let bar = format!("[{}>{}] ", "=".repeat(pct), " ".repeat(50 - pct));
    let numbers = if current > total {
        format!("{:>8}", human_size(as_f64(current)))
    } else {
        format!("{:>8}/{}", human_size(as_f64(current)), human_size(as_f64(total)))
    };
    format!("{bar}{numbers}")
}

/// Shows a JSON-lines progress stream as docker's `jsonmessage.DisplayJSONMessagesStream`:
/// `stream` text as is, `status` lines, progress bars only on a terminal. An `error` in the
/// stream ends it with that message.
pub async fn display_stream(body: &mut Incoming, terminal: bool) -> anyhow::Result<()> {
    let mut buf: Vec<u8> = Vec::new();
    let mut out = String::new();
    let mut progress_line = false;
    let mut eof = false;
    while !eof {
        match client::next_chunk(body).await? {
            Some(chunk) => buf.extend_from_slice(&chunk),
            None => eof = true,
        }
        loop {
            let mut it = serde_json::Deserializer::from_slice(&buf).into_iter::<JsonMessage>();
            let msg = match it.next() {
                None => {
                    buf.clear();
                    break;
                }
                Some(Ok(m)) => m,
                Some(Err(e)) if e.is_eof() && !eof => break,
                Some(Err(e)) => bail!("unexpected response from the daemon: {e}"),
            };
            let used = it.byte_offset();
            buf.drain(..used);
            if let Some(e) = msg.error_detail.as_ref().and_then(|d| d.message.clone()).or_else(|| msg.error.clone()) {
                if progress_line {
                    out.push('\n');
                }
                print(&out);
                return Err(anyhow!(e));
            }
            if msg.aux.is_some() {
                continue;
            }
            let progress = progress_text(&msg);
            let has_progress = msg.progress_detail.is_some() && !progress.is_empty();
            if !terminal && has_progress {
                continue;
            }
            if progress_line {
                out.push_str(if has_progress { "\r\x1b[2K" } else { "\n" });
                progress_line = false;
            }
            if let Some(id) = msg.id.as_deref().filter(|i| !i.is_empty()) {
                out.push_str(id);
                out.push_str(": ");
            }
            let status = msg.status.clone().unwrap_or_default();
            if terminal && has_progress {
                out.push_str(&format!("{status} {progress}"));
                progress_line = true;
            } else if let Some(s) = msg.stream.as_deref().filter(|s| !s.is_empty()) {
                out.push_str(s);
            } else {
                out.push_str(&status);
                out.push('\n');
            }
            print(&out);
            out.clear();
        }
    }
    if progress_line {
        print("\n");
    }
    Ok(())
}

pub(super) fn is_json(resp: &hyper::Response<Incoming>) -> bool {
    resp.headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_bars() {
        let m = JsonMessage {
            progress_detail: Some(api_types::image::ProgressDetail {
                current: Some(500_000),
                total: Some(1_000_000),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(progress_text(&m), format!("[{}>{}]    500kB/1MB", "=".repeat(25), " ".repeat(25)));
        assert_eq!(progress_text(&JsonMessage::default()), "");
    }
}
