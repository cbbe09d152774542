//! Reading and writing model files.
//!
//! Reading refuses what is not a regular file (a device such as `/dev/zero`
//! never ends) and anything larger than a model can be, before reading.
//!
//! Writing is done so that no reader and no crash ever sees half of a file,
//! and so that nothing but a model file is ever replaced.
//! The bytes go to a new temporary file beside the target (same directory,
//! so same file system), are flushed to disk, and the temporary file is then
//! renamed over the target, which readers see change in one step. Each call
//! creates its own temporary file (process id, a per-process counter, and
//! `create_new`, so neither another thread of this process nor another
//! process can share it), and a failure removes it.
//!
//! The target must be a regular file or not exist yet: renaming over a
//! device (`/dev/null`), a pipe or a directory would replace it with a model
//! (as root, the device itself). A symbolic link is followed to the file it
//! names, which gets the model, so the link still points at the model; a
//! link to nothing is refused, as there is no file to say which was meant.
//! A replaced file keeps its permissions.

use std::fs::{self, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{ArtifactError, Result, VraeError};

/// Temporary names tried before giving up: each is new to this process, so
/// only a stale file left by a killed process of the same id can be taken.
const ATTEMPTS: u64 = 64;

static NEXT_TEMPORARY: AtomicU64 = AtomicU64::new(0);

/// Refuses an empty path, which names no model file to `verb` (read or
/// write). The error shows the path as `""`, so that a message reads
/// `"": empty path: ...` rather than starting with a bare colon.
fn refuse_empty(path: &Path, verb: &str) -> Result<()> {
    if path.as_os_str().is_empty() {
        let source = io::Error::new(ErrorKind::InvalidInput, format!("empty path: name the model file to {verb}"));
        return Err(VraeError::Io { path: "\"\"".into(), source });
    }
    Ok(())
}

/// Reads a model file, refusing what is not a regular file and anything over
/// [`crate::budget::MAX_MODEL_BYTES`] before reading it.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    refuse_empty(path, "read")?;
    let io = |source| VraeError::Io { path: path.display().to_string(), source };
    let meta = fs::metadata(path).map_err(io)?;
    let limit = crate::budget::MAX_MODEL_BYTES;
    let refuse = |why: String| VraeError::Artifact(ArtifactError::Unreadable(format!("{}: {why}", path.display())));
    if !meta.is_file() {
        return Err(refuse("not a regular file".into()));
    }
    if meta.len() > limit {
        return Err(refuse(format!("{} bytes is larger than a model can be ({limit} bytes)", meta.len())));
    }
    // The file may grow between the check and the read: never read past the limit.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    fs::File::open(path).and_then(|f| f.take(limit + 1).read_to_end(&mut bytes)).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(refuse(format!("larger than a model can be ({limit} bytes)")));
    }
    Ok(bytes)
}

/// Writes `bytes` to `path` atomically (see the module's documentation).
/// Errors are [`VraeError::Io`] naming the path the user gave: a missing
/// directory, a target that is not a regular file or a link to nothing, or
/// what the file system reports.
pub fn write(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let path = path.as_ref();
    let fail = |kind: ErrorKind, message: String| VraeError::Io { path: path.display().to_string(), source: io::Error::new(kind, message) };
    refuse_empty(path, "write")?;
    let target = resolve(path).map_err(|source| VraeError::Io { path: path.display().to_string(), source })?;
    let replaced = fs::metadata(&target).ok();
    if replaced.as_ref().is_some_and(|meta| !meta.is_file()) {
        return Err(fail(
            ErrorKind::InvalidInput,
            "not a regular file: a model is written only to a regular file, which it replaces".into(),
        ));
    }
    let name = target.file_name().ok_or_else(|| fail(ErrorKind::InvalidInput, "no file name: name the model file to write".into()))?;
    let directory = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match fs::metadata(&directory) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(fail(ErrorKind::NotADirectory, format!("{} is not a directory", directory.display()))),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(fail(ErrorKind::NotFound, format!("directory {} does not exist", directory.display())))
        }
        Err(e) => return Err(fail(e.kind(), format!("directory {}: {e}", directory.display()))),
    }
    let (temporary, mut file) = create_temporary(&directory, &name.to_string_lossy())
        .map_err(|e| fail(e.kind(), format!("could not create a temporary file beside it: {e}")))?;
    // The model replaces the file, not its access rights.
    let kept_permissions = replaced.map_or(Ok(()), |meta| file.set_permissions(meta.permissions()));
    let written = kept_permissions.and_then(|()| file.write_all(bytes)).and_then(|()| file.sync_all()).and_then(|()| {
        drop(file);
        fs::rename(&temporary, &target)
    });
    written.map_err(|source| {
        let _ = fs::remove_file(&temporary);
        VraeError::Io { path: path.display().to_string(), source }
    })
}

/// The file `path` names: itself, or the end of the links it is.
fn resolve(path: &Path) -> io::Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path)
            .map_err(|e| io::Error::new(e.kind(), format!("a symbolic link to nothing ({e}): point it at a file, or remove it"))),
        _ => Ok(path.to_path_buf()),
    }
}

