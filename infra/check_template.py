"""Assertions on template.yaml that cfn-lint and sam validate cannot make.

Reliability tests 11 (queue and alarm settings, point-in-time recovery) and 28 (the scoring
worker cannot use the tokens key domain), plus the function build conventions. Prints one line
per check and a closing 'N passed, N failed' line; exits non-zero on any failure.
"""

import pathlib
import sys

from cfnlint.decode import cfn_yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
template = cfn_yaml.load(str(ROOT / "template.yaml"))
resources = template["Resources"]
globals_fn = template.get("Globals", {}).get("Function", {})
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'} {name}{'' if ok else ' - ' + detail}")


def ref_target(value):
    """The logical id behind !Ref X or !GetAtt X.Attr."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return target[0] if isinstance(target, list) else target.split(".")[0]
    return None


def mentions(node, logical_id):
    if isinstance(node, dict):
        return ref_target(node) == logical_id or any(mentions(v, logical_id) for v in node.values())
    if isinstance(node, list):
        return any(mentions(v, logical_id) for v in node)
    return False


functions = {k: v for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
queues = {k: v for k, v in resources.items() if v["Type"] == "AWS::SQS::Queue"}
alarms = [v["Properties"] for v in resources.values() if v["Type"] == "AWS::CloudWatch::Alarm"]

for name, fn in functions.items():
    props = fn["Properties"]
    timeout = props.get("Timeout", globals_fn.get("Timeout", 3))
    for event_name, event in props.get("Events", {}).items():
        if event["Type"] != "SQS":
            continue
        queue_id = ref_target(event["Properties"]["Queue"])
        queue = queues[queue_id]["Properties"]
        check(f"{name}.{event_name}: visibility >= 6x timeout",
              queue.get("VisibilityTimeout", 30) >= 6 * timeout,
              f"{queue.get('VisibilityTimeout')} < 6 x {timeout}")
        check(f"{name}.{event_name}: ReportBatchItemFailures",
              "ReportBatchItemFailures" in event["Properties"].get("FunctionResponseTypes", []))
        redrive = queue.get("RedrivePolicy", {})
        check(f"{name}.{event_name}: DLQ with maxReceiveCount >= 5",
              int(redrive.get("maxReceiveCount", 0)) >= 5 and ref_target(redrive.get("deadLetterTargetArn")) in queues)
    check(f"{name}: arm64 provided.al2023",
          props.get("Architectures", globals_fn.get("Architectures")) == ["arm64"]
          and props.get("Runtime", globals_fn.get("Runtime")) == "provided.al2023")
    binary = fn.get("Metadata", {}).get("BuildProperties", {}).get("Binary", "")
    check(f"{name}: rust-cargolambda build of an existing function crate",
          fn.get("Metadata", {}).get("BuildMethod") == "rust-cargolambda"
          and (ROOT / "functions" / binary / "Cargo.toml").exists(), binary)

dead_letter_queues = {
    ref_target(q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
    for q in queues.values() if "RedrivePolicy" in q["Properties"]
}
for dlq in sorted(dead_letter_queues):
    check(f"{dlq}: alarm on depth > 0", any(
        a["MetricName"] == "ApproximateNumberOfMessagesVisible"
        and a["Threshold"] == 0 and a["ComparisonOperator"] == "GreaterThanThreshold"
        and mentions(a["Dimensions"], dlq) for a in alarms))

table = next(v["Properties"] for v in resources.values() if v["Type"] == "AWS::DynamoDB::Table")
check("table: point-in-time recovery", table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True)
check("table: customer-managed KMS key", table["SSESpecification"]["SSEType"] == "KMS"
      and ref_target(table["SSESpecification"]["KMSMasterKeyId"]) is not None)
check("table: TTL attribute", table["TimeToLiveSpecification"]["Enabled"] is True)
keys_table = resources["KeysTable"]["Properties"]
check("keys table: wrapped data keys apart from the data, backups kept one day",
      keys_table["PointInTimeRecoverySpecification"].get("RecoveryPeriodInDays") == 1
      and keys_table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True)
check("keys table: deletion protection and customer-managed KMS key",
      keys_table.get("DeletionProtectionEnabled") is True
      and keys_table["SSESpecification"]["SSEType"] == "KMS")
check("every function is told the keys table",
      ref_target(globals_fn["Environment"]["Variables"].get("KEYS_TABLE_NAME")) == "KeysTable")
bucket = next(v["Properties"] for v in resources.values() if v["Type"] == "AWS::S3::Bucket")
check("bucket: export bundles expire after 3 days", any(
    r.get("Prefix") == "exports/" and r.get("ExpirationInDays") == 3 and r.get("Status") == "Enabled"
    for r in bucket["LifecycleConfiguration"]["Rules"]))

check("bucket: parts of abandoned uploads are removed after a day", any(
    r.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation") == 1 and r.get("Status") == "Enabled"
    for r in bucket["LifecycleConfiguration"]["Rules"]))


def allows(fn, action):
    """Whether one of the function's inline statements allows the action."""
    return any(action in s.get("Action", []) and s.get("Effect") == "Allow"
               for p in fn["Properties"].get("Policies", []) if isinstance(p, dict)
               for s in p.get("Statement", []))


