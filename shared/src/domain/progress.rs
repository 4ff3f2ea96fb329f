//! A rep's progress over their recent calls: rolling metric averages and micro-goal results.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::SCHEMA_VERSION;
use crate::domain::analysis::{Analysis, MicroGoal};
use crate::ids::{CallId, TeamId, TenantId, UserId};

/// Calls kept in a rep's progress record.
pub const PROGRESS_WINDOW: usize = 20;

/// Whether a goal set on one call was met on the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoalResult {
    pub goal: MicroGoal,
    /// `None` when the call could not measure it (for example no times in the transcript).
    pub met: Option<bool>,
}

/// One scored call in a rep's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressEntry {
    pub call_id: CallId,
    /// The call's team: a manager sees the entries of the teams they manage only. Entries
    /// recorded before teams were kept have none and are shown to the rep alone.
    #[serde(default)]
    pub team_id: Option<TeamId>,
    #[serde(with = "time::serde::rfc3339")]
    pub scored_at: OffsetDateTime,
    pub overall_score: u8,
    pub rep_talk_ratio: Option<f64>,
    pub rep_questions: u32,
    pub longest_rep_monologue_ms: Option<f64>,
    pub patience_ms: Option<f64>,
    pub rep_filler_words_per_minute: Option<f64>,
    /// The goals of the rep's previous call, checked on this one.
    pub goal_results: Vec<GoalResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepProgress {
    pub schema_version: u32,
    pub tenant_id: TenantId,
    pub rep_id: UserId,
    /// Oldest first, at most [`PROGRESS_WINDOW`].
    pub entries: Vec<ProgressEntry>,
    /// The goals set by the latest call, to be checked on the next.
    pub current_goals: Vec<MicroGoal>,
    /// Current goals the rep marked complete (their own judgement; the next call still
    /// measures every goal).
    #[serde(default)]
    pub completed_goals: Vec<crate::ids::GoalId>,
}

/// Means over the most recent calls; `None` where no call measured the metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgressAverages {
    pub calls: usize,
    pub overall_score: Option<f64>,
    pub rep_talk_ratio: Option<f64>,
    pub rep_questions: Option<f64>,
    pub longest_rep_monologue_ms: Option<f64>,
    pub patience_ms: Option<f64>,
    pub rep_filler_words_per_minute: Option<f64>,
}

fn mean(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let (sum, count) = values
        .flatten()
        .fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    (count > 0).then(|| sum / count as f64)
}

