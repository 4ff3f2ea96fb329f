//! The word and phrase lists the coach listens for, tokenized once per process.

use crate::domain::analysis::ObjectionType;
use crate::scoring::cues::CueSet;

/// What customers say when something stands in the way, by type. Listed from the wordings
/// of sales and service calls in general (price and value, money, time, who decides, other
/// vendors, the way things are, need, doubt, leaving); see `cues` for the syntax. The order
/// of the types is their precedence when one sentence holds several: a topic ("my concern is
/// the price") outranks a bare worry.
pub(super) const OBJECTION_CUES: &[(ObjectionType, &[&str])] = &[
    (
        ObjectionType::Cancellation,
        &[
            "want|wanna|like|need|trying|calling|here|going|decided to cancel|terminate|discontinue|disconnect|downgrade",
            "help me cancel",
            "cancel it|this|that|everything",
            "cancel|close|terminate|end|stop|pause|freeze my|the|this|our account|contract|service|subscription|plan|membership|order|line",
            "cancelled|canceled|cancellation",
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
            "over|outside|beyond|above my|our|the budget",
            "out of my|our|the budget",
            "over budget",
            "budget constraints|cuts|freeze",
            "!budget|budgeted",
            "spend is frozen",
            "!afford",
            "!affordable",
            "!have the|enough|any money|cash|funds",
            "no money",
            "short on money|cash",
            "money is tight",
            "cash flow",
        ],
    ),
    (
        ObjectionType::Price,
        &[
            "expensive|pricey|overpriced",
            "too|very|pretty|quite|so costly|steep",
            "that's|thats|it's|its costly|steep",
            "too much money",
            "that's|thats|it's|its|is a lot of money",
            "that's|thats|it's|its too much",
            "that's|thats|it's|its a bit|little much",
            "paying way|too|so much",
            "costs|cost too much",
            "price|prices|pricing|cost|rate|rates|fee|fees|bill|premium|payment|payments is|are|seems|seem too|so|really high",
            "significant|big|huge|large|major investment",
            "more than i|we hoped|planned|wanted|budgeted",
            "out of my|our price range",
            "cost-benefit",
            "worried|concerned|worry|concern about|with the|that price|cost|costs|payment|payments|fees",
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
            "speak|talk|check|discuss|consult|confer with|to my|our|the wife|husband|partner|spouse|boss|manager|team|family|parents|dad|mom|father|mother|brother|sister|girlfriend|boyfriend|fiance|cfo|ceo|director|board|owner|accountant|lawyer|supervisor|finance|leadership|management",
            "talk|discuss|check|run it|this|that|things with|by|past my|our|the wife|husband|partner|spouse|boss|manager|team|family|parents|dad|mom|father|mother|brother|sister|girlfriend|boyfriend|fiance|cfo|ceo|director|board|owner|accountant|lawyer|supervisor|finance|leadership|management",
            "talk|think|go it|this|that over with my|our|the wife|husband|partner|spouse|boss|manager|team|family|parents|dad|mom|father|mother|brother|sister|girlfriend|boyfriend|fiance|cfo|ceo|director|board|owner|accountant|lawyer|supervisor|finance|leadership|management",
            "over with my|our|the wife|husband|partner|spouse|boss|manager|team|family|parents|dad|mom|father|mother|brother|sister|girlfriend|boyfriend|fiance|cfo|ceo|director|board|owner|accountant|lawyer|supervisor|finance|leadership|management",
            "see|hear what my|the wife|husband|partner|spouse|boss|manager|team|family|parents|dad|mom|father|mother|brother|sister|girlfriend|boyfriend|fiance|cfo|ceo|director|board|owner|accountant|lawyer|supervisor|finance|leadership|management thinks|says",
            "run it|this|that by",
            "ask my wife|husband|partner|spouse|boss|manager|team|family|parents|dad|mom|father|mother|brother|sister|girlfriend|boyfriend|fiance|cfo|ceo|director|board|owner|accountant|lawyer|supervisor|finance|leadership|management",
            "!decision maker|makers|maker's",
            "!decision-maker|decision-makers",
            "!my decision|call",
            "!up to me",
            "!the one who decides|signs",
            "someone|somebody else decides",
            "need|needs|get|getting approval",
            "sign off on|it|this|that",
            "has|have|need|needs to sign off",
            "sign-off",
            "the committee",
            "procurement",
            "legal review",
        ],
    ),
    (
        ObjectionType::Competitor,
        &[
            "another|other company|companies|provider|providers|vendor|vendors|carrier|contractor|contractors|supplier|quote|quotes|bid|bids|guy|guys|place|places|brand|brands|program|programs|course|courses|tool|tools|solution|solutions",
            "other options",
            "somewhere|someplace else",
            "elsewhere",
            "shop|shopping|comparing around|prices|quotes",
            "competitor|competitors",
            "got|have|had a|another quote|quotes|estimate|bid from",
            "already working with",
            "already have|got a|one|someone|somebody",
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
            "!priority",
            "!the right time",
            "!a good time",
            "need|want some|more time",
            "to|i'll|we'll|me|gonna|wanna|i’ll think about|over it|this|that",
            "sleep on it",
            "hold off",
            "wait until|till",
            "postpone|postponing",
            "put it off",
            "bad time",
            "too busy",
            "busy right now",
            "busy lately",
            "busy this|that|next week|month|weekend|quarter",
            "occupied",
            "until|till|after|maybe|probably next year|quarter|month",
            "maybe later",
            "maybe|somewhere down the road",
        ],
    ),
    (
        ObjectionType::StatusQuo,
        &[
            "happy|satisfied with our|my current|existing|provider|system|setup|plan|service|vendor",
            "happy|satisfied|fine with what we|i have|got|use",
            "happy|satisfied with the current|existing",
            "happy|fine|sticking|staying with what|our|my|the current|existing",
            "what we have|use|got works|working",
            "current|existing|old system|setup|one works|working",
            "we're|i'm fine|good|set for now",
            "we are fine",
            "we're|i'm all set|covered",
            "ain't|isn't|isnt|not broke|broken",
            "do it ourselves",
            "the way we do it",
            "!want to change",
            "just use|using spreadsheets|excel|paper",
        ],
    ),
    (
        ObjectionType::Need,
        &[
            "!interested",
            "no interest in",
            "!need|needed it|this|that|one|them|a|an|the|another|more|any",
            "no need for",
            "no use for",
            "!use|using it|this|that",
            "!a good fit",
            "!a fit",
            "waste of",
            "!see the point|value",
        ],
    ),
    (
        ObjectionType::Trust,
        &[
            "afraid|scared|worried|nervous of|that|it|this|you|your|about",
            "worry|worries|concerned|concern|concerns|skeptical|sceptical|hesitant|wary",
            "doubt|doubts",
            "!trust",
            "bad experience",
            "heard bad things",
            "scam",
            "risky",
            "too good to be true",
            "been|got burned|burnt",
            "burned before",
        ],
    ),
    (
        ObjectionType::Other,
        &[
            "don't|dont like",
            "do not like",
            "dislike",
            "complicated|complex|overwhelming|confusing|intimidating",
            "too much work|hassle|effort|trouble",
            "hassle",
            "hard|difficult|tough to use|learn|understand|navigate|manage",
            "hard|difficult|tough to set up",
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
        "best you can do",
        "wiggle room",
        "come down",
        "any flexibility",
        "negotiable",
        "do better",
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
        "we|i can|could",
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
            "schedule|book a|an|the|it|you|that|time|something|for|in|your|this|another|some|one",
            "scheduling|booking|scheduled|booked|reserve|pencil",
            "meet with|up|you|again|on|at|next",
            "meeting|appointment|demo|visit|invite|invitation|session|workshop|consultation",
            "calendar invite|invitation|hold",
            "come by|out|over",
            "stop by",
            "be out|over",
            "set up a|an|some time|call|meeting",
        ],
    ),
    (StepAction::Trial, &["trial|pilot"]),
    (
        StepAction::Agreement,
        &[
            "sign|install|installation|enroll|purchase",
            "place|put in an|the|your order",
            "order it|one",
            "sign up",
            "put you down",
            "get started",
            "get you started|scheduled|booked|enrolled|registered",
            "get you set up",
        ],
    ),
    (StepAction::Proposal, &["proposal|quote|estimate|estimates"]),
    (
        StepAction::Call,
        &[
            "call|ring you|back|me|us|him|her|them|again|tomorrow|on|at|later",
            "a call|callback",
            "phone call",
        ],
    ),
    (StepAction::Message, &["message|text|whatsapp|ping"]),
    (
        StepAction::Send,
        &[
            "send|sending|sent|email|e-mail|emailing|mail|emailed",
            "share|shared the|a|this|that link|details|pricing|deck|proposal|recording|summary|recap|invoice|quote|paperwork",
            "over to you",
        ],
    ),
    (
        StepAction::FollowUp,
        &[
            "follow up",
            "follow-up",
            "get back to",
            "reach out",
            "touch base",
            "check in",
            "reconnect|revert",
            "connect again|later|next|back|on|then",
            "circle back",
        ],
    ),
];

