//! Provider secrets (the Deepgram key, the LLM keys), read once at cold start from Secrets
//! Manager. The deployment passes each as `{NAME}_SECRET_ARN`, the ARN of a secret whose
//! string is the key; the key itself is never in the environment. Inside Lambda a plain
//! `{NAME}` variable is refused, so a key cannot slip back into the function configuration;
//! locally (tests, the demo) a plain variable still works.

use std::collections::BTreeMap;

use aws_config::SdkConfig;

use super::backend;
use crate::config::ConfigError;
use crate::ports::BackendError;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("secret {name}: Secrets Manager could not be read")]
    Read {
        name: &'static str,
        #[source]
        source: BackendError,
    },
    #[error("secret {name}: the secret has no string value")]
    Empty { name: &'static str },
}

/// The environment with the provider secrets filled in from Secrets Manager. `Debug` shows
/// which secrets were read, never their values.
pub struct ResolvedEnv<F> {
    env: F,
    secrets: BTreeMap<&'static str, zeroize::Zeroizing<String>>,
}

impl<F> std::fmt::Debug for ResolvedEnv<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedEnv")
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl<F: Fn(&str) -> Option<String>> ResolvedEnv<F> {
    /// A variable: a secret read at start, or the environment's own value.
    pub fn get(&self, name: &str) -> Option<String> {
        match self.secrets.get(name) {
            Some(value) => Some(value.as_str().to_owned()),
            None => (self.env)(name),
        }
    }
}

fn arn_var(name: &str) -> String {
    format!("{name}_SECRET_ARN")
}

/// Reads every secret of `names` that `lookup` gives an ARN for. Inside Lambda
/// (`AWS_LAMBDA_FUNCTION_NAME` set) a secret given in plain fails the start with its name.
pub async fn resolve<F: Fn(&str) -> Option<String>>(
    sdk: &SdkConfig,
    lookup: F,
    names: &[&'static str],
) -> Result<ResolvedEnv<F>, SecretError> {
    let in_lambda = lookup("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let mut secrets = BTreeMap::new();
    for &name in names {
        if in_lambda && lookup(name).is_some_and(|v| !v.trim().is_empty()) {
            return Err(ConfigError::Invalid {
                name,
                reason: format!(
                    "a provider key in a plain environment variable; give {} instead",
                    arn_var(name)
                ),
            }
            .into());
        }
        let Some(arn) = lookup(&arn_var(name)).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        let out = client
            .get_secret_value()
            .secret_id(arn.trim())
            .send()
            .await
            .map_err(|e| SecretError::Read {
                name,
                source: backend(e),
            })?;
        let value = out
            .secret_string()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or(SecretError::Empty { name })?;
        secrets.insert(name, zeroize::Zeroizing::new(value.to_owned()));
    }
    Ok(ResolvedEnv {
        env: lookup,
        secrets,
    })
}
