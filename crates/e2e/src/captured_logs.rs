//! Every log line of a test process, kept in memory so that a test can
//! check what was logged, such as that no secret was.

use std::sync::{Arc, Mutex, OnceLock};

/// Sends every log line of this process, at debug level, to a buffer and
/// returns it. A process has one global subscriber, so every test of one
/// test binary shares the buffer.
pub fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(install_capture).clone()
}

/// Returns the contents of the buffer of [`capture_logs`] as text.
pub fn captured_text(logs: &Mutex<Vec<u8>>) -> String {
    let bytes = logs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    String::from_utf8_lossy(&bytes).into_owned()
}

fn install_capture() -> Arc<Mutex<Vec<u8>>> {
    #[derive(Clone)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = Buffer(buffer.clone());
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("no other subscriber is set");
    buffer
}
