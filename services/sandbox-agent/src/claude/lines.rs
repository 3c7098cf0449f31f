//! Splits a child's output into lines with a hard length limit, so a program that prints an
//! endless line cannot make the agent buffer without bound.

use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};

/// What one call to [`LineReader::next_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A line without its `\n`; invalid UTF-8 is replaced by U+FFFD.
    Text(String),
    /// A line longer than the limit, discarded; its length in bytes.
    TooLong(usize),
}

pub struct LineReader<R> {
    inner: BufReader<R>,
    max: usize,
    line: Vec<u8>,
    /// Bytes of the current line already thrown away because it is too long.
    skipped: usize,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub fn new(reader: R, max_line_bytes: usize) -> Self {
        Self {
            inner: BufReader::with_capacity(64 * 1024, reader),
            max: max_line_bytes,
            line: Vec::new(),
            skipped: 0,
        }
    }

    /// The next line; `None` at the end. A last line without `\n` is still returned.
    pub async fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        loop {
            let available = self.inner.fill_buf().await?;
            if available.is_empty() {
                if self.line.is_empty() && self.skipped == 0 {
                    return Ok(None);
                }
                return Ok(Some(self.take()));
            }
            let newline = available.iter().position(|&b| b == b'\n');
            let chunk = &available[..newline.unwrap_or(available.len())];
            if self.skipped > 0 || self.line.len() + chunk.len() > self.max {
                self.skipped += self.line.len() + chunk.len();
                self.line = Vec::new();
            } else {
                self.line.extend_from_slice(chunk);
            }
            let used = newline.map_or(available.len(), |i| i + 1);
            self.inner.consume(used);
            if newline.is_some() {
                return Ok(Some(self.take()));
            }
        }
    }

    fn take(&mut self) -> Line {
        if self.skipped > 0 {
            return Line::TooLong(std::mem::take(&mut self.skipped));
        }
        let bytes = std::mem::take(&mut self.line);
        Line::Text(
            String::from_utf8(bytes)
                .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8], max: usize) -> Vec<Line> {
        let mut reader = LineReader::new(input, max);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().await.unwrap() {
            out.push(line);
        }
        out
    }

    fn text(s: &str) -> Line {
        Line::Text(s.to_owned())
    }

    #[tokio::test]
    async fn splits_lines_and_keeps_a_last_unterminated_one() {
        assert_eq!(
            lines(b"a\n\nbc\nd", 10).await,
            vec![text("a"), text(""), text("bc"), text("d")]
        );
        assert_eq!(lines(b"", 10).await, vec![]);
    }

    #[tokio::test]
    async fn discards_overlong_lines_and_goes_on() {
        assert_eq!(
            lines(b"12345\n123456\nok\n", 5).await,
            vec![text("12345"), Line::TooLong(6), text("ok")]
        );
    }

    #[tokio::test]
    async fn overlong_lines_across_buffer_refills() {
        let mut input = vec![b'x'; 200_000];
        input.extend_from_slice(b"\nafter\n");
        assert_eq!(
            lines(&input, 1000).await,
            vec![Line::TooLong(200_000), text("after")]
        );
        let mut long_ok = vec![b'y'; 150_000];
        long_ok.push(b'\n');
        let got = lines(&long_ok, 150_000).await;
        assert_eq!(got, vec![Line::Text("y".repeat(150_000))]);
    }

    #[tokio::test]
    async fn replaces_invalid_utf8() {
        assert_eq!(lines(b"a\xffb\n", 10).await, vec![text("a\u{fffd}b")]);
    }
}
