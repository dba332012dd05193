//! Elastic tabstops, a port of docker/cli's fork of Go's `text/tabwriter`
//! (`cli/command/formatter/tabwriter`), which is what `docker ps`, `docker images` and
//! every other table output go through.
//!
//! Text is split into cells terminated by `\t` (or `\v`); a line ends at `\n` (or `\f`,
//! which also ends all columns). Tab-terminated cells in adjacent lines form a column,
//! padded to the width of its widest cell plus `padding`, and at least `minwidth`. The
//! last cell of a line is not part of a column and is never padded. Cell widths are
//! measured in terminal columns (docker's fork uses `go-runewidth`), not bytes.
//!
//! docker formats tables with `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`:
//! [`TabConfig::default`]. The writer buffers until [`TabWriter::flush`] (or a line
//! that cannot affect later columns), so output is only final after flushing.
//!
//! Not ported: HTML filtering and `\xff` escapes, which cannot occur in `&str` input
//! anyway (0xFF is never valid UTF-8).

use std::fmt;

use crate::width::str_width;

/// Settings for a [`TabWriter`], mirroring the arguments of Go's `tabwriter.NewWriter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TabConfig {
    /// Minimal cell width, including padding.
    pub minwidth: usize,
    /// Width of a tab character, used when padding with tabs.
    pub tabwidth: usize,
    /// Padding added to a cell's width when computing its column's width.
    pub padding: usize,
    /// ASCII byte used for padding; `b'\t'` pads with tabs.
    pub padchar: u8,
    /// Right-align cell contents (Go's `AlignRight`); ignored when padding with tabs.
    pub align_right: bool,
    /// Treat columns of empty, `\v`-terminated cells as absent (`DiscardEmptyColumns`).
    pub discard_empty_columns: bool,
    /// Pad leading empty cells with tabs whatever `padchar` is (`TabIndent`).
    pub tab_indent: bool,
    /// Print `|` between columns and `---` at `\f` section breaks (`Debug`).
    pub debug: bool,
}

impl Default for TabConfig {
    /// docker's table settings: minwidth 10, tabwidth 1, padding 3, padded with spaces.
    fn default() -> Self {
        TabConfig {
            minwidth: 10,
            tabwidth: 1,
            padding: 3,
            padchar: b' ',
            align_right: false,
            discard_empty_columns: false,
            tab_indent: false,
            debug: false,
        }
    }
}

/// A segment of text terminated by a tab or line break.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    /// Size in bytes.
    size: usize,
    /// Display width.
    width: usize,
    /// Terminated by `\t` (rather than `\v` or a line break).
    htab: bool,
}

/// Aligns tab-separated columns, like Go's `text/tabwriter.Writer`.
///
/// ```
/// use gotmpl::TabWriter;
///
/// let mut tw = TabWriter::new(Default::default());
/// tw.write_str("CONTAINER ID\tIMAGE\tNAMES\n");
/// tw.write_str("4c01db0b339c\tubuntu\tweb\n");
/// assert_eq!(
///     tw.finish(),
///     "CONTAINER ID   IMAGE     NAMES\n4c01db0b339c   ubuntu    web\n"
/// );
/// ```
#[derive(Debug, Clone)]
pub struct TabWriter {
    cfg: TabConfig,
    buf: Vec<u8>,
    /// Position in `buf` up to which the current cell's width has been computed.
    pos: usize,
    cell: Cell,
    lines: Vec<Vec<Cell>>,
    widths: Vec<usize>,
    out: Vec<u8>,
}

impl Default for TabWriter {
    fn default() -> Self {
        TabWriter::new(TabConfig::default())
    }
}

