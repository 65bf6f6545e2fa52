//! Reloading when the configuration files change.

use std::collections::HashSet;
use std::error::Error;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use crate::{LoadError, Registry, ReloadReport};

/// How long the files must be quiet before a reload: editors write a file in several
/// steps (truncate, write, rename), and one save should cause one reload.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// Watches a registry's configuration files; dropping it stops watching.
///
/// Returned by [`Registry::watch`].
pub struct Watch {
    watcher: Option<RecommendedWatcher>,
    thread: Option<JoinHandle<()>>,
    files: Vec<PathBuf>,
}

impl Watch {
    /// The files watched.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Stops watching and waits for a reload in progress to finish.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        // Dropping the watcher drops its event sender, which ends the thread.
        drop(self.watcher.take());
        if let Some(thread) = self.thread.take() {
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch").field("files", &self.files).finish()
    }
}

/// Watching could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum WatchError {
    /// The sources name no file.
    NoFiles,
    /// The sources' files could not be determined.
    Sources(LoadError),
    /// The operating system's file watcher refused.
    Notify(notify::Error),
}

impl fmt::Display for WatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WatchError::NoFiles => f.write_str("no configuration file to watch"),
            WatchError::Sources(_) => {
                f.write_str("the configuration files could not be determined")
            }
            WatchError::Notify(_) => f.write_str("the file watcher could not start"),
        }
    }
}

impl Error for WatchError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            WatchError::NoFiles => None,
            WatchError::Sources(e) => Some(e),
            WatchError::Notify(e) => Some(e),
        }
    }
}

impl Registry {
    /// Reloads the registry whenever one of its configuration files changes, and hands
    /// each outcome to `on_reload` (on the watcher's own thread).
    ///
    /// Watches the directories of the files the sources name now, so that files
    /// replaced by a rename (as many editors save) are still seen. Changes are
    /// debounced ([`DEBOUNCE`]). The watcher keeps a handle on the registry until the
    /// returned [`Watch`] is dropped.
    pub fn watch<F>(&self, mut on_reload: F) -> Result<Watch, WatchError>
    where
        F: FnMut(Result<ReloadReport, LoadError>) + Send + 'static,
    {
        let files = self
            .sources()
            .resolve_files()
            .map_err(|p| WatchError::Sources(LoadError::new(vec![p])))?;
        if files.is_empty() {
            return Err(WatchError::NoFiles);
        }
        let names: HashSet<OsString> = files
            .iter()
            .filter_map(|f| f.file_name().map(|n| n.to_owned()))
            .collect();
        let dirs: HashSet<PathBuf> = files.iter().map(|f| directory(f)).collect();

        let (events, changes) = mpsc::channel::<notify::Result<notify::Event>>();
        let mut watcher = notify::recommended_watcher(move |event| {
            let _ = events.send(event);
        })
        .map_err(WatchError::Notify)?;
        for dir in &dirs {
            watcher
                .watch(dir, RecursiveMode::NonRecursive)
                .map_err(WatchError::Notify)?;
        }

        let registry = self.clone();
        let concerns = move |event: &notify::Result<notify::Event>| match event {
            Ok(event) => {
                !event.kind.is_access()
                    && event
                        .paths
                        .iter()
                        .any(|p| p.file_name().is_some_and(|n| names.contains(n)))
            }
            Err(_) => false,
        };
        let thread = std::thread::Builder::new()
            .name("bulkhead-watch".to_owned())
            .spawn(move || {
                while let Ok(event) = changes.recv() {
                    if !concerns(&event) {
                        continue;
                    }
                    // Wait until the files are quiet, then reload once.
                    loop {
                        match changes.recv_timeout(DEBOUNCE) {
                            Ok(_) => continue,
                            Err(mpsc::RecvTimeoutError::Timeout) => break,
                            Err(mpsc::RecvTimeoutError::Disconnected) => return,
                        }
                    }
                    on_reload(registry.reload());
                }
            })
            .map_err(|e| WatchError::Notify(notify::Error::io(e)))?;

        Ok(Watch {
            watcher: Some(watcher),
            thread: Some(thread),
            files,
        })
    }
}

fn directory(file: &Path) -> PathBuf {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    }
}
