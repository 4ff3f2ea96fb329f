"""Assertions on template.yaml that cfn-lint and sam validate cannot make.

Reliability tests 11 (queue and alarm settings, point-in-time recovery) and 28 (the scoring
worker cannot use the tokens key domain), the function build conventions, and the security
review's least-privilege rules: who may delete wrapped data keys, the KMS key policies (per
function, per category, no cryptographic use by the account root), the worker's S3 reach,
provider secrets, the billing bus. IAM is read after expanding SAM policy templates, and ARNs
are rendered with sample values so that wildcards are matched as IAM matches them. Prints one
line per check and a closing 'N passed, N failed' line; exits non-zero on any failure.
"""

import fnmatch
import pathlib
import re
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

table = resources["Table"]["Properties"]
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
bucket = resources["DataBucket"]["Properties"]
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

for key_id in ["StorageKey", "TranscriptsKey", "InsightsKey", "NotesKey", "TokensKey", "MetadataKey"]:
    check(f"{key_id}: rotation on", resources[key_id]["Properties"].get("EnableKeyRotation") is True)

for name, fn in functions.items():
    variables = fn["Properties"].get("Environment", {}).get("Variables", {})
    check(f"{name}: no local-only token key", "CALLCOACH_LOCAL_AUTH_PUBLIC_KEY" not in variables
          and "CALLCOACH_LOCAL_AUTH_PUBLIC_KEY" not in globals_fn.get("Environment", {}).get("Variables", {}))

worker = functions["ScoringWorkerFunction"]["Properties"]
# (Its key domains are checked against the key policies below.)
# The worker stores the degraded deterministic analysis on the delivery it believes is the last.
scoring_queue = queues[ref_target(worker["Events"]["ScoringJobs"]["Properties"]["Queue"])]["Properties"]
check("scoring worker: MAX_RECEIVE_COUNT equals the queue's maxReceiveCount",
      str(worker["Environment"]["Variables"].get("MAX_RECEIVE_COUNT"))
      == str(scoring_queue["RedrivePolicy"]["maxReceiveCount"]))
# A claimed idempotency record outlives the invocation that holds it: a duplicate delivery
# must not take over a job that is still running.
import re as _re
for fn_name, source in [("UploadTriggerFunction", "shared/src/usecases/ingest.rs"),
                        ("TranscriptionCallbackFunction", "shared/src/usecases/callback.rs"),
                        ("ScoringWorkerFunction", "shared/src/usecases/score.rs")]:
    found = _re.search(r"IN_PROGRESS_TIMEOUT: Duration = Duration::from_secs\((\d+)\)",
                       (ROOT / source).read_text())
    fn_timeout = functions[fn_name]["Properties"].get("Timeout", globals_fn.get("Timeout", 3))
    check(f"{fn_name}: the in-progress expiry of its idempotency claims outlasts its timeout",
          found is not None and int(found.group(1)) > fn_timeout,
          f"{found and found.group(1)} s vs {fn_timeout} s")

# The waiting-state sweep (in the transcription-callback function) acts only once a queue's
# own retries are over: each deadline outlasts visibility timeout x maxReceiveCount.
callback_env = functions["TranscriptionCallbackFunction"]["Properties"]["Environment"]["Variables"]
for variable, queue_name in [("UPLOAD_DEADLINE_HOURS", "UploadEventsQueue"),
                             ("SCORING_DEADLINE_HOURS", "ScoringQueue")]:
    queue_props = queues[queue_name]["Properties"]
    gives_up_after = int(queue_props["VisibilityTimeout"]) * int(queue_props["RedrivePolicy"]["maxReceiveCount"])
    hours = int(callback_env.get(variable, 0))
    check(f"callback: {variable} outlasts the time {queue_name} takes to give up",
          hours * 3600 > gives_up_after, f"{hours} h vs {gives_up_after} s")

# The api function fails an export job for good on the receive it believes is the last
# (EXPORT_JOBS_MAX_RECEIVES in functions/api/src/jobs.rs).
api_fn = functions["ApiFunction"]["Properties"]
export_event = api_fn["Events"]["ExportJobs"]["Properties"]
export_queue = queues[ref_target(export_event["Queue"])]["Properties"]
jobs_source = (ROOT / "functions/api/src/jobs.rs").read_text()
check("api: EXPORT_JOBS_MAX_RECEIVES equals the export-jobs queue's maxReceiveCount",
      f"EXPORT_JOBS_MAX_RECEIVES: u32 = {export_queue['RedrivePolicy']['maxReceiveCount']};" in jobs_source)