/// Characters of the target's name that a temporary name repeats: enough
/// to tell whose it is, short enough that a name at the file system's limit
/// (255 bytes) still leaves room for the rest.
const NAME_HINT_CHARS: usize = 32;

/// A new, empty file in `directory`, hidden beside `name`, that no other
/// call has.
fn create_temporary(directory: &Path, name: &str) -> io::Result<(PathBuf, fs::File)> {
    let hint: String = name.chars().take(NAME_HINT_CHARS).collect();
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let n = NEXT_TEMPORARY.fetch_add(1, Ordering::Relaxed);
        let candidate = directory.join(format!(".{hint}.{}-{n}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&candidate) {
            Ok(file) => return Ok((candidate, file)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(ErrorKind::AlreadyExists, "no free temporary name")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder for one test, removed when the test ends (passed or
    /// not).
    struct Scratch(PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn scratch(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("vrae-model-file-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch directory");
        Scratch(dir)
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn replaces_a_file_and_leaves_no_temporary() {
        let scratch = scratch("replace");
        let dir = &scratch.0;
        let path = dir.join("m.safetensors");
        write(&path, b"first").expect("write");
        write(&path, b"second").expect("rewrite");
        assert_eq!(fs::read(&path).expect("read"), b"second");
        assert!(leftovers(dir).is_empty());
    }

    #[test]
    fn threads_saving_to_one_path_never_show_a_reader_half_a_file() {
        let scratch = scratch("race");
        let dir = &scratch.0;
        let path = dir.join("m.safetensors");
        let (a, b) = (&vec![b'a'; 200_000], &vec![b'b'; 300_000]);
        write(&path, a).expect("first");
        std::thread::scope(|s| {
            for bytes in [a, b] {
                let path = &path;
                s.spawn(move || (0..50).for_each(|_| write(path, bytes).expect("concurrent write")));
            }
            let path = &path;
            s.spawn(move || {
                for _ in 0..200 {
                    let seen = fs::read(path).expect("read while writing");
                    assert!(&seen == a || &seen == b, "a reader saw {} bytes", seen.len());
                }
            });
        });
        assert!(leftovers(dir).is_empty());
    }

    #[test]
    fn what_is_not_a_regular_file_is_refused_and_kept() {
        let scratch = scratch("special");
        let dir = &scratch.0;
        let sub = dir.join("sub");
        fs::create_dir(&sub).expect("dir");
        let err = write(&sub, b"model").expect_err("a directory").to_string();
        assert!(err.contains("not a regular file"), "{err}");
        assert!(sub.is_dir());
        let err = write(dir.join("missing").join("m.safetensors"), b"model").expect_err("no directory").to_string();
        assert!(err.contains("missing does not exist"), "{err}");
        assert_eq!(write("", b"model").expect_err("empty").to_string(), "\"\": empty path: name the model file to write");
        assert_eq!(read(Path::new("")).expect_err("empty").to_string(), "\"\": empty path: name the model file to read");
        let file = dir.join("afile");
        fs::write(&file, b"x").expect("file");
        let err = write(file.join("m.safetensors"), b"model").expect_err("a file as directory").to_string();
        assert!(err.contains("afile is not a directory"), "{err}");
        // A name at the file system's limit still gets a temporary beside it.
        let long = dir.join("m".repeat(250));
        write(&long, b"model").expect("a 250-byte name");
        assert_eq!(fs::read(&long).expect("read"), b"model");
        #[cfg(unix)]
        {
            // A pipe stands for the devices: a broken check must not cost
            // the machine its /dev/null.
            let pipe = dir.join("pipe");
            if std::process::Command::new("mkfifo").arg(&pipe).status().is_ok_and(|s| s.success()) {
                let err = write(&pipe, b"model").expect_err("a pipe").to_string();
                assert!(err.contains("not a regular file"), "{err}");
                assert!(!fs::symlink_metadata(&pipe).expect("pipe").is_file());
            }
            let dangling = dir.join("dangling");
            std::os::unix::fs::symlink(dir.join("nothing"), &dangling).expect("link");
            let err = write(&dangling, b"model").expect_err("dangling").to_string();
            assert!(err.contains("symbolic link to nothing"), "{err}");
        }
        assert!(leftovers(dir).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn the_replaced_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let scratch = scratch("mode");
        let dir = &scratch.0;
        let path = dir.join("m.safetensors");
        write(&path, b"old").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
        write(&path, b"new").expect("rewrite");
        assert_eq!(fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_keeps_pointing_at_the_new_model() {
        let scratch = scratch("link");
        let dir = &scratch.0;
        let real = dir.join("real.safetensors");
        let link = dir.join("link.safetensors");
        write(&real, b"old").expect("write");
        std::os::unix::fs::symlink(&real, &link).expect("link");
        write(&link, b"new").expect("through the link");
        assert!(fs::symlink_metadata(&link).expect("link").file_type().is_symlink());
        assert_eq!(fs::read(&real).expect("read"), b"new");
    }
}