/// Words that put an action in the future, as a promise or a proposal ("I'll", "let's",
/// "someone will"). Firm ones hold in any sentence.
pub(super) const STEP_FRAME_CUES: &[((), &[&str])] = &[(
    (),
    &[
        "i'll|we'll|he'll|she'll|they'll|you'll|ill|youll|theyll",
        "i|we|someone|somebody|they|he|she|you will|shall",
        "technician|tech|installer|crew|team|office|scheduler|coordinator|advisor|counselor|someone|somebody will|can",
        "i'm|we're going|gonna",
        "i'm|we're sending|emailing|booking|scheduling|putting",
        "am|are going to",
        "gonna",
        "let me|us",
        "let's|lets",
        "i'd|we'd like|love to",
        "how does|about",
        "what about",
        "shall|should we",
        "does|do|would that|it|this work",
        "i|we need to",
        "i'll|we'll have",
        "keep me posted",
        "i|we suggest|propose|recommend",
    ],
)];

/// Frames of a possibility ("we can", "would you like"): a step unless the sentence is a
/// condition ("I'd sign up if it were cheaper").
pub(super) const CONDITIONAL_FRAME_CUES: &[((), &[&str])] = &[(
    (),
    &[
        "i|we|someone can|could|would",
        "would|do you like|want|prefer",
        "would|are you interested|open|willing",
        "would you be interested|open|willing",
        "can|could we",
    ],
)];