impl TabWriter {
    /// Creates a writer with the given settings; [`TabConfig::default`] is docker's.
    pub fn new(cfg: TabConfig) -> Self {
        let mut cfg = cfg;
        if cfg.padchar == b'\t' {
            // Tab padding enforces left alignment.
            cfg.align_right = false;
        }
        TabWriter {
            cfg,
            buf: Vec::new(),
            pos: 0,
            cell: Cell::default(),
            lines: vec![Vec::new()],
            widths: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Adds text. Output for complete column blocks may become available immediately.
    pub fn write_str(&mut self, s: &str) {
        let b = s.as_bytes();
        let mut n = 0;
        for (i, &ch) in b.iter().enumerate() {
            if !matches!(ch, b'\t' | b'\x0b' | b'\n' | b'\x0c') {
                continue;
            }
            self.buf.extend_from_slice(&b[n..i]);
            self.cell.size += i - n;
            self.update_width();
            n = i + 1;
            let ncells = self.terminate_cell(ch == b'\t');
            if ch == b'\n' || ch == b'\x0c' {
                self.lines.push(Vec::new());
                if ch == b'\x0c' || ncells == 1 {
                    // A line with a single cell cannot affect the formatting of the
                    // following lines (its only cell is not in a column): flush.
                    self.flush();
                    if ch == b'\x0c' && self.cfg.debug {
                        self.out.extend_from_slice(b"---\n");
                    }
                }
            }
        }
        self.buf.extend_from_slice(&b[n..]);
        self.cell.size += b.len() - n;
    }

    /// Formats everything buffered so far, including an unterminated last line.
    pub fn flush(&mut self) {
        if self.cell.size > 0 {
            self.terminate_cell(false);
        }
        let lines = self.lines.len();
        self.format(0, 0, lines);
        self.buf.clear();
        self.pos = 0;
        self.cell = Cell::default();
        self.lines.clear();
        self.lines.push(Vec::new());
        self.widths.clear();
    }

    /// Takes the formatted output produced so far, without flushing.
    pub fn take_output(&mut self) -> String {
        let out = std::mem::take(&mut self.out);
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Flushes and returns all formatted output.
    pub fn finish(mut self) -> String {
        self.flush();
        self.take_output()
    }

    fn update_width(&mut self) {
        let text = String::from_utf8_lossy(&self.buf[self.pos..]);
        self.cell.width += str_width(&text);
        self.pos = self.buf.len();
    }

    /// Ends the current cell; returns the number of cells in the current line.
    fn terminate_cell(&mut self, htab: bool) -> usize {
        self.cell.htab = htab;
        let cell = std::mem::take(&mut self.cell);
        let line = self.lines.last_mut().expect("lines always holds the current line");
        line.push(cell);
        line.len()
    }

    fn write_padding(&mut self, textw: usize, cellw: usize, use_tabs: bool) {
        if self.cfg.padchar == b'\t' || use_tabs {
            let tw = self.cfg.tabwidth;
            if tw == 0 {
                return;
            }
            // Make cellw the smallest multiple of tabwidth.
            let cellw = cellw.div_ceil(tw) * tw;
            let n = cellw.saturating_sub(textw);
            self.out.extend(std::iter::repeat_n(b'\t', n.div_ceil(tw)));
            return;
        }
        let n = cellw.saturating_sub(textw);
        self.out.extend(std::iter::repeat_n(self.cfg.padchar, n));
    }

    fn write_lines(&mut self, pos0: usize, line0: usize, line1: usize) -> usize {
        let mut pos = pos0;
        for i in line0..line1 {
            let line = self.lines[i].clone();
            let mut use_tabs = self.cfg.tab_indent;
            for (j, c) in line.iter().enumerate() {
                if j > 0 && self.cfg.debug {
                    self.out.push(b'|');
                }
                let width = self.widths.get(j).copied();
                if c.size == 0 {
                    if let Some(w) = width {
                        self.write_padding(c.width, w, use_tabs);
                    }
                    continue;
                }
                use_tabs = false;
                if self.cfg.align_right {
                    if let Some(w) = width {
                        self.write_padding(c.width, w, false);
                    }
                    self.out.extend_from_slice(&self.buf[pos..pos + c.size]);
                } else {
                    self.out.extend_from_slice(&self.buf[pos..pos + c.size]);
                    if let Some(w) = width {
                        self.write_padding(c.width, w, false);
                    }
                }
                pos += c.size;
            }
            if i + 1 == self.lines.len() {
                // The last buffered line has no newline: write the unterminated cell.
                let end = pos + self.cell.size;
                self.out.extend_from_slice(&self.buf[pos..end]);
                pos = end;
            } else {
                self.out.push(b'\n');
            }
        }
        pos
    }

    /// Formats lines `line0..line1` whose text starts at `pos0`; returns the position
    /// after them. Recurses once per column, as Go's `format` does.
    fn format(&mut self, pos0: usize, line0: usize, line1: usize) -> usize {
        let mut pos = pos0;
        let mut line0 = line0;
        let column = self.widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= self.lines[this].len() {
                this += 1;
                continue;
            }
            // This line has a cell in this column: a column block starts here.
            pos = self.write_lines(pos, line0, this);
            line0 = this;
            let mut width = self.cfg.minwidth;
            let mut discardable = true;
            while this < line1 {
                let line = &self.lines[this];
                if column + 1 >= line.len() {
                    break;
                }
                let c = line[column];
                width = width.max(c.width + self.cfg.padding);
                if c.width > 0 || c.htab {
                    discardable = false;
                }
                this += 1;
            }
            if discardable && self.cfg.discard_empty_columns {
                width = 0;
            }
            self.widths.push(width);
            pos = self.format(pos, line0, this);
            self.widths.pop();
            line0 = this;
        }
        self.write_lines(pos, line0, line1)
    }
}

impl fmt::Write for TabWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        TabWriter::write_str(self, s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docker(text: &str) -> String {
        let mut tw = TabWriter::default();
        tw.write_str(text);
        tw.finish()
    }

    #[test]
    fn docker_ps_header_for_an_empty_list() {
        assert_eq!(
            docker("CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES\n"),
            "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n"
        );
    }

    #[test]
    fn columns_take_the_widest_cell_plus_padding() {
        let got = docker(
            "NAME\tDESCRIPTION\tDOCKER ENDPOINT\tERROR\ndefault *\tCurrent DOCKER_HOST based configuration\tunix:///var/run/docker.sock\t\nt1\thello\tunix:///tmp/x.sock\t\n",
        );
        assert_eq!(
            got,
            "NAME        DESCRIPTION                               DOCKER ENDPOINT               ERROR\n\
             default *   Current DOCKER_HOST based configuration   unix:///var/run/docker.sock   \n\
             t1          hello                                     unix:///tmp/x.sock            \n"
        );
    }

    #[test]
    fn column_blocks_are_contiguous() {
        // From Go's package documentation: b and c are in distinct columns.
        let mut tw = TabWriter::new(TabConfig { minwidth: 0, padding: 0, debug: true, ..TabConfig::default() });
        tw.write_str("aaaa\tbbb\td\naa\tb\tdd\na\t\naa\tcccc\teee\n");
        assert_eq!(tw.finish(), "aaaa|bbb|d\naa  |b  |dd\na   |\naa  |cccc|eee\n");
    }

    #[test]
    fn wide_characters_count_double() {
        assert_eq!(docker("名前\tX\nab\tY\n"), "名前      X\nab        Y\n");
        assert_eq!(docker("naïve_name_long\tX\nab\tY\n"), "naïve_name_long   X\nab                Y\n");
    }

    #[test]
    fn unterminated_last_line_and_incremental_writes() {
        let mut tw = TabWriter::default();
        tw.write_str("a\tb");
        tw.write_str("\nccc\td");
        assert_eq!(tw.finish(), "a         b\nccc       d");
    }

    #[test]
    fn align_right_and_tab_padding() {
        let mut tw = TabWriter::new(TabConfig { minwidth: 0, padding: 1, align_right: true, ..TabConfig::default() });
        tw.write_str("a\tbbb\t\nccc\td\t\n");
        assert_eq!(tw.finish(), "   a bbb\n ccc   d\n");
        let mut tw =
            TabWriter::new(TabConfig { minwidth: 0, tabwidth: 8, padding: 1, padchar: b'\t', ..TabConfig::default() });
        tw.write_str("a\tb\nccccccccc\td\n");
        assert_eq!(tw.finish(), "a\t\tb\nccccccccc\td\n");
    }

    #[test]
    fn formfeed_ends_columns() {
        assert_eq!(docker("a\tb\n\x0clonger text\tc\n"), "a         b\n\nlonger text   c\n");
    }
}
