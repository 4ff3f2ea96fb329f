//! A team's sales playbook: what the coach scores against.

use serde::{Deserialize, Serialize};

use crate::domain::analysis::ObjectionType;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectionHandling {
    pub objection: ObjectionType,
    /// The recommended response, in the team's words.
    pub response: String,
}

/// Keywords or phrases to count (competitors, pricing, next steps, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tracker {
    pub name: String,
    pub phrases: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    #[serde(default)]
    pub value_propositions: Vec<String>,
    #[serde(default)]
    pub ideal_customer_profile: String,
    #[serde(default)]
    pub objection_handling: Vec<ObjectionHandling>,
    #[serde(default)]
    pub trackers: Vec<Tracker>,
}

/// Bounds on a playbook, so one team cannot make scoring slow or the item too large.
pub const MAX_ENTRIES: usize = 50;
pub const MAX_TEXT: usize = 1000;

impl Playbook {
    /// Checks the bounds; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        let text = |name: &str, value: &str| {
            if value.chars().count() > MAX_TEXT {
                Err(format!("{name}: at most {MAX_TEXT} characters"))
            } else {
                Ok(())
            }
        };
        let count = |name: &str, n: usize| {
            if n > MAX_ENTRIES {
                Err(format!("{name}: at most {MAX_ENTRIES} entries"))
            } else {
                Ok(())
            }
        };
        count("value_propositions", self.value_propositions.len())?;
        count("objection_handling", self.objection_handling.len())?;
        count("trackers", self.trackers.len())?;
        text("ideal_customer_profile", &self.ideal_customer_profile)?;
        for v in &self.value_propositions {
            text("value_propositions[]", v)?;
        }
        for o in &self.objection_handling {
            text("objection_handling[].response", &o.response)?;
        }
        for t in &self.trackers {
            text("trackers[].name", &t.name)?;
            count("trackers[].phrases", t.phrases.len())?;
            if t.name.trim().is_empty()
                || t.phrases
                    .iter()
                    .any(|p| p.trim().is_empty() || p.chars().count() > 100)
            {
                return Err("trackers[]: a name and phrases of 1 to 100 characters".into());
            }
        }
        Ok(())
    }
}
