//! The word and phrase lists the coach listens for, tokenized once per process.

use crate::domain::analysis::ObjectionType;
use crate::scoring::text::TokenList;

const OBJECTION_PHRASES: &[(ObjectionType, &[&str])] = &[
    (
        ObjectionType::Budget,
        &[
            "budget",
            "no money",
            "can't afford",
            "cannot afford",
            "funding",
            "spend is frozen",
            "frozen",
        ],
    ),
    (
        ObjectionType::Price,
        &[
            "too expensive",
            "expensive",
            "costs too much",
            "cost too much",
            "too pricey",
            "cheaper",
            "price is high",
            "pricing is high",
            "discount",
        ],
    ),
    (
        ObjectionType::Timing,
        &[
            "not a priority",
            "not right now",
            "next quarter",
            "next year",
            "bad time",
            "too busy",
            "revisit",
            "not the right time",
        ],
    ),
    (
        ObjectionType::Authority,
        &[
            "check with",
            "my boss",
            "run it by",
            "decision maker",
            "sign off",
            "approval",
            "procurement",
            "legal review",
            "the committee",
        ],
    ),
    (
        ObjectionType::Competitor,
        &[
            "already use",
            "already using",
            "competitor",
            "currently using",
            "another vendor",
            "switching cost",
        ],
    ),
    (
        ObjectionType::StatusQuo,
        &[
            "happy with",
            "works fine",
            "what we have",
            "don't need",
            "do not need",
            "spreadsheet",
            "current process",
            "not broken",
        ],
    ),
];

/// Words that show a reply speaks to an objection of this kind.
pub(super) fn topic_words(kind: ObjectionType) -> &'static [&'static str] {
    match kind {
        ObjectionType::Price => &[
            "price",
            "pricing",
            "cost",
            "costs",
            "value",
            "roi",
            "return",
            "invest",
            "investment",
            "seat",
        ],
        ObjectionType::Budget => &[
            "budget", "cost", "roi", "value", "invest", "fiscal", "quarter", "pay",
        ],
        ObjectionType::Timing => &[
            "timeline", "priority", "when", "quarter", "date", "deadline",
        ],
        ObjectionType::Authority => &[
            "who",
            "decision",
            "involve",
            "approve",
            "approval",
            "stakeholders",
        ],
        ObjectionType::Competitor => &[
            "compare",
            "comparison",
            "difference",
            "different",
            "import",
            "migrate",
            "switch",
        ],
        ObjectionType::StatusQuo => &["cost", "today", "currently", "change", "risk", "impact"],
        ObjectionType::Need => &["need", "goal", "problem", "help", "use", "benefit"],
        ObjectionType::Trust => &[
            "guarantee",
            "warranty",
            "reviews",
            "references",
            "trial",
            "promise",
        ],
        ObjectionType::Cancellation => &["keep", "stay", "offer", "credit", "discount", "fix"],
        ObjectionType::Other => &["understand", "concern", "hear"],
    }
}

const NEXT_STEP_PHRASES: &[&str] = &[
    "next step",
    "next steps",
    "follow up",
    "follow-up",
    "send over",
    "send you",
    "schedule",
    "calendar invite",
    "book a",
    "set up a",
    "meet again",
    "circle back",
    "trial",
    "proposal",
    "pilot",
    "get a time",
    "invite",
];

pub(super) const WEEKDAYS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "tomorrow",
];
pub(super) const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Words of a customer describing a problem, for the summary's customer quote.
pub(super) const PAIN_WORDS: &[&str] = &[
    "problem",
    "challenge",
    "struggle",
    "pain",
    "issue",
    "hours",
    "manual",
    "slow",
    "frustrating",
    "costly",
    "losing",
];

fn tokenized(phrases: &[&str]) -> Vec<TokenList> {
    phrases.iter().map(|p| TokenList::from_text(p)).collect()
}

/// The phrase lists, tokenized.
pub(super) struct Lexicon {
    pub objections: Vec<(ObjectionType, Vec<TokenList>)>,
    pub next_steps: Vec<TokenList>,
}

pub(super) static LEXICON: std::sync::LazyLock<Lexicon> = std::sync::LazyLock::new(|| Lexicon {
    objections: OBJECTION_PHRASES
        .iter()
        .map(|(kind, phrases)| (*kind, tokenized(phrases)))
        .collect(),
    next_steps: tokenized(NEXT_STEP_PHRASES),
});
