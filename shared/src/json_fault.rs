//! JSON failures told without the data: serde_json's own messages quote the offending value,
//! which can be a transcript line, a name or a call title, and error chains reach the logs.

use serde_json::error::Category;

/// Where a JSON value failed to (de)serialize and what kind of failure it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{problem} at line {line}, column {column}", problem = describe(*.category))]
pub struct JsonFault {
    pub line: usize,
    pub column: usize,
    pub category: Category,
}

fn describe(category: Category) -> &'static str {
    match category {
        Category::Syntax => "not well-formed JSON",
        Category::Eof => "the JSON ends too early",
        Category::Data => "a field is missing or of the wrong type",
        Category::Io => "the JSON could not be read or written",
    }
}

impl From<serde_json::Error> for JsonFault {
    fn from(error: serde_json::Error) -> Self {
        Self {
            line: error.line(),
            column: error.column(),
            category: error.classify(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_names_the_place_and_kind_but_never_the_value() {
        let error = serde_json::from_str::<Vec<u32>>(r#"["Our budget is tight"]"#).unwrap_err();
        assert!(
            error.to_string().contains("Our budget"),
            "serde quotes the value"
        );
        let fault = JsonFault::from(error);
        assert_eq!(
            fault.to_string(),
            "a field is missing or of the wrong type at line 1, column 22"
        );
    }
}
