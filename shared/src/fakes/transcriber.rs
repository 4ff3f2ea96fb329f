//! Amazon Transcribe's job port.

use std::collections::HashMap;
use std::sync::Mutex;

/// Amazon Transcribe's job states as a test sets them.
#[derive(Default)]
pub struct FakeTranscribeJobs(Mutex<HashMap<String, crate::usecases::transcribe::JobState>>);

impl FakeTranscribeJobs {
    pub fn set(&self, job: &str, state: crate::usecases::transcribe::JobState) {
        self.0.lock().unwrap().insert(job.to_owned(), state);
    }
}

impl crate::usecases::transcribe::TranscribeJobs for FakeTranscribeJobs {
    async fn state(
        &self,
        job: &str,
    ) -> Result<crate::usecases::transcribe::JobState, crate::ports::BackendError> {
        self.0
            .lock()
            .unwrap()
            .get(job)
            .copied()
            .ok_or_else(|| "no such job".into())
    }

    async fn finished(&self) -> Result<Vec<String>, crate::ports::BackendError> {
        let mut names: Vec<_> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, s)| **s != crate::usecases::transcribe::JobState::Running)
            .map(|(n, _)| n.clone())
            .collect();
        names.sort();
        Ok(names)
    }
}
