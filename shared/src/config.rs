//! Typed configuration, read once at cold start. A missing or bad variable fails the start with
//! its name, not a request later.

use crate::crypto::{CategoryKeys, DataCategory};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Reads a variable through `lookup` (the process environment in production).
pub fn required(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<String, ConfigError> {
    lookup(name)
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError::Missing(name))
}

pub fn flag(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match lookup(name).as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(other) => Err(ConfigError::Invalid {
            name,
            reason: format!("expected true or false, got {other:?}"),
        }),
    }
}

/// A whole number within `range`, or `default` when unset.
pub fn bounded(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    range: std::ops::RangeInclusive<u32>,
    default: u32,
) -> Result<u32, ConfigError> {
    match lookup(name).as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| ConfigError::Invalid {
                name,
                reason: format!(
                    "expected a whole number from {} to {}, got {text:?}",
                    range.start(),
                    range.end()
                ),
            }),
    }
}

pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The AWS resources every function works with.
#[derive(Debug, Clone)]
pub struct ResourceConfig {
    pub table_name: String,
    /// The table of wrapped data keys (short backup window; see the README's "Backups").
    pub keys_table_name: String,
    pub bucket_name: String,
    /// KMS key for objects this service writes to the bucket (SSE-KMS).
    pub storage_kms_key: String,
    pub category_keys: CategoryKeys,
    /// Path-style S3 addressing, needed by the local stand-in.
    pub s3_force_path_style: bool,
}

/// Variable holding the KMS key (id, ARN or alias) of each data category.
pub fn category_key_var(category: DataCategory) -> &'static str {
    match category {
        DataCategory::Transcripts => "KMS_KEY_TRANSCRIPTS",
        DataCategory::Insights => "KMS_KEY_INSIGHTS",
        DataCategory::Notes => "KMS_KEY_NOTES",
        DataCategory::Tokens => "KMS_KEY_TOKENS",
        DataCategory::Metadata => "KMS_KEY_METADATA",
    }
}

impl ResourceConfig {
    /// Reads the resources; `categories` are the key domains this function may use (a function
    /// without access to the tokens domain is not given its key).
    pub fn from_lookup(
        lookup: &impl Fn(&str) -> Option<String>,
        categories: &[DataCategory],
    ) -> Result<Self, ConfigError> {
        let mut keys = Vec::new();
        for &category in categories {
            keys.push((category, required(lookup, category_key_var(category))?));
        }
        Ok(Self {
            table_name: required(lookup, "TABLE_NAME")?,
            keys_table_name: required(lookup, "KEYS_TABLE_NAME")?,
            bucket_name: required(lookup, "BUCKET_NAME")?,
            storage_kms_key: required(lookup, "STORAGE_KMS_KEY")?,
            category_keys: CategoryKeys::new(keys),
            s3_force_path_style: flag(lookup, "S3_FORCE_PATH_STYLE", false)?,
        })
    }

    pub fn from_env(categories: &[DataCategory]) -> Result<Self, ConfigError> {
        Self::from_lookup(&process_env, categories)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn missing_variable_is_named() {
        let env = lookup(&[("TABLE_NAME", "t"), ("BUCKET_NAME", "b")]);
        let err = ResourceConfig::from_lookup(&env, &[]).unwrap_err();
        assert_eq!(err, ConfigError::Missing("KEYS_TABLE_NAME"));
        let env = lookup(&[
            ("TABLE_NAME", "t"),
            ("KEYS_TABLE_NAME", "k"),
            ("BUCKET_NAME", "b"),
        ]);
        let err = ResourceConfig::from_lookup(&env, &[]).unwrap_err();
        assert_eq!(err, ConfigError::Missing("STORAGE_KMS_KEY"));
        let err = ResourceConfig::from_lookup(&env, &[DataCategory::Tokens]).unwrap_err();
        assert_eq!(err, ConfigError::Missing("KMS_KEY_TOKENS"));
    }

    #[test]
    fn bad_flag_is_rejected() {
        let env = lookup(&[
            ("TABLE_NAME", "t"),
            ("KEYS_TABLE_NAME", "k"),
            ("BUCKET_NAME", "b"),
            ("STORAGE_KMS_KEY", "k"),
            ("S3_FORCE_PATH_STYLE", "yes"),
        ]);
        assert!(matches!(
            ResourceConfig::from_lookup(&env, &[]),
            Err(ConfigError::Invalid {
                name: "S3_FORCE_PATH_STYLE",
                ..
            })
        ));
    }
}
