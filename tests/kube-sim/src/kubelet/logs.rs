//! A container instance's log as the runtime keeps it: timestamped lines from stdout and stderr, readable with
//! tail/since/timestamps, followable until the instance ends. The kubelet keeps the current and previous instance.
use std::sync::Mutex;
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct LogLine {
    /// Unix time in nanoseconds when the line was read.
    pub at_nanos: i128,
    pub text: Vec<u8>,
}

/// `len` is broadcast on every append so followers wake up; `closed` once the instance has ended.
pub struct LogBuffer {
    lines: Mutex<Vec<LogLine>>,
    progress: watch::Sender<(usize, bool)>,
}

impl Default for LogBuffer {
    fn default() -> Self {
        Self::new()
    }
}

pub fn now_nanos() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

impl LogBuffer {
    pub fn new() -> Self {
        Self {
            lines: Mutex::new(Vec::new()),
            progress: watch::channel((0, false)).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<LogLine>> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends one line (a trailing newline is added when missing, as the runtime's log format does).
    pub fn push(&self, mut text: Vec<u8>) {
        if !text.ends_with(b"\n") {
            text.push(b'\n');
        }
        let len = {
            let mut lines = self.lock();
            lines.push(LogLine {
                at_nanos: now_nanos(),
                text,
            });
            lines.len()
        };
        self.progress.send_modify(|p| p.0 = len);
    }

    pub fn close(&self) {
        self.progress.send_modify(|p| p.1 = true);
    }

    pub fn is_closed(&self) -> bool {
        self.progress.borrow().1
    }

    pub fn subscribe(&self) -> watch::Receiver<(usize, bool)> {
        self.progress.subscribe()
    }

    pub fn snapshot(&self) -> Vec<LogLine> {
        self.lock().clone()
    }

    pub fn lines_from(&self, index: usize) -> Vec<LogLine> {
        self.lock()
            .get(index..)
            .map(|s| s.to_vec())
            .unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text as `kubectl logs` prints it, filtered like the kubelet does (sinceSeconds first, then tailLines).
    pub fn render(
        &self,
        tail: Option<usize>,
        since_nanos: Option<i128>,
        timestamps: bool,
    ) -> (Vec<u8>, usize) {
        let lines = self.snapshot();
        let total = lines.len();
        let mut selected: Vec<&LogLine> = lines
            .iter()
            .filter(|l| since_nanos.is_none_or(|s| l.at_nanos >= s))
            .collect();
        if let Some(t) = tail {
            let skip = selected.len().saturating_sub(t);
            selected.drain(..skip);
        }
        let mut out = Vec::new();
        for l in selected {
            out.extend(format_line(l, timestamps));
        }
        (out, total)
    }

    /// The termination message of `FallbackToLogsOnError`: the last 80 lines, at most 2048 bytes
    /// (kubelet MaxContainerTerminationMessageLogLines / ...LogLength).
    pub fn termination_tail(&self) -> String {
        let (bytes, _) = self.render(Some(80), None, false);
        let start = bytes.len().saturating_sub(2048);
        String::from_utf8_lossy(&bytes[start..]).to_string()
    }
}

pub fn format_line(l: &LogLine, timestamps: bool) -> Vec<u8> {
    if !timestamps {
        return l.text.clone();
    }
    let secs = (l.at_nanos / 1_000_000_000) as i64;
    let nanos = (l.at_nanos % 1_000_000_000) as u32;
    let ts = crate::clock::format_rfc3339(secs);
    let mut out = format!("{}.{nanos:09}Z ", ts.trim_end_matches('Z')).into_bytes();
    out.extend(&l.text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_and_termination_message() {
        let b = LogBuffer::new();
        for i in 0..100 {
            b.push(format!("line {i}").into_bytes());
        }
        let (text, total) = b.render(Some(2), None, false);
        assert_eq!(total, 100);
        assert_eq!(String::from_utf8(text).unwrap(), "line 98\nline 99\n");
        let msg = b.termination_tail();
        assert!(
            msg.starts_with("line 20\n") && msg.ends_with("line 99\n"),
            "{msg}"
        );
        let (future, _) = b.render(None, Some(now_nanos() + 1_000_000_000), false);
        assert!(future.is_empty());
    }
}
