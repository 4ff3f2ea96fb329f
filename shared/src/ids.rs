//! Validated identifiers.
//!
//! Ids the system mints (teams, calls, highlights, ...) are a short prefix and 128 random bits in
//! lowercase hex, so they cannot be guessed or enumerated. Tenant and user ids may come from the
//! identity provider (a Cognito `sub` is a UUID), so they accept any short token of safe
//! characters. No id may contain `#`, `/` or `.`: ids are embedded in DynamoDB and S3 keys.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind} id is empty")]
    Empty { kind: &'static str },
    #[error("{kind} id is longer than {max} characters")]
    TooLong { kind: &'static str, max: usize },
    #[error("{kind} id has a character outside [A-Za-z0-9_-]")]
    BadCharacter { kind: &'static str },
    #[error("{kind} id must look like `{prefix}_` followed by 32 lowercase hex digits")]
    BadFormat {
        kind: &'static str,
        prefix: &'static str,
    },
}

const MAX_EXTERNAL_ID_LEN: usize = 64;

fn check_external(kind: &'static str, value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if value.len() > MAX_EXTERNAL_ID_LEN {
        return Err(IdError::TooLong {
            kind,
            max: MAX_EXTERNAL_ID_LEN,
        });
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(IdError::BadCharacter { kind });
    }
    Ok(())
}

fn check_minted(kind: &'static str, prefix: &'static str, value: &str) -> Result<(), IdError> {
    let bad = || IdError::BadFormat { kind, prefix };
    let rest = value
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('_'))
        .ok_or_else(bad)?;
    if rest.len() != 32 || !rest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(bad());
    }
    Ok(())
}

/// An id type the system mints itself from random bytes.
pub trait MintedId: Sized {
    fn from_random(bytes: [u8; 16]) -> Self;
}

fn hex(bytes: [u8; 16]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, external) => {
        id_type!(@common $(#[$doc])* $name, $kind, |v: &str| check_external($kind, v));
    };
    ($(#[$doc:meta])* $name:ident, $kind:literal, minted $prefix:literal) => {
        id_type!(@common $(#[$doc])* $name, $kind, |v: &str| check_minted($kind, $prefix, v));
        impl MintedId for $name {
            fn from_random(bytes: [u8; 16]) -> Self {
                Self(format!("{}_{}", $prefix, hex(bytes)))
            }
        }
    };
    (@common $(#[$doc:meta])* $name:ident, $kind:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                ($check)(&value)?;
                Ok(Self(value))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::parse(value)
            }
        }
        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

id_type!(
    /// A workspace (customer account). Every stored key begins with it.
    TenantId, "tenant", external
);
id_type!(
    /// A person, as the identity provider names them (`sub` claim).
    UserId, "user", external
);
id_type!(TeamId, "team", minted "team");
id_type!(CallId, "call", minted "call");
id_type!(HighlightId, "highlight", minted "hl");
id_type!(GoalId, "goal", minted "goal");
id_type!(ExportId, "export", minted "exp");
id_type!(AuditEventId, "audit event", minted "aud");
id_type!(ReceiptId, "receipt", minted "rcpt");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_round_trip_and_reject_tampering() {
        let id = CallId::from_random([0xab; 16]);
        assert_eq!(CallId::parse(id.as_str()).unwrap(), id);
        assert!(CallId::parse("call_ABABABABABABABABABABABABABABABAB").is_err());
        assert!(CallId::parse("team_abababababababababababababababab").is_err());
        assert!(CallId::parse("call_abab").is_err());
        assert!(CallId::parse(format!("{}0", id.as_str())).is_err());
    }

    #[test]
    fn external_ids_refuse_key_separators() {
        for bad in ["", "a#b", "a/b", "..", "a b", &"x".repeat(65)] {
            assert!(TenantId::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(UserId::parse("3f1c2a9e-1111-4bbb-8ccc-0123456789ab").is_ok());
    }

    #[test]
    fn serde_validates() {
        let parsed: Result<TenantId, _> = serde_json::from_str("\"a/b\"");
        assert!(parsed.is_err());
        let ok: TenantId = serde_json::from_str("\"acme\"").unwrap();
        assert_eq!(ok.as_str(), "acme");
    }
}
