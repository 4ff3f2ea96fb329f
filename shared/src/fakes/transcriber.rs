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
        Ok(self
            .0
            .lock()
            .unwrap()
            .get(job)
            .copied()
            .unwrap_or(crate::usecases::transcribe::JobState::Deleted))
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

    async fn forget(&self, job: &str) -> Result<(), crate::ports::BackendError> {
        let mut jobs = self.0.lock().unwrap();
        if jobs.get(job) == Some(&crate::usecases::transcribe::JobState::Running) {
            return Err("a running job cannot be deleted".into());
        }
        jobs.remove(job);
        Ok(())
    }
}

impl FakeTranscribeJobs {
    /// Whether the service still holds `job`.
    pub fn holds(&self, job: &str) -> bool {
        self.0.lock().unwrap().contains_key(job)
    }
}
