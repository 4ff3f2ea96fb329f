//! The word and phrase lists the coach listens for, tokenized once per process.

use super::cues::CueSet;
use crate::domain::analysis::ObjectionType;

/// What customers say when something stands in the way, by type. Listed from the wordings
/// of sales and service calls in general (price and value, money, time, who decides, other
/// vendors, the way things are, need, doubt, leaving); see `cues` for the syntax. The order
/// of the types is their precedence when one sentence holds several: a topic ("my concern is
/// the price") outranks a bare worry.
pub(super) const OBJECTION_CUES: &[(ObjectionType, &[&str])] = &[
    (
        ObjectionType::Cancellation,
        &[
            "cancel|cancelling|canceling|cancellation|unsubscribe",
            "close|terminate|end|stop my|the account|contract|service|subscription|plan|membership",
            "get out of my|the|this contract",
            "port my number",
            "switch carriers|providers",
        ],
    ),
    (
        ObjectionType::Budget,
        &[
            "no|limited|tight|small budget",
            "budget is|was tight|limited|frozen|gone|spent",
            "over|outside|beyond|out of my|our|the budget",
            "budget constraints|cuts|freeze",
            "spend is frozen",
            "!afford",
            "no money",
            "short on money|cash",
            "money is tight",
            "cash flow",
        ],
    ),
    (
        ObjectionType::Price,
        &[
            "expensive|pricey|overpriced|costly|steep",
            "too much money",
            "lot of money",
            "costs|cost too much",
            "price|prices|pricing|cost|rate|rates is|are|seems|seem too high",
            "significant|big|huge|large|major investment",
            "more than i|we hoped|expected|thought|planned|wanted",
            "out of my|our price range",
            "cost-benefit",
            "can't|cannot justify the|that cost|price|expense|spend",
            "rip-off|ripoff",
            "!worth",
            "money's worth",
            "any|a|some discount|discounts",
            "cheaper option|plan|version",
            "lower the price",
        ],
    ),
    (
        ObjectionType::Authority,
        &[
            "speak|talk|check|discuss|consult|confer with|to my|our|the wife|husband|partner|spouse|boss|manager|team|family|parents|dad|mom|cfo|ceo|director|board|owner|accountant|lawyer|supervisor",
            "over with my|our wife|husband|partner|spouse|boss|team|family",
            "run it|this|that by",
            "ask my wife|husband|partner|boss|manager",
            "decision maker",
            "!my decision",
            "!up to me",
            "need|needs|get|getting approval",
            "sign off|sign-off",
            "the committee",
            "procurement",
            "legal review",
        ],
    ),
    (
        ObjectionType::Competitor,
        &[
            "another|other company|companies|provider|providers|vendor|vendors|carrier|contractor|contractors|supplier|quote|quotes|bid|bids",
            "somewhere|someplace else",
            "elsewhere",
            "shop|shopping around",
            "competitor|competitors",
            "already use|using",
            "already working with",
            "currently use|using",
            "going|went with someone|somebody|another",
            "better deal|offer",
        ],
    ),
    (
        ObjectionType::Timing,
        &[
            "!right now",
            "!today|tonight",
            "not now",
            "!at the moment",
            "!this year|month|week|quarter|time",
            "!ready",
            "!a priority",
            "!the right time",
            "think about it|this|that",
            "think it over",
            "sleep on it",
            "hold off",
            "wait until|till",
            "postpone|postponing",
            "put it off",
            "bad time",
            "too busy",
            "busy right now|lately",
            "busy this|that|next week|month|weekend|quarter",
            "occupied",
            "next quarter|year",
            "maybe later",
            "down the road",
        ],
    ),
    (
        ObjectionType::StatusQuo,
        &[
            "happy|satisfied with our|my current|existing|provider|system|setup|plan|service|vendor",
            "happy|satisfied|fine with what we|i have|got|use",
            "happy|satisfied with the current|existing",
            "works|working fine",
            "works for us",
            "not broken",
            "we're|we are fine",
            "do it ourselves",
            "the way we do it",
            "!want to change",
            "spreadsheet|spreadsheets",
        ],
    ),
    (
        ObjectionType::Need,
        &[
            "!need|needed|necessary|useful|relevant|interested|interest",
            "no need|use for",
            "!a good fit",
            "!a fit",
            "waste of",
            "!see the point|value",
        ],
    ),
    (
        ObjectionType::Trust,
        &[
            "afraid|worried|worry|worries|concerned|concern|concerns|nervous|scared|skeptical|sceptical|hesitant|wary",
            "doubt|doubts",
            "!trust",
            "bad experience",
            "same problem|problems|issue|issues",
            "heard bad things",
            "scam",
            "risky",
            "too good to be true",
            "burned before",
        ],
    ),
    (
        ObjectionType::Other,
        &[
            "don't|do not like",
            "dislike",
            "complicated|complex|overwhelming|confusing|intimidating",
            "too much work|hassle|effort|trouble",
            "hassle",
            "hard|difficult to use|learn|understand|set up|manage",
            "learning curve",
            "!tech-savvy|techsavvy",
            "!tech savvy",
        ],
    ),
];

/// Objection cues that still count inside a question: asking for a lower price is resisting
/// the price, while "what does it cost?" is a neutral question.
pub(super) const ASKED_OBJECTION_CUES: &[(ObjectionType, &[&str])] = &[(
    ObjectionType::Price,
    &[
        "any|a|some discount|discounts|deal|deals",
        "cheaper option|plan|version|one",
        "lower the price",
        "best price",
        "price match",
    ],
)];