check("api: may abort the parts of a failed export", allows(functions["ApiFunction"], "s3:AbortMultipartUpload"))
check("reaper: may list and abort unfinished uploads of a destroyed workspace",
      allows(functions["RetentionReaperFunction"], "s3:ListBucketMultipartUploads")
      and allows(functions["RetentionReaperFunction"], "s3:AbortMultipartUpload"))

for key_id in ["StorageKey", "TranscriptsKey", "InsightsKey", "NotesKey", "TokensKey"]:
    check(f"{key_id}: rotation on", resources[key_id]["Properties"].get("EnableKeyRotation") is True)

for name, fn in functions.items():
    variables = fn["Properties"].get("Environment", {}).get("Variables", {})
    check(f"{name}: no local-only token key", "CALLCOACH_LOCAL_AUTH_PUBLIC_KEY" not in variables
          and "CALLCOACH_LOCAL_AUTH_PUBLIC_KEY" not in globals_fn.get("Environment", {}).get("Variables", {}))

worker = functions["ScoringWorkerFunction"]["Properties"]
check("scoring worker cannot use the tokens key domain", not mentions(worker, "TokensKey"))
check("scoring worker cannot use the notes key domain", not mentions(worker, "NotesKey"))
# The worker stores the degraded deterministic analysis on the delivery it believes is the last.
scoring_queue = queues[ref_target(worker["Events"]["ScoringJobs"]["Properties"]["Queue"])]["Properties"]
check("scoring worker: MAX_RECEIVE_COUNT equals the queue's maxReceiveCount",
      str(worker["Environment"]["Variables"].get("MAX_RECEIVE_COUNT"))
      == str(scoring_queue["RedrivePolicy"]["maxReceiveCount"]))
for name, fn in functions.items():
    statements = [s for p in fn["Properties"].get("Policies", []) if isinstance(p, dict) for s in p.get("Statement", [])]
    check(f"{name}: no KMS action on '*'", not any(
        any(str(a).startswith("kms:") for a in s.get("Action", [])) and s.get("Resource") == "*" for s in statements))

bucket = next(v["Properties"] for v in resources.values() if v["Type"] == "AWS::S3::Bucket")
check("bucket: public access blocked", all(bucket["PublicAccessBlockConfiguration"].values()))
check("bucket: SSE-KMS", bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
      ["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms")
policy = next(v["Properties"] for v in resources.values() if v["Type"] == "AWS::S3::BucketPolicy")
check("bucket: TLS-only policy", any(
    s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    for s in policy["PolicyDocument"]["Statement"]))
check("bucket: uploads notify the upload-events queue", any(
    ref_target(q["Queue"]) == "UploadEventsQueue" for q in bucket["NotificationConfiguration"]["QueueConfigurations"]))

# Amazon Transcribe: the job events reach the callback function, filtered to our jobs; a
# sweep covers events that never come; only the two functions that need it may call it.
callback = functions["TranscriptionCallbackFunction"]["Properties"]
job_rule = callback["Events"].get("TranscribeJobEvents", {}).get("Properties", {}).get("Pattern", {})
check("callback: Transcribe job events routed to it, our job names only",
      job_rule.get("source") == ["aws.transcribe"]
      and job_rule.get("detail", {}).get("TranscriptionJobName") == [{"prefix": "cc."}])
check("callback: a schedule sweeps for jobs whose event never came",
      callback["Events"].get("TranscribeSweep", {}).get("Type") == "ScheduleV2")
key_rules = [rule for q in bucket["NotificationConfiguration"]["QueueConfigurations"]
             for rule in q.get("Filter", {}).get("S3Key", {}).get("Rules", [])]
check("bucket: uploads notification cannot see Transcribe output (written under documents/)",
      bool(key_rules) and all(r.get("Name") == "prefix" and r.get("Value") == "uploads/"
                              for r in key_rules))
for name, fn in functions.items():
    if name in ("UploadTriggerFunction", "TranscriptionCallbackFunction"):
        continue
    check(f"{name}: no Amazon Transcribe permissions",
          "transcribe:" not in repr(fn["Properties"].get("Policies", [])))

passed = sum(results)
failed = len(results) - passed
print(f"template: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
