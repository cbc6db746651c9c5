//! The path argument of every table function (SQL `stdf_x(path)`, Python `read("x", path)`):
//! files and globs -> the files to read.
//!
//! Rules: a path that exists is that path, whatever characters its name holds (`lot[1].stdf`,
//! `star*.stdf`); only a name that does not exist is a pattern. A pattern's `**` matches any
//! number of folders and visits each real folder once (a symbolic link to a folder is followed, a
//! link loop ends, a folder reached twice gives its files once). A folder the pattern must list
//! but cannot is an error naming it, never a silent hole in the result.

use std::collections::HashSet;
use std::fs;
use std::path::{Component, Path, PathBuf};

use glob::{MatchOptions, Pattern};
use stdf_core::{ErrorKind, StdfError};

/// Expand globs (`*`, `?`, `[..]`, `**`) in the given patterns; plain paths, and every path that
/// exists, pass through. A pattern that matches nothing is an error naming it.
pub fn expand_paths(patterns: &[String]) -> Result<Vec<String>, StdfError> {
    let mut out = Vec::new();
    for p in patterns {
        if !has_magic(p) || fs::symlink_metadata(p).is_ok() {
            out.push(p.clone());
            continue;
        }
        let mut matched = Walk::new(p)?.run()?;
        if matched.is_empty() {
            let mut e = StdfError::new(ErrorKind::Io, p, "no file matches this pattern");
            e.io_kind = Some("NotFound".into());
            return Err(e);
        }
        matched.sort();
        out.extend(matched);
    }
    Ok(out)
}

fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// A folder's identity: device and inode where the platform has them, else its canonical path.
#[derive(Clone, PartialEq, Eq, Hash)]
enum DirId {
    #[cfg(unix)]
    Inode(u64, u64),
    #[cfg(not(unix))]
    Path(PathBuf),
}

fn dir_id(path: &Path) -> Option<DirId> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(path)
            .ok()
            .map(|m| DirId::Inode(m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        fs::canonicalize(path).ok().map(DirId::Path)
    }
}

enum Part {
    Literal(String),
    Pattern(Pattern),
    Recursive,
}

/// One pattern matched against the file system.
struct Walk<'a> {
    pattern: &'a str,
    base: PathBuf,
    parts: Vec<Part>,
    /// (part index, folder) pairs already searched by a `**`
    seen: HashSet<(usize, DirId)>,
    out: Vec<String>,
}

impl<'a> Walk<'a> {
    fn new(pattern: &'a str) -> Result<Walk<'a>, StdfError> {
        let invalid = |m: String| {
            StdfError::new(ErrorKind::Io, pattern, format!("invalid glob pattern: {m}"))
        };
        let mut base = PathBuf::new();
        let mut parts = Vec::new();
        for c in Path::new(pattern).components() {
            let text = c.as_os_str().to_string_lossy().into_owned();
            match c {
                Component::Normal(_) if parts.is_empty() && !has_magic(&text) => base.push(c),
                Component::Normal(_) if text == "**" => parts.push(Part::Recursive),
                Component::Normal(_) if has_magic(&text) => {
                    if text.contains("**") {
                        return Err(invalid(
                            "recursive wildcards must form a single path component".into(),
                        ));
                    }
                    parts.push(Part::Pattern(
                        Pattern::new(&text).map_err(|e| invalid(e.to_string()))?,
                    ));
                }
                Component::Normal(_) => parts.push(Part::Literal(text)),
                _ if parts.is_empty() => base.push(c), // prefix, root, `.`, `..` before the first pattern
                Component::ParentDir => parts.push(Part::Literal("..".into())),
                _ => {}
            }
        }
        Ok(Walk {
            pattern,
            base,
            parts,
            seen: HashSet::new(),
            out: Vec::new(),
        })
    }

    fn run(mut self) -> Result<Vec<String>, StdfError> {
        let base = if self.base.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            self.base.clone()
        };
        let strip = self.base.as_os_str().is_empty();
        self.step(&base, 0, strip)?;
        Ok(self.out)
    }

    /// Match parts[i..] below `dir` (`strip`: the pattern was relative, names start below `.`).
    fn step(&mut self, dir: &Path, i: usize, strip: bool) -> Result<(), StdfError> {
        let join = |name: &std::ffi::OsStr| {
            if strip {
                PathBuf::from(name)
            } else {
                dir.join(name)
            }
        };
        match self.parts.get(i) {
            None => {}
            Some(Part::Recursive) => {
                let Some(id) = dir_id(dir) else { return Ok(()) };
                if !self.seen.insert((i, id)) {
                    return Ok(());
                }
                let last = i + 1 == self.parts.len();
                if !last {
                    self.step(dir, i + 1, strip)?;
                }
                for (p, is_dir) in self.list(dir, strip)? {
                    if is_dir {
                        self.step(&p, i, false)?;
                    } else if last {
                        self.push(p)?; // a final `**`: every file below
                    }
                }
            }
            Some(Part::Pattern(pat)) => {
                let last = i + 1 == self.parts.len();
                let pat = pat.clone();
                for (p, is_dir) in self.list(dir, strip)? {
                    let name = p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if pat.matches_with(&name, MatchOptions::new()) {
                        match (last, is_dir) {
                            (true, false) => self.push(p)?,
                            (false, true) => self.step(&p, i + 1, false)?,
                            _ => {}
                        }
                    }
                }
            }
            Some(Part::Literal(name)) => {
                let p = join(std::ffi::OsStr::new(name));
                if i + 1 == self.parts.len() {
                    if p.is_file() {
                        self.push(p)?;
                    }
                } else if p.is_dir() {
                    self.step(&p, i + 1, false)?;
                }
            }
        }
        Ok(())
    }

