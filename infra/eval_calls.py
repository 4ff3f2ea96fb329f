"""Builds the call files that `tests/eval/labels.json` labels, from the real samples beside the
repository (the shared testdata folder), so the transcripts never have to be copied in.

    python3 infra/eval_calls.py SHARED_TESTDATA_DIR OUT_DIR

For every source present it writes `OUT_DIR/<id>.txt` (one utterance a line, `Speaker: text`,
the speaker as the source names it; line i is utterance i of the labels) and, where the source
has times, `OUT_DIR/<id>.json` (`{"utterances": [{"speaker", "start", "end", "text"}]}` in
seconds). A missing source is skipped with a message on stderr. The output depends only on the
input files. Standard library only.

How each source becomes lines (tests/eval/README.md says the same):
- AMI (QMSum JSON, `transcripts/ami/<meeting>.json`): one `meeting_transcripts` turn a line,
  speaker = the role name. The QMSum markup in braces (`{vocalsound}`, `{disfmarker}`, `{gap}`,
  ...) is removed and runs of spaces closed up; a turn with nothing left is dropped. Nothing else
  changes (the corpus's spaced punctuation "project ." stays).
- Earnings-21 (`transcripts/earnings21/<file_id>.nlp`): tokens joined into speaker turns, each
  token followed by its punctuation column, turns split where the speaker column changes; speaker
  = `Speaker <id>`. This is exactly the `<file_id>.turns.derived.txt` beside it, which is read
  instead when the .nlp is missing. Tags such as `<laugh>` and `<unk>` are kept.
- Deepgram (`deepgram/python-captions__dg_speakers.json`): one `results.utterances` entry a line,
  speaker = `Speaker <n>`, text = its transcript, start and end as Deepgram gives them.
In every source, line breaks inside a turn's text (there are none today) would become spaces.
"""

import json
import re
import sys
from pathlib import Path

AMI_DIRS = ("transcripts/ami", "transcripts/ami_qmsum")
AMI_MEETINGS = ("ES2002a", "ES2002b")
EARNINGS_DIR = "transcripts/earnings21"
EARNINGS_FILES = ("4374910", "4386541")
DEEPGRAM_FILE = "deepgram/python-captions__dg_speakers.json"
DEEPGRAM_ID = "deepgram-spacewalk"

BRACE_TAG = re.compile(r"\{[^{}]*\}")
SPACES = re.compile(r"\s+")


def one_line(text):
    """The text on one line: line breaks and runs of whitespace become one space."""
    return SPACES.sub(" ", text).strip()


def skip(what, path):
    print(f"skipped {what}: {path} is missing", file=sys.stderr)


def ami_calls(shared):
    for meeting in AMI_MEETINGS:
        path = next(
            (shared / d / f"{meeting}.json" for d in AMI_DIRS if (shared / d / f"{meeting}.json").is_file()),
            None,
        )
        if path is None:
            skip(f"AMI {meeting}", shared / AMI_DIRS[0] / f"{meeting}.json")
            continue
        turns = json.loads(path.read_text(encoding="utf-8"))["meeting_transcripts"]
        lines = []
        for turn in turns:
            text = one_line(BRACE_TAG.sub(" ", turn["content"]))
            if text:
                lines.append((one_line(turn["speaker"]), text))
        yield f"ami-{meeting.lower()}", lines, None


def nlp_turns(path):
    rows = path.read_text(encoding="utf-8").splitlines()
    header = rows[0].split("|")
    token, speaker, punctuation = (header.index(c) for c in ("token", "speaker", "punctuation"))
    turns = []
    for row in rows[1:]:
        if not row:
            continue
        cells = row.split("|")
        word = cells[token] + cells[punctuation]
        if turns and turns[-1][0] == cells[speaker]:
            turns[-1][1].append(word)
        else:
            turns.append((cells[speaker], [word]))
    return [(f"Speaker {s}", one_line(" ".join(words))) for s, words in turns]


def derived_turns(path):
    lines = []
    for row in path.read_text(encoding="utf-8").splitlines():
        if row.strip():
            speaker, _, text = row.partition(": ")
            lines.append((speaker.strip(), one_line(text)))
    return lines


def earnings_calls(shared):
    for file_id in EARNINGS_FILES:
        nlp = shared / EARNINGS_DIR / f"{file_id}.nlp"
        derived = shared / EARNINGS_DIR / f"{file_id}.turns.derived.txt"
        if nlp.is_file():
            lines = nlp_turns(nlp)
        elif derived.is_file():
            lines = derived_turns(derived)
        else:
            skip(f"Earnings-21 {file_id}", nlp)
            continue
        yield f"earnings21-{file_id}", [(s, t) for s, t in lines if t], None


def deepgram_calls(shared):
    path = shared / DEEPGRAM_FILE
    if not path.is_file():
        skip("Deepgram spacewalk", path)
        return
    utterances = json.loads(path.read_text(encoding="utf-8"))["results"]["utterances"]
    lines, times = [], []
    for u in utterances:
        text = one_line(u["transcript"])
        if not text:
            continue
        speaker = f"Speaker {u['speaker']}"
        lines.append((speaker, text))
        times.append({"speaker": speaker, "start": u["start"], "end": u["end"], "text": text})
    yield DEEPGRAM_ID, lines, times


def main(argv):
    if len(argv) != 3:
        print("usage: python3 infra/eval_calls.py SHARED_TESTDATA_DIR OUT_DIR", file=sys.stderr)
        return 2
    shared, out = Path(argv[1]), Path(argv[2])
    if not shared.is_dir():
        print(f"{shared} is not a folder", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for source in (ami_calls, earnings_calls, deepgram_calls):
        for call_id, lines, times in source(shared):
            text = "".join(f"{speaker}: {words}\n" for speaker, words in lines)
            (out / f"{call_id}.txt").write_text(text, encoding="utf-8", newline="\n")
            if times is not None:
                body = json.dumps({"utterances": times}, ensure_ascii=False, indent=1) + "\n"
                (out / f"{call_id}.json").write_text(body, encoding="utf-8", newline="\n")
            print(f"{call_id}: {len(lines)} utterances{' (timed)' if times is not None else ''}")
            written += 1
    if written == 0:
        print("no source found: nothing written", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