/// What a rep says when engaging with an objection: acknowledging it, or offering a way
/// through ("I understand", "what if", "we can", "a free trial", "financing").
pub(super) const ANSWER_CUES: &[((), &[&str])] = &[(
    (),
    &[
        "understand|understandable|appreciate|fair|agree",
        "hear you",
        "makes sense",
        "good|great question",
        "of course",
        "no problem",
        "we|i|you can|could",
        "what if",
        "how about",
        "option|options|alternative|instead",
        "free|credit|discount|guarantee|guaranteed|warranty|trial|financing|refund",
        "no obligation",
        "worth|value|save|saves|savings",
    ],
)];

/// What a next step does, so that a step said twice is one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StepAction {
    Send,
    Message,
    Call,
    Meet,
    Trial,
    Proposal,
    Agreement,
    FollowUp,
}

/// Words that say what the step is.
/// In precedence order: a sentence with several ("I'll send you a calendar invite") is
/// the first one's.
pub(super) const STEP_ACTION_CUES: &[(StepAction, &[&str])] = &[
    (
        StepAction::Meet,
        &[
            "schedule|book|meet|meeting|appointment|demo|visit|invite|calendar",
            "come by|out|over",
            "stop by",
            "set up a|an|some time|call|meeting",
        ],
    ),
    (StepAction::Trial, &["trial|pilot"]),
    (
        StepAction::Agreement,
        &[
            "sign|install|installation|enroll|order|purchase",
            "sign up",
            "put you down",
            "get started",
            "get you started|scheduled|set up|booked",
        ],
    ),
    (
        StepAction::Proposal,
        &["proposal|quote|estimate|estimates|planner|contract|agreement"],
    ),
    (StepAction::Call, &["call|callback|ring"]),
    (StepAction::Message, &["message|text|whatsapp|ping"]),
    (
        StepAction::Send,
        &["send|sending|sent|email|e-mail|mail|emailed"],
    ),
    (
        StepAction::FollowUp,
        &[
            "follow up|up with",
            "follow-up",
            "get back to",
            "reach out",
            "touch base",
            "check in",
            "connect|reconnect",
            "circle back",
        ],
    ),
];

/// Words that put an action in the future, as a promise or a proposal ("I'll", "let's",
/// "would you like", "someone will").
pub(super) const STEP_FRAME_CUES: &[((), &[&str])] = &[(
    (),
    &[
        "i'll|we'll|he'll|she'll|they'll|you'll|i’ll|we’ll|ill",
        "i|we|someone|somebody|they|he|she|you will|shall",
        "i|we|someone can|could|would",
        "i'm|we're|i’m going|gonna",
        "am|are going to",
        "gonna",
        "let me|us",
        "let's|lets|let’s",
        "i'd|we'd like|love to",
        "would|do you like|want|prefer",
        "would|are you interested|open|willing",
        "would you be interested|open|willing",
        "how does|about",
        "can|could|shall|should we",
        "please",
        "does|do|would that|it|this work",
        "i|we need to",
        "i'll|we'll have",
        "keep me posted",
    ],
)];

/// A request to be contacted or sent something ("email me these", "give me a call").
pub(super) const CONTACT_ME_CUES: &[(StepAction, &[&str])] = &[
    (StepAction::Send, &["email|mail|send|forward me|us"]),
    (StepAction::Message, &["text|message|ping me|us"]),
    (StepAction::Call, &["call me|us"]),
    (
        StepAction::Message,
        &["give|leave|drop|shoot me|us a|an message|text|line|note|email|shout"],
    ),
    (
        StepAction::Call,
        &["give|leave|drop|shoot me|us a|an call|ring"],
    ),
];

/// Words that place a step in the call itself ("I'll share my screen now"), not after it.
pub(super) const IN_CALL_CUES: &[((), &[&str])] =
    &[((), &["now", "screen", "chat", "this|the call|meeting"])];

/// A day or time named in words ("tomorrow afternoon", "this evening", "next Tuesday").
pub(super) const DATE_CUES: &[((), &[&str])] = &[(
    (),
    &[
        "today|tonight|tomorrow|tomorrow's|today's",
        "this morning|afternoon|evening|weekend",
        "monday|tuesday|wednesday|thursday|friday|saturday|sunday|mondays|tuesdays|wednesdays|thursdays|fridays",
        "january|february|april|june|july|august|september|october|november|december",
        "end of day",
        "noon|midday|midnight",
        "o'clock",
    ],
)];

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

/// The cue lists, indexed once per process.
pub(super) struct Lexicon {
    pub objections: CueSet<ObjectionType>,
    pub answers: CueSet<()>,
    pub asked_objections: CueSet<ObjectionType>,
    pub step_actions: CueSet<StepAction>,
    pub step_frames: CueSet<()>,
    pub contact_me: CueSet<StepAction>,
    pub in_call: CueSet<()>,
    pub dates: CueSet<()>,
}

pub(super) static LEXICON: std::sync::LazyLock<Lexicon> = std::sync::LazyLock::new(|| Lexicon {
    objections: CueSet::new(OBJECTION_CUES),
    answers: CueSet::new(ANSWER_CUES),
    asked_objections: CueSet::new(ASKED_OBJECTION_CUES),
    step_actions: CueSet::new(STEP_ACTION_CUES),
    step_frames: CueSet::new(STEP_FRAME_CUES),
    contact_me: CueSet::new(CONTACT_ME_CUES),
    in_call: CueSet::new(IN_CALL_CUES),
    dates: CueSet::new(DATE_CUES),
});