check("api: export jobs leave room for HTTP (reserved concurrency at least 3 above their concurrency)",
      int(template["Parameters"]["ApiReservedConcurrency"]["MinValue"])
      >= export_event["ScalingConfig"]["MaximumConcurrency"] + 3)
check("api: EXPORT_JOBS_QUEUE_URL names the export-jobs queue",
      str(api_fn["Environment"]["Variables"]["EXPORT_JOBS_QUEUE_URL"]).rstrip("'\"}").endswith("/${AppName}-export-jobs")
      and str(export_queue["QueueName"]).rstrip("'\"}").endswith("${AppName}-export-jobs"))
for name, fn in functions.items():
    statements = [s for p in fn["Properties"].get("Policies", []) if isinstance(p, dict) for s in p.get("Statement", [])]
    check(f"{name}: no KMS action on '*'", not any(
        any(str(a).startswith("kms:") for a in s.get("Action", [])) and s.get("Resource") == "*" for s in statements))

check("bucket: public access blocked", all(bucket["PublicAccessBlockConfiguration"].values()))
check("bucket: SSE-KMS", bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
      ["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms")
policy = resources["DataBucketPolicy"]["Properties"]
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

# ---------- Rendering: ARNs with sample values, SAM policy templates expanded ----------

PARAMETERS = template.get("Parameters", {})
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
          "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "stack"}
NAME_PROPERTY = {"AWS::DynamoDB::Table": "TableName", "AWS::S3::Bucket": "BucketName",
                 "AWS::SQS::Queue": "QueueName", "AWS::SecretsManager::Secret": "Name",
                 "AWS::Serverless::Function": "FunctionName", "AWS::Events::EventBus": "Name",
                 "AWS::Logs::LogGroup": "LogGroupName"}


def resource_name(logical_id):
    props = resources[logical_id].get("Properties", {})
    return render(props.get(NAME_PROPERTY.get(resources[logical_id]["Type"], ""))) or logical_id


def arn_of(logical_id):
    kind = resources.get(logical_id, {}).get("Type")
    if kind is None:  # a role SAM generates for a function (<Function>Role)
        return f"arn:aws:iam::123456789012:role/stack-{logical_id}-GENERATED"
    name = resource_name(logical_id)
    return {
        "AWS::DynamoDB::Table": f"arn:aws:dynamodb:us-east-1:123456789012:table/{name}",
        "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
        "AWS::SQS::Queue": f"arn:aws:sqs:us-east-1:123456789012:{name}",
        "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf",
        "AWS::Serverless::Function": f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        "AWS::Events::EventBus": f"arn:aws:events:us-east-1:123456789012:event-bus/{name}",
        "AWS::Logs::LogGroup": f"arn:aws:logs:us-east-1:123456789012:log-group:{name}:*",
        "AWS::KMS::Key": f"arn:aws:kms:us-east-1:123456789012:key/{logical_id}",
        "AWS::IAM::Role": f"arn:aws:iam::123456789012:role/stack-{logical_id}-X",
    }.get(kind, f"arn:aws:unknown:::{logical_id}")


def ref_value(name):
    if name in PSEUDO:
        return PSEUDO[name]
    if name in PARAMETERS:
        default = PARAMETERS[name].get("Default")
        return str(default) if default not in (None, "") else f"<{name}>"
    kind = resources.get(name, {}).get("Type")
    if kind in ("AWS::SecretsManager::Secret", "AWS::KMS::Key"):
        return arn_of(name)
    if kind == "AWS::SQS::Queue":
        return f"https://sqs.us-east-1.amazonaws.com/123456789012/{resource_name(name)}"
    if kind in NAME_PROPERTY:
        return resource_name(name)
    return f"<{name}>"


def render(node):
    """A CloudFormation value as a string, with sample pseudo parameters and resource names."""
    if isinstance(node, (str, int, float)):
        return str(node)
    if not isinstance(node, dict):
        return None
    if "Ref" in node:
        return ref_value(node["Ref"])
    if "Fn::GetAtt" in node:
        target = ref_target(node)
        return arn_of(target)
    if "Fn::Sub" in node:
        value = node["Fn::Sub"]
        text, variables = (value, {}) if isinstance(value, str) else (value[0], value[1])

        def substitute(match):
            name = match.group(1)
            if name in variables:
                return render(variables[name]) or ""
            if "." in name:
                return arn_of(name.split(".")[0])
            return ref_value(name)
        return re.sub(r"\$\{([^}!]+)\}", substitute, text)
    return None


def as_list(value):
    return value if isinstance(value, list) else [value]


DYNAMO_CRUD = ["dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Scan",
               "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem",
               "dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:ConditionCheckItem"]
DYNAMO_READ = ["dynamodb:GetItem", "dynamodb:Scan", "dynamodb:Query", "dynamodb:BatchGetItem",
               "dynamodb:DescribeTable"]
S3_READ = ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObjectVersion",
           "s3:GetLifecycleConfiguration"]


