//! Which transcript speaker is the rep.
//!
//! The rule, in order: (1) the speaker the user set on the call (`rep_speaker`, matched to a
//! label or name); (2) a speaker whose name matches the rep's name (case-insensitive, whole name
//! or first name); (3) the `AGENT` role in Transcribe Call Analytics output; (4) otherwise the
//! first speaker to talk, since the rep usually opens a sales call. The user can always correct
//! it and re-score without re-transcribing.

use crate::domain::transcript::Transcript;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepChoice {
    pub speaker: Option<usize>,
    pub rule: &'static str,
}

fn same_name(candidate: &str, wanted: &str) -> bool {
    let (c, w) = (
        candidate.trim().to_lowercase(),
        wanted.trim().to_lowercase(),
    );
    !w.is_empty() && (c == w || c.split_whitespace().next() == w.split_whitespace().next())
}

pub fn choose_rep(
    transcript: &Transcript,
    override_speaker: Option<&str>,
    rep_name: Option<&str>,
) -> RepChoice {
    let find = |wanted: &str, exact: bool| {
        transcript.speakers.iter().position(|s| {
            let name = s.name.as_deref().unwrap_or("");
            if exact {
                s.label == wanted || name == wanted
            } else {
                same_name(name, wanted) || same_name(&s.label, wanted)
            }
        })
    };
    if let Some(index) = override_speaker.and_then(|o| find(o, true).or_else(|| find(o, false))) {
        return RepChoice {
            speaker: Some(index),
            rule: "set by the user",
        };
    }
    if let Some(index) = rep_name.and_then(|n| find(n, false)) {
        return RepChoice {
            speaker: Some(index),
            rule: "speaker name matches the rep",
        };
    }
    if let Some(index) = transcript.speakers.iter().position(|s| s.label == "AGENT") {
        return RepChoice {
            speaker: Some(index),
            rule: "the AGENT role",
        };
    }
    RepChoice {
        speaker: transcript.utterances.first().map(|u| u.speaker),
        rule: "the first speaker (default rule)",
    }
}
