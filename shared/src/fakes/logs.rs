//! Log lines captured while a test runs.

use std::sync::Mutex;

/// Log lines written while a test runs, as JSON: [`CapturedLogs::during`] installs a
/// subscriber for the current thread (a `#[tokio::test]` runs on one).
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Captures every level until the guard drops.
    pub fn during(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_current_span(true)
            .with_writer(self.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    /// Captures for the whole process (tasks on other threads too) at the levels `filter`
    /// names (`EnvFilter` syntax). Once per test binary.
    pub fn install_globally(&self, filter: &str) {
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_current_span(true)
            .with_writer(self.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber per binary");
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