def sam_template_statements(name, args):
    """IAM statements of one SAM policy template. Unknown templates count as every action."""
    table = render(args.get("TableName")) if isinstance(args, dict) else None
    bucket = render(args.get("BucketName")) if isinstance(args, dict) else None
    queue = render(args.get("QueueName")) if isinstance(args, dict) else None
    table_arns = [f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}",
                  f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}/index/*"]
    bucket_arns = [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    known = {
        "DynamoDBCrudPolicy": (DYNAMO_CRUD, table_arns),
        "DynamoDBReadPolicy": (DYNAMO_READ, table_arns),
        "S3ReadPolicy": (S3_READ, bucket_arns),
        "S3CrudPolicy": (S3_READ + ["s3:PutObject", "s3:PutObjectAcl", "s3:PutLifecycleConfiguration",
                                    "s3:DeleteObject"], bucket_arns),
        "SQSSendMessagePolicy": (["sqs:SendMessage*"], [f"arn:aws:sqs:us-east-1:123456789012:{queue}"]),
    }
    actions, arns = known.get(name, (["*"], ["*"]))
    return [{"Effect": "Allow", "Action": actions, "Resource": arns}]


def function_statements(logical_id):
    """Every IAM statement of a function's role: inline, SAM templates, managed, destinations."""
    props = functions[logical_id]["Properties"]
    out = []
    for policy in as_list(props.get("Policies", [])):
        if isinstance(policy, dict) and "Statement" in policy:
            out.extend(as_list(policy["Statement"]))
        elif isinstance(policy, dict):
            for name, args in policy.items():
                out.extend(sam_template_statements(name, args))
        else:  # a managed policy by name or ARN: broad ones count as everything
            text = render(policy) or ""
            if re.search(r"FullAccess|Administrator|PowerUser", text):
                out.append({"Effect": "Allow", "Action": ["*"], "Resource": ["*"]})
    destinations = props.get("EventInvokeConfig", {}).get("DestinationConfig", {})
    for dest in destinations.values():
        if dest.get("Type") == "SQS" and dest.get("Destination") is not None:
            out.append({"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [dest["Destination"]]})
    return out


def iam_match(pattern, value):
    return fnmatch.fnmatchcase(value.lower(), (pattern or "").lower())


def grants(statement, action, arn):
    """Whether an Allow statement allows the action on the ARN (NotAction/NotResource: yes)."""
    if statement.get("Effect") != "Allow":
        return False
    if "NotAction" in statement:
        action_ok = True
    else:
        action_ok = any(iam_match(str(a), action) for a in as_list(statement.get("Action", [])))
    if "NotResource" in statement:
        resource_ok = True
    else:
        resource_ok = any(iam_match(render(r) or "*", arn) for r in as_list(statement.get("Resource", [])))
    return action_ok and resource_ok


def may(logical_id, action, arn):
    return any(grants(s, action, arn) for s in function_statements(logical_id))


role_of = {f"{name}Role": name for name in functions}

# ---------- Task: the keys table, deleting from it is crypto-shredding ----------

keys_arn = arn_of("KeysTable")
SHREDDERS = {"ApiFunction", "RetentionReaperFunction"}
deleters = {name for name in functions
            if any(may(name, a, keys_arn) for a in
                   ["dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:PartiQLDelete",
                    "dynamodb:DeleteTable"])}
check("keys table: only ApiFunction and RetentionReaperFunction may delete wrapped data keys",
      deleters == SHREDDERS, f"may delete: {sorted(deleters)}")
for name in functions:
    # A key is added in a transaction with the check that its workspace was never shredded.
    check(f"{name}: reads and adds data keys (GetItem, Query, conditional PutItem in a "
          "transaction with ConditionCheckItem, UpdateItem)",
          all(may(name, a, keys_arn) for a in
              ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
               "dynamodb:ConditionCheckItem"]))

# ---------- Task: KMS key policies per function and per category ----------

CATEGORY_KEYS = {"TranscriptsKey": "transcripts", "InsightsKey": "insights", "NotesKey": "notes",
                 "TokensKey": "tokens", "MetadataKey": "metadata"}
KMS_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo",
               "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:GenerateDataKeyPair",
               "kms:GenerateDataKeyPairWithoutPlaintext", "kms:GenerateMac", "kms:Sign",
               "kms:CreateGrant", "kms:DescribeKey", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"]
CRYPTO = [a for a in KMS_ACTIONS if a not in ("kms:CreateGrant", "kms:DescribeKey", "kms:PutKeyPolicy",
                                               "kms:ScheduleKeyDeletion")]
kms_keys = {k: v for k, v in resources.items() if v["Type"] == "AWS::KMS::Key"}


def key_statements(key_id):
    return as_list(kms_keys[key_id]["Properties"]["KeyPolicy"]["Statement"])


def statement_actions(statement):
    patterns = [str(a) for a in as_list(statement.get("Action", []))]
    if "NotAction" in statement:
        return set(KMS_ACTIONS)
    return {a for a in KMS_ACTIONS if any(iam_match(p, a) for p in patterns)}


def aws_principals(statement):
    principal = statement.get("Principal", {})
    if principal == "*":
        return ["*"]
    return as_list(principal.get("AWS", [])) if isinstance(principal, dict) else []


def is_root(principal):
    text = render(principal) or ""
    return text == "*" or text.endswith(":root") or re.fullmatch(r"\d{12}", text) is not None


def functions_named(statement):
    return {role_of[ref_target(p)] for p in aws_principals(statement) if ref_target(p) in role_of}


def granted(key_id, function):
    """The KMS actions a key policy allows a function's role."""
    return set().union(*[statement_actions(s) for s in key_statements(key_id)
                         if s.get("Effect") == "Allow" and function in functions_named(s)] or [set()])


for key_id in kms_keys:
    root_crypto = set()
    administered = False
    for s in key_statements(key_id):
        if s.get("Effect") != "Allow" or not any(is_root(p) for p in aws_principals(s)):
            continue
        actions = statement_actions(s)
        root_crypto |= actions & set(CRYPTO)
        if "kms:CreateGrant" in actions and \
                s.get("Condition", {}).get("Bool", {}).get("kms:GrantIsForAWSResource") != "true":
            root_crypto.add("kms:CreateGrant (not only for AWS resources)")
        administered |= "kms:PutKeyPolicy" in actions and "kms:ScheduleKeyDeletion" in actions
    check(f"{key_id}: the account root administers the key but has no cryptographic use of it",
          administered and not root_crypto, f"root may {sorted(root_crypto)}; administered: {administered}")

for key_id, category in CATEGORY_KEYS.items():
    for s in key_statements(key_id):
        if s.get("Effect") != "Allow" or not (statement_actions(s) & set(CRYPTO)) or \
                not functions_named(s):
            continue
        condition = s.get("Condition", {})
        check(f"{key_id}.{s.get('Sid')}: bound to category {category} and a tenant in the encryption context",
              condition.get("StringEquals", {}).get("kms:EncryptionContext:category") == category
              and str(condition.get("Null", {}).get("kms:EncryptionContext:tenant")).lower() == "false")

# What each function may do with each category key, exactly as the code uses them.
WRAP = {"kms:GenerateDataKey", "kms:Decrypt"}
EXPECTED_CATEGORY_USE = {
    "ApiFunction": {"TranscriptsKey": WRAP, "InsightsKey": WRAP, "NotesKey": WRAP, "MetadataKey": WRAP},
    "UploadTriggerFunction": {"TranscriptsKey": WRAP},
    "TranscriptionCallbackFunction": {"TranscriptsKey": WRAP},
    "ScoringWorkerFunction": {"TranscriptsKey": {"kms:Decrypt"}, "InsightsKey": WRAP,
                              "MetadataKey": {"kms:Decrypt"}},
    "RetentionReaperFunction": {},
}
for name in functions:
    actual = {k: granted(k, name) for k in CATEGORY_KEYS if granted(k, name)}
    check(f"{name}: category keys exactly as the code uses them", actual == EXPECTED_CATEGORY_USE.get(name),
          f"{actual}")
    check(f"{name}: no KMS statement in its IAM policies (the key policies grant use)",
          not any(str(a).lower().startswith("kms:") or a == "*"
                  for st in function_statements(name) for a in as_list(st.get("Action", []))))
check("scoring worker: no GenerateDataKey on the transcripts key (it reads transcripts only)",
      not granted("TranscriptsKey", "ScoringWorkerFunction") & {"kms:GenerateDataKey",
                                                                "kms:GenerateDataKeyWithoutPlaintext"})
check("scoring worker cannot use the tokens key domain",
      not mentions(worker, "TokensKey") and not granted("TokensKey", "ScoringWorkerFunction"))
check("scoring worker cannot use the notes key domain",
      not mentions(worker, "NotesKey") and not granted("NotesKey", "ScoringWorkerFunction"))
check("no function can use the tokens key", not any(granted("TokensKey", name) for name in functions))
check("retention reaper: no category key (it shreds by deleting wrapped keys)",
      not any(granted(k, "RetentionReaperFunction") for k in CATEGORY_KEYS))
check("no key policy grants cryptographic use to a wildcard principal", not any(
    "*" in [render(p) for p in aws_principals(s)] and statement_actions(s) & set(CRYPTO)
    and s.get("Effect") == "Allow" for k in kms_keys for s in key_statements(k)))

# Deletion receipts: an asymmetric P-256 key only the reaper signs with, named in its environment.
receipts_key = resources["ReceiptsKey"]["Properties"]
check("ReceiptsKey: ECC_NIST_P256 for signing and verifying",
      receipts_key.get("KeySpec") == "ECC_NIST_P256" and receipts_key.get("KeyUsage") == "SIGN_VERIFY")
signers = {name for name in functions if "kms:Sign" in granted("ReceiptsKey", name)}
check("ReceiptsKey: the reaper alone signs, and does nothing else with it",
      signers == {"RetentionReaperFunction"}
      and granted("ReceiptsKey", "RetentionReaperFunction") == {"kms:Sign"}, f"{signers}")
check("ReceiptsKey: no other key is a signing key", not any(
    v["Properties"].get("KeyUsage") == "SIGN_VERIFY" for k, v in kms_keys.items() if k != "ReceiptsKey"))
reaper_env = functions["RetentionReaperFunction"]["Properties"].get("Environment", {}).get("Variables", {})
check("reaper: RECEIPTS_KEY_ID names the receipts key", ref_target(reaper_env.get("RECEIPTS_KEY_ID")) == "ReceiptsKey")

# The storage key is used through services only.
unscoped = []
for s in key_statements("StorageKey"):
    if s.get("Effect") != "Allow" or not statement_actions(s) & set(CRYPTO):
        continue
    condition = {k: v for block in s.get("Condition", {}).values() for k, v in block.items()}
    principal = s.get("Principal", {})
    if isinstance(principal, dict) and "Service" in principal:
        scoped = any(k in condition for k in ("aws:SourceAccount", "aws:SourceArn",
                                               "kms:EncryptionContext:aws:logs:arn"))
    else:
        scoped = "kms:ViaService" in condition
    if not scoped:
        unscoped.append(s.get("Sid"))
check("StorageKey: every use goes through a service (kms:ViaService) or is scoped to its source",
      not unscoped, f"unscoped: {unscoped}")

# ---------- Task: the scoring worker reaches documents/ only ----------

bucket_arn = arn_of("DataBucket")
# Purging a prefix lists and deletes every object version: who may, and where.
version_probes = {
    "ApiFunction": f"{bucket_arn}/exports/t1/workspace/e1.json",
    "TranscriptionCallbackFunction": f"{bucket_arn}/documents/t1/c1/provider/cc.t1.c1.1.json",
}
version_probes["UploadTriggerFunction"] = f"{bucket_arn}/uploads/t1/c1/upload.vtt"
for name, allowed in version_probes.items():
    check(f"{name}: may list and delete every version under the prefix it purges",
          may(name, "s3:ListBucketVersions", bucket_arn) and may(name, "s3:DeleteObjectVersion", allowed))
    others = [k for k in ["documents/t1/c1/transcript/v1", "uploads/t1/c1/upload.vtt",
                          "exports/t1/workspace/e1.json"] if not allowed.endswith(k)]
    check(f"{name}: may delete no version of a transcript, an upload or another area",
          not any(may(name, "s3:DeleteObjectVersion", f"{bucket_arn}/{k}") for k in others))
probes = {"the whole bucket": bucket_arn, "exports/": f"{bucket_arn}/exports/t1/e1.json",
          "uploads/": f"{bucket_arn}/uploads/t1/c1/call.vtt"}
reached = [where for where, arn in probes.items()
           if any(grants(st, "s3:GetObject", arn) or grants(st, "s3:ListBucket", arn)
                  or grants(st, "s3:PutObject", arn) or grants(st, "s3:DeleteObject", arn)
                  for st in function_statements("ScoringWorkerFunction"))]
check("scoring worker: no policy reaches exports/, uploads/ or the whole bucket", not reached,
      f"reaches {reached}")
document = f"{bucket_arn}/documents/t1/c1/analysis/v1"
check("scoring worker: reads large transcripts and writes large analyses under documents/",
      may("ScoringWorkerFunction", "s3:GetObject", document)
      and may("ScoringWorkerFunction", "s3:PutObject", document))

# ---------- Task: provider secrets in Secrets Manager ----------

no_echo = {name for name, p in PARAMETERS.items() if str(p.get("NoEcho", "")).lower() == "true"}


def holds_no_echo(value):
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        if any(f"${{{n}}}" in text for n in no_echo):
            return True
    return ref_target(value) in no_echo or (
        isinstance(value, dict) and any(holds_no_echo(v) for v in value.values())) or (
        isinstance(value, list) and any(holds_no_echo(v) for v in value))


global_variables = globals_fn.get("Environment", {}).get("Variables", {})
for name, fn in [("Globals", {"Properties": globals_fn})] + list(functions.items()):
    variables = fn["Properties"].get("Environment", {}).get("Variables", {})
    secret_like = [v for v in variables if re.search(r"_(API_KEY|SECRET|TOKEN)$", v)]
    check(f"{name}: no secret in an environment variable (_API_KEY, _SECRET, _TOKEN or a NoEcho parameter)",
          not secret_like and not any(holds_no_echo(v) for v in variables.values()),
          f"{secret_like or [k for k, v in variables.items() if holds_no_echo(v)]}")

secrets = {k for k, v in resources.items() if v["Type"] == "AWS::SecretsManager::Secret"}
for name, fn in functions.items():
    for variable, value in fn["Properties"].get("Environment", {}).get("Variables", {}).items():
        if not variable.endswith("_SECRET_ARN"):
            continue
        secret = ref_target(value)
        ok = secret in secrets
        detail = f"{variable} names {secret}"
        if ok:
            arn = arn_of(secret)
            readers = {f for f in functions if may(f, "secretsmanager:GetSecretValue", arn)}
            key = ref_target(resources[secret]["Properties"].get("KmsKeyId"))
            decrypters = set()
            for s in key_statements(key) if key in kms_keys else []:
                condition = {k: v for block in s.get("Condition", {}).values() for k, v in block.items()}
                via = str(render(condition.get("kms:ViaService", "")) or "")
                pattern = render(condition.get("kms:EncryptionContext:SecretARN", "*"))
                if s.get("Effect") == "Allow" and "kms:Decrypt" in statement_actions(s) and \
                        (not via or via.startswith("secretsmanager.")) and iam_match(pattern, arn):
                    decrypters |= functions_named(s)
            ok = readers == {name} and decrypters == {name}
            detail = f"GetSecretValue: {sorted(readers)}, kms:Decrypt through Secrets Manager: {sorted(decrypters)}"
        check(f"{name}.{variable}: a secret only this function may read (IAM and key policy)", ok, detail)
for secret in sorted(secrets):
    props = resources[secret]["Properties"]
    check(f"{secret}: customer-managed key, generated placeholder (the operator puts the value)",
          ref_target(props.get("KmsKeyId")) in kms_keys and "GenerateSecretString" in props
          and "SecretString" not in props)

# ---------- Task: billing events on a dedicated bus ----------

buses = {k for k, v in resources.items() if v["Type"] == "AWS::Events::EventBus"}
reaper = functions["RetentionReaperFunction"]["Properties"]
billing_events = {event_name: e for fn in functions.values()
                  for event_name, e in fn["Properties"].get("Events", {}).items()
                  if e["Type"] in ("EventBridgeRule", "CloudWatchEvent")
                  and "callcoach.billing" in e["Properties"].get("Pattern", {}).get("source", [])}
check("reaper: account lifecycle and workspace provisioning events are routed to it", {
    dt for e in reaper["Events"].values() if e["Type"] == "EventBridgeRule"
    and "callcoach.billing" in e["Properties"].get("Pattern", {}).get("source", [])
    for dt in e["Properties"]["Pattern"].get("detail-type", [])} >= {"Account State Changed",
                                                                     "Workspace Provisioned"})
for event_name, e in billing_events.items():
    check(f"{event_name}: billing events on the dedicated bus, not the default",
          ref_target(e["Properties"].get("EventBusName")) in buses)
for bus in sorted(buses):
    statements = as_list(resources[bus]["Properties"].get("Policy", {}).get("Statement", []))
    statements += [s for v in resources.values() if v["Type"] == "AWS::Events::EventBusPolicy"
                   and ref_target(v["Properties"].get("EventBusName")) == bus
                   for s in as_list(v["Properties"].get("Statement", []))]
    allowed = [p for s in statements if s.get("Effect") == "Allow" for p in
               (as_list(s.get("Principal", {}).get("AWS", [])) if isinstance(s.get("Principal"), dict)
                else ["*"])]
    denies_others = any(
        s.get("Effect") == "Deny" and s.get("Principal") in ("*", {"AWS": "*"})
        and "events:PutEvents" in as_list(s.get("Action", []))
        and ref_target(s.get("Condition", {}).get("ArnNotEquals", {}).get("aws:PrincipalArn")) == "BillingPrincipalArn"
        for s in statements)
    check(f"{bus}: only the billing principal parameter may publish (allowed alone, everyone else denied)",
          bool(allowed) and all(ref_target(p) == "BillingPrincipalArn" for p in allowed) and denies_others,
          f"allowed {allowed}, deny for others: {denies_others}")

# ---------- checkov's findings that are fixed rather than skipped ----------

for name, fn in functions.items():
    props = fn["Properties"]
    check(f"{name}: reserved concurrency", props.get("ReservedConcurrentExecutions") is not None)
    for event_name, event in props.get("Events", {}).items():
        if event["Type"] == "SQS":
            most = event["Properties"].get("ScalingConfig", {}).get("MaximumConcurrency")
            reserved = props.get("ReservedConcurrentExecutions")
            check(f"{name}.{event_name}: SQS delivers at most its reserved concurrency (throttles spend no receive)",
                  most is not None and (most == reserved or (isinstance(most, int) and most >= 2
                                                              and ref_target(reserved) is not None)),
                  f"{most} vs {reserved}")
check("reaper: reserved concurrency 1, so runs never overlap", reaper.get("ReservedConcurrentExecutions") == 1)
check("functions: environment encrypted with the storage key", ref_target(globals_fn.get("KmsKeyArn")) == "StorageKey"
      and not any("KmsKeyArn" in fn["Properties"] for fn in functions.values()))


def queue_named(value):
    arn = render(value)
    return next((q for q in queues if arn_of(q) == arn), None)


for name, fn in functions.items():
    props = fn["Properties"]
    async_events = {n: e for n, e in props.get("Events", {}).items()
                    if e["Type"] in ("EventBridgeRule", "CloudWatchEvent", "Schedule", "ScheduleV2")}
    if not async_events:
        continue
    on_failure = props.get("EventInvokeConfig", {}).get("DestinationConfig", {}).get("OnFailure", {})
    target = queue_named(on_failure.get("Destination")) if on_failure.get("Type") == "SQS" else None
    check(f"{name}: asynchronous failures go to an alarmed queue", target is not None and any(
        a["MetricName"] == "ApproximateNumberOfMessagesVisible" and a["Threshold"] == 0
        and mentions(a["Dimensions"], target) for a in alarms), f"on failure: {on_failure}")
    for event_name, event in async_events.items():
        check(f"{name}.{event_name}: undeliverable events go to the same queue",
              target is not None and queue_named(event["Properties"].get("DeadLetterConfig", {}).get("Arn")) == target)
for queue_id, queue in queues.items():
    check(f"{queue_id}: encrypted with the storage key",
          ref_target(queue["Properties"].get("KmsMasterKeyId")) == "StorageKey")

http_api = next(v["Properties"] for v in resources.values() if v["Type"] == "AWS::Serverless::HttpApi")
log_format = http_api.get("AccessLogSettings", {}).get("Format", "")
personal = [t for t in ("sourceIp", "userAgent", "$context.identity", "$context.authorizer", "claims",
                        "$context.path", "$context.domain", "requestOverride") if t in log_format]
check("HTTP API: access log of request id, route, status and latency, without personal data",
      "$context.requestId" in log_format and "$context.routeKey" in log_format and not personal,
      f"holds {personal}")
check("HTTP API: access log goes to a log group of this template",
      ref_target(http_api.get("AccessLogSettings", {}).get("DestinationArn")) in resources)
for group_id, group in ((k, v["Properties"]) for k, v in resources.items() if v["Type"] == "AWS::Logs::LogGroup"):
    log_arn = arn_of(group_id).removesuffix(":*")
    key = ref_target(group.get("KmsKeyId"))
    logs_may = key in kms_keys and any(
        s.get("Effect") == "Allow" and isinstance(s.get("Principal"), dict)
        and str(render(s["Principal"].get("Service", ""))).startswith("logs.")
        and render(s.get("Condition", {}).get("ArnEquals", {}).get("kms:EncryptionContext:aws:logs:arn")) == log_arn
        for s in key_statements(key))
    check(f"{group_id}: retention set, KMS-encrypted, the logs service may use the key for this group only",
          isinstance(group.get("RetentionInDays"), int) and logs_may)
check("bucket: access logs go to the access-log bucket",
      ref_target(bucket.get("LoggingConfiguration", {}).get("DestinationBucketName")) in resources)

# ---------- No dependency cycle once SAM generates the roles ----------
# The key policies name the roles SAM generates (<Function>Role): a role policy that refers to
# a resource encrypted under such a key (by Ref or GetAtt) would close a cycle.


def refs(node):
    found = set()
    if isinstance(node, dict):
        target = ref_target(node)
        if target:
            found.add(target)
        if "Fn::Sub" in node:
            text = node["Fn::Sub"] if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"][0]
            found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
        for v in node.values():
            found |= refs(v)
    elif isinstance(node, list):
        for v in node:
            found |= refs(v)
    return found


graph = {}
for logical_id, resource in resources.items():
    depends = set(as_list(resource.get("DependsOn", [])))
    props = resource.get("Properties", {})
    if resource["Type"] == "AWS::Serverless::Function":
        role = f"{logical_id}Role"
        graph[role] = refs(props.get("Policies", [])) | refs(props.get("EventInvokeConfig", {}))
        graph[logical_id] = refs({k: v for k, v in props.items() if k not in ("Policies", "Events")}) \
            | refs(globals_fn) | depends | {role}
        for event_name, event in props.get("Events", {}).items():
            graph[f"{logical_id}{event_name}"] = refs(event) | {logical_id}
    else:
        graph[logical_id] = refs(props) | depends
graph = {k: {d for d in v if d in graph and d != k} for k, v in graph.items()}
cycle = []
state = {}


def visit(node, path):
    state[node] = "open"
    for nxt in sorted(graph[node]):
        if state.get(nxt) == "open" and not cycle:
            cycle.extend(path[path.index(nxt):] + [nxt])
        elif nxt not in state:
            visit(nxt, path + [nxt])
    state[node] = "done"


for node in sorted(graph):
    if node not in state:
        visit(node, [node])
check("no dependency cycle between key policies, generated roles and resources", not cycle,
      " -> ".join(cycle))

passed = sum(results)
failed = len(results) - passed
print(f"template: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