    /// The entries of a folder as (path, is a folder), links followed; a folder that cannot be
    /// listed is an error naming it.
    fn list(&self, dir: &Path, strip: bool) -> Result<Vec<(PathBuf, bool)>, StdfError> {
        let fail = |e: &std::io::Error| {
            let mut err = StdfError::io(self.pattern, e);
            err.message = format!(
                "cannot list the folder {} to match this pattern: {e}",
                dir.display()
            );
            err
        };
        let mut out = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| fail(&e))? {
            let entry = entry.map_err(|e| fail(&e))?;
            let p = if strip {
                PathBuf::from(entry.file_name())
            } else {
                entry.path()
            };
            // links followed; named pipes, sockets, devices and broken links are never read
            match fs::metadata(entry.path()) {
                Ok(m) if m.is_dir() => out.push((p, true)),
                Ok(m) if m.is_file() => out.push((p, false)),
                _ => {}
            }
        }
        out.sort();
        Ok(out)
    }

    fn push(&mut self, p: PathBuf) -> Result<(), StdfError> {
        match p.into_os_string().into_string() {
            Ok(s) => {
                self.out.push(s);
                Ok(())
            }
            Err(raw) => Err(StdfError::new(
                ErrorKind::Io,
                self.pattern,
                format!(
                    "the file {} matches but its name is not valid UTF-8: rename it, or read it through a link with a UTF-8 name",
                    Path::new(&raw).display()
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, b"x").unwrap();
    }

    fn names(root: &Path, pattern: &str) -> Vec<String> {
        let pat = format!("{}/{pattern}", root.display());
        let prefix = format!("{}/", root.display());
        expand_paths(&[pat])
            .unwrap()
            .into_iter()
            .map(|p| p.strip_prefix(&prefix).unwrap().to_string())
            .collect()
    }

    #[test]
    fn a_path_that_exists_is_a_path() {
        let d = tempfile::tempdir().unwrap();
        for n in [
            "star*.stdf",
            "starling.stdf",
            "lot[1].stdf",
            "lot1.stdf",
            "q?.stdf",
            "qa.stdf",
        ] {
            touch(&d.path().join(n));
        }
        assert_eq!(names(d.path(), "star*.stdf"), ["star*.stdf"]);
        assert_eq!(names(d.path(), "lot[1].stdf"), ["lot[1].stdf"]);
        assert_eq!(names(d.path(), "q?.stdf"), ["q?.stdf"]);
        // a name that does not exist is a pattern
        assert_eq!(
            names(d.path(), "sta*.stdf"),
            ["star*.stdf", "starling.stdf"]
        );
        assert_eq!(names(d.path(), "lot[0-9].stdf"), ["lot1.stdf"]);
    }

    #[test]
    fn recursive_glob_over_link_loops_ends_and_gives_each_file_once() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        touch(&r.join("a/x.stdf"));
        touch(&r.join("a/b/y.stdf"));
        touch(&r.join("c.stdf"));
        // two loops per folder: 2^40 paths for a walk that follows links blindly
        std::os::unix::fs::symlink(r, r.join("a/up")).unwrap();
        std::os::unix::fs::symlink(r.join("a"), r.join("a/b/again")).unwrap();
        std::os::unix::fs::symlink(r, r.join("a/b/top")).unwrap();
        let t0 = std::time::Instant::now();
        assert_eq!(names(r, "**/*.stdf"), ["a/b/y.stdf", "a/x.stdf", "c.stdf"]);
        // links are followed: the top folder is reached from a/b/top, once
        assert_eq!(
            names(r, "a/**"),
            ["a/b/top/c.stdf", "a/b/y.stdf", "a/x.stdf"]
        );
        assert!(t0.elapsed().as_secs() < 5);
    }

    #[test]
    fn patterns_in_several_components() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        for n in [
            "lot1/w1/a.stdf",
            "lot1/w2/b.stdf",
            "lot2/w1/c.stdf",
            "lot2/w1/c.txt",
            "other/w1/d.stdf",
        ] {
            touch(&r.join(n));
        }
        assert_eq!(
            names(r, "lot?/w1/*.stdf"),
            ["lot1/w1/a.stdf", "lot2/w1/c.stdf"]
        );
        assert_eq!(names(r, "lot*/**/b.stdf"), ["lot1/w2/b.stdf"]);
        assert_eq!(
            names(r, "**/w1/*.stdf"),
            ["lot1/w1/a.stdf", "lot2/w1/c.stdf", "other/w1/d.stdf"]
        );
        let e = expand_paths(&[format!("{}/nothing*", r.display())]).unwrap_err();
        assert_eq!(e.io_kind.as_deref(), Some("NotFound"));
        let e = expand_paths(&[format!("{}/a**b", r.display())]).unwrap_err();
        assert!(e.message.contains("single path component"), "{}", e.message);
    }

    #[test]
    fn a_relative_pattern_gives_relative_paths() {
        // tests run in the crate's folder
        assert!(expand_paths(&["src/*.rs".into()])
            .unwrap()
            .contains(&"src/paths.rs".to_string()));
        assert_eq!(
            expand_paths(&["Cargo.tom?".into()]).unwrap(),
            ["Cargo.toml"]
        );
        assert!(expand_paths(&["**/paths.rs".into()])
            .unwrap()
            .contains(&"src/paths.rs".to_string()));
    }
}