/// A request to be contacted or sent something ("email me these", "give me a call").
pub(super) const CONTACT_ME_CUES: &[(StepAction, &[&str])] = &[
    (StepAction::Send, &["email|e-mail|mail|send|forward me|us"]),
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
    (StepAction::Send, &["please send|email"]),
    (StepAction::Call, &["please call"]),
    (StepAction::Meet, &["please book|schedule"]),
    (
        StepAction::Meet,
        &[
            "talk|speak to|with you then|tomorrow|next|on|at|monday|tuesday|wednesday|thursday|friday|saturday|sunday",
            "see you then|tomorrow|next|on|at|monday|tuesday|wednesday|thursday|friday|saturday|sunday",
        ],
    ),
];

/// Words that place a step in the call itself ("I'll share my screen"), not after it; a
/// sentence ending in "now" is one too.
pub(super) const IN_CALL_CUES: &[((), &[&str])] = &[(
    (),
    &[
        "right now",
        "share|sharing my|the screen",
        "in|on the|this chat|screen",
        "during|on|in this|the call|meeting",
        "walk|walking you through",
        "go over|through",
        "pull|bring up",
        "show you",
    ],
)];

/// A day or time named in words ("tomorrow afternoon", "this evening", "next Tuesday").
pub(super) const DATE_CUES: &[((), &[&str])] = &[(
    (),
    &[
        "today|tonight|tomorrow|tomorrow's|today's|eod",
        "this morning|afternoon|evening|weekend",
        "monday|tuesday|wednesday|thursday|friday|saturday|sunday|mondays|tuesdays|wednesdays|thursdays|fridays",
        "january|february|april|june|july|august|september|october|november|december",
        "end of day",
        "end of the day|week",
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
    pub conditional_frames: CueSet<()>,
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
    conditional_frames: CueSet::new(CONDITIONAL_FRAME_CUES),
    contact_me: CueSet::new(CONTACT_ME_CUES),
    in_call: CueSet::new(IN_CALL_CUES),
    dates: CueSet::new(DATE_CUES),
});
