//! Source maps: errors reported at the line and column of the file the
//! author wrote.
//!
//! Two kinds of map are kept, both made when the factory is built (never
//! per runtime): the map of each TypeScript module stripped of its types
//! ([`super::typescript`]), and the map a JavaScript file names with a
//! `//# sourceMappingURL=` comment (a bundled package in `node_modules`:
//! the `.map` file beside it, or an inline `data:` URL). A map is reduced to
//! its segments ([`LineMap`]); they travel with the snapshot (in the disk
//! cache, inside the entry's file manifest), so a cache hit still maps.
//! [`SourceMaps::apply`] rewrites the positions of an [`Error`]: its
//! location and every frame of its stack.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Location};

/// One map, reduced to what position lookups need.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LineMap {
    /// The original files (paths under the sandbox root, no leading `/`).
    sources: Vec<String>,
    /// `[generated line, generated column, source, line, column]`, 0-based,
    /// sorted by generated position.
    segments: Vec<[u32; 5]>,
}

impl LineMap {
    /// A map from `(dst_line, dst_col, src_line, src_col, source)` tokens.
    pub(crate) fn from_tokens(tokens: impl Iterator<Item = (u32, u32, u32, u32, u32)>, sources: Vec<String>) -> Self {
        let mut segments: Vec<[u32; 5]> = tokens.map(|(dl, dc, sl, sc, s)| [dl, dc, s, sl, sc]).collect();
        segments.sort_unstable();
        segments.dedup_by(|a, b| a[0] == b[0] && a[1] == b[1]);
        LineMap { sources, segments }
    }

    /// The original position of 1-based `line:column`: the segment at or
    /// before it on its line (else the line's first), moved by the distance
    /// from it. `None` when the line has no segment.
    fn lookup(&self, line: u32, column: u32) -> Option<(&str, u32, u32)> {
        let (line0, col0) = (line.checked_sub(1)?, column.saturating_sub(1));
        let start = self.segments.partition_point(|s| s[0] < line0);
        let end = self.segments.partition_point(|s| s[0] <= line0);
        let on_line = &self.segments[start..end];
        let at = on_line.partition_point(|s| s[1] <= col0);
        let (seg, delta) = match at {
            0 => (on_line.first()?, 0),
            i => (&on_line[i - 1], col0 - on_line[i - 1][1]),
        };
        let source = self.sources.get(seg[2] as usize)?;
        Some((source, seg[3] + 1, seg[4] + delta + 1))
    }
}

/// The maps of one factory's modules, by module path (no leading `/`).
#[derive(Default)]
pub(crate) struct SourceMaps {
    maps: RwLock<BTreeMap<String, Arc<LineMap>>>,
}

impl SourceMaps {
    /// Adds (or replaces) the map of the module at `path`.
    pub(crate) fn insert(&self, path: &str, map: LineMap) {
        if let Ok(mut maps) = self.maps.write() {
            maps.insert(path.trim_start_matches('/').to_string(), Arc::new(map));
        }
    }

    /// Every map, for the disk cache.
    pub(crate) fn all(&self) -> BTreeMap<String, LineMap> {
        self.maps.read().map(|m| m.iter().map(|(k, v)| (k.clone(), (**v).clone())).collect()).unwrap_or_default()
    }

    fn is_empty(&self) -> bool {
        self.maps.read().map_or(true, |m| m.is_empty())
    }

    /// The original position of `file:line:column`, with `file` spelled
    /// as it was (a leading `/` kept). `None` when no map covers it.
    fn original(&self, file: &str, line: u32, column: u32) -> Option<(String, u32, u32)> {
        let maps = self.maps.read().ok()?;
        let map = maps.get(file.trim_start_matches('/'))?;
        let (source, line, column) = map.lookup(line, column)?;
        let prefix = if file.starts_with('/') { "/" } else { "" };
        Some((format!("{prefix}{source}"), line, column))
    }

    fn location(&self, location: &mut Location) {
        if let Some((file, line, column)) = self.original(&location.file, location.line, location.column) {
            *location = Location { file, line, column };
        }
    }

    /// Every `file:line:column` of a QuickJS stack mapped.
    fn stack(&self, stack: &str) -> String {
        let mut out = String::with_capacity(stack.len());
        for (i, line) in stack.split('\n').enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&self.frame(line));
        }
        out
    }

    fn frame(&self, line: &str) -> String {
        let Some(at) = line.find("at ") else { return line.to_string() };
        let frame = &line[at + 3..];
        // `at fn (file:1:2)` or `at file:1:2`.
        let (start, loc) = match frame.rfind(" (") {
            Some(i) if frame.ends_with(')') => (at + 3 + i + 2, &frame[i + 2..frame.len() - 1]),
            _ => (at + 3, frame),
        };
        let mut parts = loc.rsplitn(3, ':');
        let (Some(col), Some(ln), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
            return line.to_string();
        };
        let (Ok(ln), Ok(col)) = (ln.parse(), col.parse()) else { return line.to_string() };
        match self.original(file, ln, col) {
            Some((file, ln, col)) => format!("{}{file}:{ln}:{col}{}", &line[..start], &line[start + loc.len()..]),
            None => line.to_string(),
        }
    }

    /// `error` with its positions in the original files.
    pub(crate) fn apply(&self, error: Error) -> Error {
        if self.is_empty() {
            return error;
        }
        match error {
            Error::Exception(mut e) => {
                self.location(&mut e.location);
                e.stack = self.stack(&e.stack);
                Error::Exception(e)
            }
            Error::Syntax { message, mut location } => {
                self.location(&mut location);
                Error::Syntax { message, location }
            }
            other => other,
        }
    }
}

