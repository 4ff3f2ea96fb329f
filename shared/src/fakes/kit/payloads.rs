//! Transcription providers' payloads in their documented shapes.

/// One spoken turn for [`deepgram_result`]: speaker number, start and end seconds, text.
pub type SpokenTurn<'a> = (u32, f64, f64, &'a str);

/// A Deepgram pre-recorded result (the body of a callback) in the documented shape: metadata
/// with the request id, one channel, and diarized utterances with word timings spread evenly
/// over each turn.
pub fn deepgram_result(request_id: &str, turns: &[SpokenTurn<'_>]) -> serde_json::Value {
    use serde_json::json;
    let mut all_words = Vec::new();
    let utterances: Vec<_> = turns
        .iter()
        .map(|&(speaker, start, end, text)| {
            let tokens: Vec<&str> = text.split_whitespace().collect();
            let step = (end - start) / tokens.len().max(1) as f64;
            let words: Vec<_> = tokens
                .iter()
                .enumerate()
                .map(|(i, token)| {
                    let bare: String = token
                        .chars()
                        .filter(|c| c.is_alphanumeric() || *c == '\'')
                        .collect();
                    json!({
                        "word": bare.to_lowercase(),
                        "punctuated_word": token,
                        "start": start + step * i as f64,
                        "end": start + step * (i + 1) as f64,
                        "confidence": 0.97,
                        "speaker": speaker,
                        "speaker_confidence": 0.9,
                    })
                })
                .collect();
            all_words.extend(words.iter().cloned());
            json!({
                "start": start, "end": end, "confidence": 0.95, "channel": 0,
                "transcript": text, "words": words, "speaker": speaker,
                "id": format!("{request_id}-{start}"),
            })
        })
        .collect();
    let duration = turns.iter().map(|t| t.2).fold(0.0, f64::max);
    let transcript: Vec<&str> = turns.iter().map(|t| t.3).collect();
    json!({
        "metadata": {
            "transaction_key": "deprecated",
            "request_id": request_id,
            "sha256": "0".repeat(64),
            "created": "2026-11-01T09:00:00.000Z",
            "duration": duration,
            "channels": 1,
            "models": ["fake-model"],
        },
        "results": {
            "channels": [{"alternatives": [{
                "transcript": transcript.join(" "),
                "confidence": 0.95,
                "words": all_words,
            }]}],
            "utterances": utterances,
        }
    })
}

/// An Amazon Transcribe batch job's output in the documented shape: items with times, speaker
/// labels on each pronunciation, and trailing punctuation as its own item.
pub fn transcribe_output(job_name: &str, turns: &[SpokenTurn<'_>]) -> serde_json::Value {
    use serde_json::json;
    let mut items = Vec::new();
    for &(speaker, start, end, text) in turns {
        let tokens: Vec<&str> = text.split_whitespace().collect();
        let step = (end - start) / tokens.len().max(1) as f64;
        for (i, token) in tokens.iter().enumerate() {
            let word: String = token
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .collect();
            let from = start + step * i as f64;
            items.push(json!({
                "type": "pronunciation",
                "start_time": format!("{from:.3}"),
                "end_time": format!("{:.3}", from + step),
                "alternatives": [{"confidence": "0.98", "content": word}],
                "speaker_label": format!("spk_{speaker}"),
            }));
            if let Some(mark) = token
                .chars()
                .last()
                .filter(|c| matches!(c, '.' | ',' | '?' | '!'))
            {
                items.push(json!({
                    "type": "punctuation",
                    "alternatives": [{"confidence": "0.0", "content": mark.to_string()}],
                }));
            }
        }
    }
    let transcript: Vec<&str> = turns.iter().map(|t| t.3).collect();
    json!({
        "jobName": job_name,
        "accountId": "123456789012",
        "status": "COMPLETED",
        "results": {
            "transcripts": [{"transcript": transcript.join(" ")}],
            "speaker_labels": {"speakers": 2, "segments": []},
            "items": items,
        },
    })
}