impl RepProgress {
    pub fn new(tenant_id: TenantId, rep_id: UserId) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            tenant_id,
            rep_id,
            entries: Vec::new(),
            current_goals: Vec::new(),
            completed_goals: Vec::new(),
        }
    }

    /// Adds a scored call of `team`: checks the current goals against it, then takes its
    /// goals. A re-scored call replaces its earlier entry instead of counting twice.
    pub fn record(&mut self, analysis: &Analysis, team: &TeamId) {
        let existing = self
            .entries
            .iter()
            .position(|e| e.call_id == analysis.call_id);
        let checked: Vec<MicroGoal> = match existing {
            // Re-scoring: check the goals this call was measured against the first time.
            Some(index) => self
                .entries
                .remove(index)
                .goal_results
                .into_iter()
                .map(|r| r.goal)
                .collect(),
            None => std::mem::take(&mut self.current_goals),
        };
        let m = &analysis.metrics;
        let goal_results = checked
            .into_iter()
            .map(|goal| {
                let met = goal
                    .metric
                    .value_in(m, &analysis.highlights)
                    .map(|v| goal.target.is_met_by(v));
                GoalResult { goal, met }
            })
            .collect();
        self.entries.push(ProgressEntry {
            call_id: analysis.call_id.clone(),
            team_id: Some(team.clone()),
            scored_at: analysis.created_at,
            overall_score: analysis.overall_score,
            rep_talk_ratio: m.rep_talk_ratio.value(),
            rep_questions: m.rep_questions,
            longest_rep_monologue_ms: m.longest_rep_monologue_ms.value(),
            patience_ms: m.patience_ms.value(),
            rep_filler_words_per_minute: m.rep_filler_words_per_minute.value(),
            goal_results,
        });
        self.entries.sort_by_key(|e| e.scored_at);
        if self.entries.len() > PROGRESS_WINDOW {
            self.entries.drain(..self.entries.len() - PROGRESS_WINDOW);
        }
        // The newest call sets the goals for the next one.
        if self
            .entries
            .last()
            .is_some_and(|e| e.call_id == analysis.call_id)
        {
            self.current_goals = analysis.micro_goals.clone();
            self.completed_goals.clear();
        }
    }

    /// Drops the entry of a call that was deleted or expired; false when it had none. The
    /// current goals stay (they are the rep's, set by the newest call scored).
    pub fn forget_call(&mut self, call: &CallId) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| &e.call_id != call);
        self.entries.len() != before
    }

    /// Marks a current goal complete; false when it is not a current goal.
    pub fn complete_goal(&mut self, goal: &crate::ids::GoalId) -> bool {
        if !self.current_goals.iter().any(|g| &g.goal_id == goal) {
            return false;
        }
        if !self.completed_goals.contains(goal) {
            self.completed_goals.push(goal.clone());
        }
        true
    }

    /// What a manager of `teams` sees: the entries of calls in those teams, and the current
    /// goals only when the newest call (which set them) is one of those.
    pub fn seen_from(&self, teams: &[TeamId]) -> RepProgress {
        let shown = |e: &ProgressEntry| e.team_id.as_ref().is_some_and(|t| teams.contains(t));
        let goals_shown = self.entries.last().is_some_and(shown);
        RepProgress {
            entries: self.entries.iter().filter(|e| shown(e)).cloned().collect(),
            current_goals: if goals_shown {
                self.current_goals.clone()
            } else {
                Vec::new()
            },
            completed_goals: if goals_shown {
                self.completed_goals.clone()
            } else {
                Vec::new()
            },
            ..self.clone()
        }
    }

    /// Averages over the `last` most recent calls.
    pub fn averages(&self, last: usize) -> ProgressAverages {
        let recent = &self.entries[self.entries.len().saturating_sub(last)..];
        ProgressAverages {
            calls: recent.len(),
            overall_score: mean(recent.iter().map(|e| Some(f64::from(e.overall_score)))),
            rep_talk_ratio: mean(recent.iter().map(|e| e.rep_talk_ratio)),
            rep_questions: mean(recent.iter().map(|e| Some(f64::from(e.rep_questions)))),
            longest_rep_monologue_ms: mean(recent.iter().map(|e| e.longest_rep_monologue_ms)),
            patience_ms: mean(recent.iter().map(|e| e.patience_ms)),
            rep_filler_words_per_minute: mean(recent.iter().map(|e| e.rep_filler_words_per_minute)),
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::domain::analysis::{GoalTarget, HighlightKind};
    use crate::domain::call::CallType;
    use crate::domain::playbook::Playbook;
    use crate::ids::MintedId;
    use crate::parse::parse_vtt;
    use crate::scoring::{ScoringRequest, deterministic_analysis};
    use crate::system::RandomIds;

    fn team() -> TeamId {
        TeamId::from_random([7; 16])
    }

    /// An analysis of a call in which the rep asks `questions` questions.
    fn analysis(seed: u8, questions: usize, day: u8) -> Analysis {
        let asks = "How is that going? ".repeat(questions);
        let vtt = format!(
            "WEBVTT\n\n00:00.000 --> 00:10.000\n<v Dana>Hello. {asks}\n\n00:10.500 --> 00:20.000\n<v Sam>Fine, thanks.\n"
        );
        let transcript = parse_vtt(&vtt).unwrap();
        let a = deterministic_analysis(
            ScoringRequest {
                tenant_id: &TenantId::parse("acme").unwrap(),
                call_id: &CallId::from_random([seed; 16]),
                transcript_version: 1,
                transcript: &transcript,
                playbook: &Playbook::default(),
                call_type: CallType::Discovery,
                rep_override: None,
                rep_name: Some("Dana"),
            },
            &RandomIds,
            datetime!(2026-11-01 9:00 UTC) + time::Duration::days(i64::from(day)),
        );
        assert!(
            !a.highlights
                .iter()
                .any(|h| h.kind == HighlightKind::NextStep)
        );
        a
    }

    fn result(entry: &ProgressEntry, metric: &str) -> Option<bool> {
        entry
            .goal_results
            .iter()
            .find(|r| r.goal.metric == metric)
            .unwrap_or_else(|| panic!("no {metric} goal"))
            .met
    }

    #[test]
    fn goals_from_one_call_are_checked_on_the_next_and_averages_roll() {
        let mut p = RepProgress::new(
            TenantId::parse("acme").unwrap(),
            UserId::parse("dana").unwrap(),
        );
        let first = analysis(1, 2, 0);
        assert!(
            first
                .micro_goals
                .iter()
                .any(|g| g.metric == "rep_questions" && g.target == GoalTarget::AtLeast(11.0))
        );
        p.record(&first, &team());
        assert!(
            p.entries[0].goal_results.is_empty(),
            "no goals before the first call"
        );
        p.record(&analysis(2, 12, 1), &team());
        assert_eq!(
            result(&p.entries[1], "rep_questions"),
            Some(true),
            "12 questions meets 'at least 11'"
        );
        assert_eq!(
            result(&p.entries[1], "dated_next_steps"),
            Some(false),
            "still no dated next step"
        );
        let third = analysis(3, 3, 2);
        p.record(&third, &team());
        assert_eq!(result(&p.entries[2], "dated_next_steps"), Some(false));
        assert_eq!(
            p.current_goals, third.micro_goals,
            "the newest call sets the next goals"
        );
        let averages = p.averages(2);
        assert_eq!((averages.calls, averages.rep_questions), (2, Some(7.5)));
        assert_eq!(p.averages(usize::MAX).rep_questions, Some(17.0 / 3.0));
    }

    #[test]
    fn rescoring_replaces_the_entry_and_the_window_is_bounded() {
        let mut p = RepProgress::new(
            TenantId::parse("acme").unwrap(),
            UserId::parse("dana").unwrap(),
        );
        p.record(&analysis(1, 2, 0), &team());
        p.record(&analysis(1, 2, 0), &team());
        assert_eq!(p.entries.len(), 1, "a re-scored call counts once");
        for seed in 2..40u8 {
            p.record(&analysis(seed, 1, seed), &team());
        }
        assert_eq!(p.entries.len(), PROGRESS_WINDOW);
        assert_eq!(
            p.entries.last().unwrap().call_id,
            CallId::from_random([39; 16])
        );
    }

    #[test]
    fn a_manager_sees_the_entries_of_the_teams_they_manage_and_goals_only_from_there() {
        let (west, east) = (TeamId::from_random([1; 16]), TeamId::from_random([2; 16]));
        let mut p = RepProgress::new(
            TenantId::parse("acme").unwrap(),
            UserId::parse("r").unwrap(),
        );
        p.record(&analysis(1, 2, 1), &west);
        p.record(&analysis(2, 4, 2), &east);
        let from_west = p.seen_from(std::slice::from_ref(&west));
        assert_eq!(from_west.entries.len(), 1);
        assert_eq!(from_west.entries[0].team_id.as_ref(), Some(&west));
        assert_eq!(from_west.averages(5).calls, 1);
        assert!(from_west.current_goals.is_empty(), "set by east's call");
        let from_east = p.seen_from(std::slice::from_ref(&east));
        assert_eq!(from_east.entries.len(), 1);
        assert_eq!(from_east.current_goals, p.current_goals);
        // An entry from before teams were kept is the rep's alone.
        p.entries[0].team_id = None;
        assert!(p.seen_from(&[west, east]).entries.len() == 1);
    }
}