/// The map a JavaScript file at `path` names in its last
/// `//# sourceMappingURL=` comment: an inline `data:` URL, or a file
/// relative to it read with `read` (a path under the root). `None` when
/// there is none, or it does not parse (the file then reports its own
/// positions).
pub(crate) fn referenced_map(path: &str, source: &str, read: impl Fn(&str) -> Option<String>) -> Option<LineMap> {
    let tail = &source[source.len().saturating_sub(64 * 1024).min(source.len())..];
    let start = tail.rfind("//# sourceMappingURL=").or_else(|| tail.rfind("//@ sourceMappingURL="))?;
    let url = tail[start + "//# sourceMappingURL=".len()..].lines().next()?.trim();
    let dir = path.trim_start_matches('/').rsplit_once('/').map_or("", |(d, _)| d);
    let (json, map_dir) = if let Some(data) = url.strip_prefix("data:") {
        let (meta, payload) = data.split_once(',')?;
        let text = if meta.ends_with(";base64") {
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(payload).ok()?).ok()?
        } else {
            payload.to_string()
        };
        (text, dir.to_string())
    } else {
        if url.contains("://") {
            return None;
        }
        let file = super::resolve::join(dir, url);
        let text = read(&file)?;
        let map_dir = file.rsplit_once('/').map_or("", |(d, _)| d).to_string();
        (text, map_dir)
    };
    let map = oxc_sourcemap::SourceMap::from_json_string(&json).ok()?;
    let root = map.get_source_root().unwrap_or("").trim_end_matches('/').to_string();
    let sources = map
        .get_sources()
        .map(|s| {
            let s = s.strip_prefix("webpack://").map_or(s, |rest| rest.split_once('/').map_or(rest, |(_, p)| p));
            let rel = if root.is_empty() { s.to_string() } else { format!("{root}/{s}") };
            super::resolve::join(&map_dir, &rel)
        })
        .collect();
    let tokens = map
        .get_tokens()
        .filter_map(|t| Some((t.get_dst_line(), t.get_dst_col(), t.get_src_line(), t.get_src_col(), t.get_source_id()?)))
        .collect::<Vec<_>>();
    Some(LineMap::from_tokens(tokens.into_iter(), sources))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_and_stacks() {
        // Generated line 1 col 0 -> src 2:4, generated 1:10 -> src 2:20.
        let map = LineMap::from_tokens([(0, 0, 1, 4, 0), (0, 10, 1, 20, 0)].into_iter(), vec!["a.ts".into()]);
        assert_eq!(map.lookup(1, 1), Some(("a.ts", 2, 5)));
        // Inside a segment the column offset carries over: 1:13 is 2 past
        // the segment at 1:11 (1-based), so 2:23.
        assert_eq!(map.lookup(1, 13), Some(("a.ts", 2, 23)));
        assert_eq!(map.lookup(2, 1), None);
        let maps = SourceMaps::default();
        maps.insert("/a.ts", map);
        assert_eq!(
            maps.stack("Error: x\n    at f (/a.ts:1:13)\n    at /a.ts:1:1\n    at g (other.js:3:4)\n"),
            "Error: x\n    at f (/a.ts:2:23)\n    at /a.ts:2:5\n    at g (other.js:3:4)\n"
        );
    }

    #[test]
    fn referenced_maps_inline_and_beside() {
        // "AAAA" maps generated 0:0 to source 0, 0:0.
        let json = r#"{"version":3,"sources":["../src/index.ts"],"names":[],"mappings":"AAAA"}"#;
        let read = |p: &str| (p == "node_modules/p/dist/index.js.map").then(|| json.to_string());
        let map = referenced_map("node_modules/p/dist/index.js", "x\n//# sourceMappingURL=index.js.map\n", read).unwrap();
        assert_eq!(map.lookup(1, 1), Some(("node_modules/p/src/index.ts", 1, 1)));
        let inline = format!(
            "x\n//# sourceMappingURL=data:application/json;base64,{}\n",
            base64::engine::general_purpose::STANDARD.encode(json)
        );
        let map = referenced_map("node_modules/p/dist/index.js", &inline, |_| None).unwrap();
        assert_eq!(map.lookup(1, 1), Some(("node_modules/p/src/index.ts", 1, 1)));
        assert!(referenced_map("a.js", "no map", |_| None).is_none());
    }
}
