//! Container logs as text: streamed, bounded to their newest bytes, and decoded lossily, so a binary byte or one
//! giant line never costs the whole log (kube's `Api::logs` fails with `FromUtf8` on the first invalid byte, and
//! reads the whole answer into memory however large).

use futures::AsyncReadExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};

/// The most log bytes kept per container: the newest ones (what `--tail` asked for, unless lines are huge).
pub const MAX_LOG_BYTES: usize = 4 << 20;

/// The log of one container, as `kubectl logs` with `params` would print it, minus invalid UTF-8 (replaced by
/// U+FFFD) and minus anything older than the newest [`MAX_LOG_BYTES`] (cut at a line start).
pub async fn read(api: &Api<Pod>, pod: &str, params: &LogParams) -> kube::Result<String> {
    let mut stream = api.log_stream(pod, params).await?;
    let mut kept: Vec<u8> = Vec::new();
    let mut dropped = false;
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(kube::Error::ReadEvents)?;
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&chunk[..n]);
        // Trim only now and then: at twice the bound, back to the bound.
        if kept.len() > 2 * MAX_LOG_BYTES {
            keep_newest(&mut kept, MAX_LOG_BYTES);
            dropped = true;
        }
    }
    if kept.len() > MAX_LOG_BYTES {
        keep_newest(&mut kept, MAX_LOG_BYTES);
        dropped = true;
    }
    Ok(text_of(&kept, dropped))
}

/// Keep the newest `limit` bytes of `buf`.
fn keep_newest(buf: &mut Vec<u8>, limit: usize) {
    let cut = buf.len().saturating_sub(limit);
    buf.drain(..cut);
}

/// Lossy text of the kept bytes; when older bytes were dropped, the first (partial) line goes too.
fn text_of(kept: &[u8], dropped: bool) -> String {
    let start = if dropped {
        kept.iter()
            .position(|b| *b == b'\n')
            .map_or(kept.len(), |i| i + 1)
    } else {
        0
    };
    String::from_utf8_lossy(&kept[start..]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let log = b"ts=1 level=info msg=ok\n\xff\xfe binary\nts=2 level=error err=\"open /prometheus/queries.active: permission denied\"\n";
        let text = text_of(log, false);
        assert_eq!(text.lines().count(), 3);
        assert!(text.contains("\u{fffd}\u{fffd} binary"));
        assert!(text.ends_with("permission denied\"\n"));
    }

    #[test]
    fn a_giant_line_is_cut_at_the_next_line_start_and_the_newest_lines_stay() {
        let mut log = vec![b'x'; 3 * MAX_LOG_BYTES];
        log.extend_from_slice(b"\nts=3 level=error msg=\"no space left on device\"\n");
        keep_newest(&mut log, MAX_LOG_BYTES);
        assert_eq!(log.len(), MAX_LOG_BYTES);
        let text = text_of(&log, true);
        assert_eq!(text, "ts=3 level=error msg=\"no space left on device\"\n");
        // Nothing dropped: every byte stays, the first line included.
        assert_eq!(text_of(b"a\nb\n", false), "a\nb\n");
        // Dropped and no line start at all: nothing readable is left.
        assert_eq!(text_of(b"xxxx", true), "");
    }
}
