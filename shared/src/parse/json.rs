//! Borrowing pieces for the provider JSON parsers: a one-hour call is tens of thousands of
//! small strings, and copying each into its own allocation was most of the parse time.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use serde::de::{Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};

use super::ParseError;

/// Reads a provider's JSON document. The bytes are checked as UTF-8 once, up front, so the
/// parser does not check each of the call's tens of thousands of strings again.
pub(super) fn from_json<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ParseError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ParseError::NotText)?;
    serde_json::from_str(text).map_err(|e| ParseError::json(&e))
}

/// A JSON string borrowed from the input, copied only when it holds escapes. Unlike a
/// `Cow<str>` field, it keeps borrowing inside an `Option`.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Text<'a>(Cow<'a, str>);

impl<'a> Text<'a> {
    pub fn into_cow(self) -> Cow<'a, str> {
        self.0
    }
}

impl Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Cow<'de, str>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(value))
            }

            fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(value.to_owned()))
            }

            fn visit_string<E>(self, value: String) -> Result<Self::Value, E> {
                Ok(Cow::Owned(value))
            }
        }

        deserializer.deserialize_str(TextVisitor).map(Text)
    }
}

/// The first element of a JSON array, the rest skipped without being built or checked
/// against the element's shape (providers list alternatives of which only the first, the best,
/// is read; a malformed later one is not refused).
pub(super) fn first<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct FirstVisitor<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for FirstVisitor<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let first = seq.next_element()?;
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(first)
        }
    }

    deserializer.deserialize_seq(FirstVisitor(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Item<'a> {
        #[serde(borrow)]
        text: Option<Text<'a>>,
        #[serde(default, deserialize_with = "first", borrow)]
        alternatives: Option<Text<'a>>,
    }

    #[test]
    fn strings_borrow_unless_escaped_and_only_the_first_alternative_is_kept() {
        let plain: Item =
            serde_json::from_str(r#"{"text":"hello","alternatives":["a","b"]}"#).unwrap();
        assert!(matches!(plain.text, Some(Text(Cow::Borrowed("hello")))));
        assert_eq!(plain.alternatives.as_deref(), Some("a"));

        let escaped: Item =
            serde_json::from_str(r#"{"text":"say \"hi\"","alternatives":[]}"#).unwrap();
        assert!(matches!(&escaped.text, Some(Text(Cow::Owned(s))) if s == "say \"hi\""));
        assert_eq!(escaped.alternatives, None);

        let missing: Item = serde_json::from_str("{}").unwrap();
        assert_eq!((missing.text, missing.alternatives), (None, None));
        assert!(serde_json::from_str::<Item>(r#"{"alternatives":"x"}"#).is_err());
    }
}
