"""Create, on the local AWS stand-in, the resources template.yaml declares.

Idempotent: running it twice changes nothing. Prints the environment the functions, tests and
demo need (the same variable names the template sets on the functions) as KEY=VALUE lines.
"""

import json
import os
import sys

import boto3
from botocore.exceptions import ClientError

APP = os.environ.get("APP_NAME", "callcoach")
REGION = os.environ.get("AWS_REGION", "us-east-1")
ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
CATEGORIES = ["transcripts", "insights", "notes", "tokens", "metadata"]
# Must match template.yaml: worker timeout 60 s -> visibility 360 s, 5 receives before the DLQ.
SCORING_VISIBILITY = 360
UPLOAD_VISIBILITY = 180
# The api function runs export jobs with its 300 s timeout.
EXPORT_VISIBILITY = 1800
MAX_RECEIVES = 5


def client(name):
    return boto3.client(name, endpoint_url=ENDPOINT, region_name=REGION)


def kms_key(kms, alias, description):
    full = f"alias/{alias}"
    try:
        return kms.describe_key(KeyId=full)["KeyMetadata"]["Arn"]
    except ClientError:
        key = kms.create_key(Description=description)["KeyMetadata"]
        kms.enable_key_rotation(KeyId=key["KeyId"])
        kms.create_alias(AliasName=full, TargetKeyId=key["KeyId"])
        return key["Arn"]


def signing_key(kms, alias, description):
    """The asymmetric key that signs deletion receipts (no rotation: asymmetric keys have none)."""
    full = f"alias/{alias}"
    try:
        return kms.describe_key(KeyId=full)["KeyMetadata"]["Arn"]
    except ClientError:
        key = kms.create_key(Description=description, KeySpec="ECC_NIST_P256",
                             KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        kms.create_alias(AliasName=full, TargetKeyId=key["KeyId"])
        return key["Arn"]


def queue(sqs, name, dlq_arn=None, visibility=30):
    attributes = {"VisibilityTimeout": str(visibility), "MessageRetentionPeriod": "1209600"}
    if dlq_arn:
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)}
        )
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def key_schema(pk, sk):
    """A string hash key and range key: how the tables and every index are keyed."""
    return [{"AttributeName": pk, "KeyType": "HASH"}, {"AttributeName": sk, "KeyType": "RANGE"}]


def index(name, prefix, projection):
    """A global secondary index keyed `<prefix>pk`/`<prefix>sk`: template.yaml's four indexes
    differ only in these."""
    return {
        "IndexName": name,
        "KeySchema": key_schema(f"{prefix}pk", f"{prefix}sk"),
        "Projection": {"ProjectionType": projection},
    }


INDEXES = [
    index("gsi1", "gsi1", "ALL"),
    index("gsi2", "gsi2", "ALL"),
    index("expiry", "exp_", "KEYS_ONLY"),
    index("waiting", "wait_", "KEYS_ONLY"),
]


def encrypted_table(ddb, name, kms_arn, indexes=()):
    """Creates table `name` keyed pk/sk, with `indexes`, encrypted under `kms_arn` and with
    point-in-time recovery, as both of template.yaml's tables are. False when it exists already
    (left as it is)."""
    try:
        ddb.describe_table(TableName=name)
        return False
    except ClientError:
        pass
    keys = ["pk", "sk"] + [k["AttributeName"] for i in indexes for k in i["KeySchema"]]
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in keys],
        KeySchema=key_schema("pk", "sk"),
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": kms_arn},
        **({"GlobalSecondaryIndexes": list(indexes)} if indexes else {}),
    )
    ddb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    return True


def table(ddb, name, kms_arn):
    """The main table: its four indexes, and items expiring at `expires_at`."""
    if encrypted_table(ddb, name, kms_arn, INDEXES):
        ddb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
        )


def keys_table(ddb, name, kms_arn):
    """The wrapped data keys: key only, one day of point-in-time recovery (template.yaml)."""
    encrypted_table(ddb, name, kms_arn)


def bucket(s3, name, kms_arn, notify_queue_arn):
    try:
        s3.head_bucket(Bucket=name)
    except ClientError:
        s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_arn},
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket=name,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": notify_queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}},
                }
            ]
        },
    )


def main():
    kms, sqs, ddb, s3, sts = (client(n) for n in ["kms", "sqs", "dynamodb", "s3", "sts"])
    account = sts.get_caller_identity()["Account"]
    env = {}
    storage_key = kms_key(kms, f"{APP}-storage", "callcoach table and bucket encryption")
    env["STORAGE_KMS_KEY"] = storage_key
    for category in CATEGORIES:
        env[f"KMS_KEY_{category.upper()}"] = kms_key(kms, f"{APP}-{category}", f"callcoach {category} data keys")
    env["RECEIPTS_KEY_ID"] = signing_key(kms, f"{APP}-receipts", "callcoach deletion receipts")

    upload_dlq_url, upload_dlq_arn = queue(sqs, f"{APP}-upload-events-dlq")
    upload_url, upload_arn = queue(sqs, f"{APP}-upload-events", upload_dlq_arn, UPLOAD_VISIBILITY)
    scoring_dlq_url, scoring_dlq_arn = queue(sqs, f"{APP}-scoring-dlq")
    scoring_url, _ = queue(sqs, f"{APP}-scoring", scoring_dlq_arn, SCORING_VISIBILITY)
    export_dlq_url, export_dlq_arn = queue(sqs, f"{APP}-export-jobs-dlq")
    export_url, _ = queue(sqs, f"{APP}-export-jobs", export_dlq_arn, EXPORT_VISIBILITY)

    table_name = APP
    table(ddb, table_name, storage_key)
    keys_table_name = f"{APP}-keys"
    keys_table(ddb, keys_table_name, storage_key)
    bucket_name = f"{APP}-data-{account}-{REGION}"
    bucket(s3, bucket_name, storage_key, upload_arn)

    env.update(
        TABLE_NAME=table_name,
        KEYS_TABLE_NAME=keys_table_name,
        BUCKET_NAME=bucket_name,
        UPLOAD_EVENTS_QUEUE_URL=upload_url,
        UPLOAD_EVENTS_DLQ_URL=upload_dlq_url,
        SCORING_QUEUE_URL=scoring_url,
        SCORING_DLQ_URL=scoring_dlq_url,
        EXPORT_JOBS_QUEUE_URL=export_url,
        EXPORT_JOBS_DLQ_URL=export_dlq_url,
        S3_FORCE_PATH_STYLE="true",
    )
    for key, value in sorted(env.items()):
        print(f"{key}={value}")


if __name__ == "__main__":
    sys.exit(main())
