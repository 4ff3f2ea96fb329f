//! A team's sales playbook: what the coach scores against.

use serde::{Deserialize, Serialize};

use crate::domain::analysis::ObjectionType;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectionHandling {
    pub objection: ObjectionType,
    /// The recommended response, in the team's words.
    pub response: String,
}

/// Keywords or phrases to count (competitors, pricing, next steps, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
